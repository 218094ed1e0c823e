// The statistics service's store (server/series.hpp) against a long-double two-pass
// reference, and its request parsing and response writing (server/api.hpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "api.hpp"
#include "series.hpp"

using namespace tickflow;
using namespace tickflow::server;

namespace {

struct Reference {
  uint64_t count = 0;
  long double mean = 0, var = 0, mean_abs = 0;
  double min = 0, max = 0, last = 0;
};

// Two passes in long double over the last min(window, n) values.
Reference reference(const std::vector<double>& values, uint64_t window) {
  Reference r;
  const uint64_t n = std::min<uint64_t>(window, values.size());
  const auto begin = values.end() - static_cast<std::ptrdiff_t>(n);
  r.count = n;
  r.min = *std::min_element(begin, values.end());
  r.max = *std::max_element(begin, values.end());
  r.last = values.back();
  long double sum = 0, sum_abs = 0;
  for (auto it = begin; it != values.end(); ++it) {
    sum += *it;
    sum_abs += std::fabs(static_cast<long double>(*it));
  }
  r.mean = sum / n;
  r.mean_abs = sum_abs / n;
  long double m2 = 0;
  for (auto it = begin; it != values.end(); ++it) m2 += (*it - r.mean) * (*it - r.mean);
  r.var = n > 1 ? m2 / (n - 1) : 0;
  return r;
}

// SPEC §18: avg within 1e-9 of the mean of |x|, var within 1e-9 of the exact variance.
void check_against_reference(Series& series, const std::vector<double>& values, int k) {
  const WindowStats& got = series.stats(k);
  const Reference want = reference(values, power_of_ten(k));
  INFO("k = " << k << ", values = " << values.size());
  REQUIRE(got.count == static_cast<int64_t>(want.count));
  CHECK(got.min == want.min);
  CHECK(got.max == want.max);
  CHECK(got.last == want.last);
  CHECK(std::fabs(got.mean - static_cast<double>(want.mean)) <=
        1e-9 * static_cast<double>(want.mean_abs) + 1e-300);
  if (want.count > 1) {
    CHECK(std::fabs(got.variance() - static_cast<double>(want.var)) <=
          1e-9 * static_cast<double>(want.var) + 1e-300);
  } else {
    CHECK(std::isnan(got.variance()));
  }
}

}  // namespace

TEST_CASE("serve series: every k after batches that end on and off block boundaries") {
  Series series(4);
  std::vector<double> values;
  std::mt19937_64 random(7);
  std::normal_distribution<double> noise(100.0, 5.0);
  // Batch sizes that make totals land on 10, 100, 1000, 10^4 and just beside them.
  for (const size_t size : {1, 8, 1, 90, 1, 899, 1, 1, 8998, 2, 10000, 7, 10000}) {
    std::vector<double> batch(size);
    for (auto& x : batch) x = noise(random);
    series.append(batch);
    values.insert(values.end(), batch.begin(), batch.end());
    for (int k = 1; k <= 4; ++k) check_against_reference(series, values, k);
  }
  CHECK(series.held() == 10000);
  CHECK(series.appended() == values.size());
}

TEST_CASE("serve series: a 1e12 spike leaves no trace once it left the window") {
  Series series(3);
  std::vector<double> values;
  std::vector<double> batch = {1.0, 2.0, 1e12, 3.0};
  series.append(batch);
  values.insert(values.end(), batch.begin(), batch.end());
  for (int round = 0; round < 30; ++round) {
    std::vector<double> more(97);
    for (size_t i = 0; i < more.size(); ++i) more[i] = 1.0 + 0.001 * static_cast<double>(i % 7);
    series.append(more);
    values.insert(values.end(), more.begin(), more.end());
    for (int k = 1; k <= 3; ++k) check_against_reference(series, values, k);
  }
  // The spike is out of every window now: the variance is the small one of the tail.
  CHECK(series.stats(3).max < 2.0);
  CHECK(series.stats(3).variance() < 1e-5);
}

TEST_CASE("serve series: values near 1e9 with a tiny variance") {
  Series series(4);
  std::vector<double> values;
  std::mt19937_64 random(11);
  std::uniform_real_distribution<double> jitter(-1e-3, 1e-3);
  for (int round = 0; round < 12; ++round) {
    std::vector<double> batch(1234);
    for (auto& x : batch) x = 1e9 + jitter(random);
    series.append(batch);
    values.insert(values.end(), batch.begin(), batch.end());
    for (int k = 1; k <= 4; ++k) check_against_reference(series, values, k);
  }
}

TEST_CASE("serve series: the cache is dropped by an append") {
  Series series(2);
  std::vector<double> a = {1, 2, 3};
  series.append(a);
  CHECK(series.stats(1).last == 3);
  CHECK(series.stats(1).count == 3);
  std::vector<double> b = {10};
  series.append(b);
  CHECK(series.stats(1).last == 10);
  CHECK(series.stats(1).count == 4);
  CHECK(series.stats(2).max == 10);
  CHECK_THROWS(series.stats(3));
  CHECK_THROWS(series.stats(0));
}

TEST_CASE("serve series: memory follows the values held, not the capacity") {
  Series small(8);
  std::vector<double> batch(1000, 1.0);
  small.append(batch);
  CHECK(small.memory_bytes() < 1'000'000);
}

// ---------------------------------------------------------------- requests

namespace {

ApiError parse_error(const std::string& body) {
  AddBatch batch;
  auto problem = parse_add_batch(body, Limits{}, batch);
  return problem ? *problem : ApiError{200, ""};
}

}  // namespace

TEST_CASE("serve api: a valid batch") {
  AddBatch batch;
  REQUIRE_FALSE(
      parse_add_batch(R"( {"values": [1.5, 2, -3e2, 18446744073709551616], "symbol": "A\u00e9"} )",
                      Limits{}, batch));
  CHECK(batch.symbol == "A\xc3\xa9");
  REQUIRE(batch.values.size() == 4);
  CHECK(batch.values[0] == 1.5);
  CHECK(batch.values[2] == -300.0);
  CHECK(batch.values[3] == 18446744073709551616.0);
}

TEST_CASE("serve api: malformed bodies are 400") {
  for (const char* body :
       {"", "nope", "[1,2]", "{", R"({"symbol": "A", "values": [1, 2})", R"({"symbol": "A"})",
        R"({"values": [1]})", R"({"symbol": 1, "values": [1]})", R"({"symbol": "A", "values": 1})",
        R"({"symbol": "A", "values": [1, "2"]})", R"({"symbol": "A", "values": [1, null]})",
        R"({"symbol": "A", "values": [[1]]})", R"({"symbol": "A", "values": [1], "x": 2})",
        R"({"symbol": "A", "values": [1], "symbol": "B"})", R"({"symbol": "A", "values": [NaN]})",
        R"({"symbol": "A", "values": [Infinity]})", R"({"symbol": "A", "values": [1]} [])",
        R"({"symbol": "A", "values": [01]})", R"({"symbol": "A", "values": [1,]})"}) {
    INFO(body);
    const ApiError error = parse_error(body);
    CHECK(error.status == 400);
    CHECK_FALSE(error.message.empty());
  }
}

TEST_CASE("serve api: requests that break a limit are 422") {
  CHECK(parse_error(R"({"symbol": "A", "values": []})").status == 422);
  CHECK(parse_error(R"({"symbol": "", "values": [1]})").status == 422);
  CHECK(parse_error(R"({"symbol": "A", "values": [1e400]})").status == 422);
  CHECK(parse_error(R"({"symbol": "A", "values": [-1e400]})").status == 422);
  CHECK(parse_error(R"({"symbol": "A", "values": [1e400]})").message.find("values[0]") !=
        std::string::npos);
  std::string long_symbol(65, 'x');
  CHECK(parse_error(R"({"symbol": ")" + long_symbol + R"(", "values": [1]})").status == 422);
  CHECK(parse_error(R"({"symbol": ")" + long_symbol.substr(1) + R"(", "values": [1]})").status ==
        200);
  // 64 bytes of UTF-8 in 32 two-byte characters is allowed; 33 are not.
  std::string wide;
  for (int i = 0; i < 32; ++i) wide += "\\u00e9";
  CHECK(parse_error(R"({"symbol": ")" + wide + R"(", "values": [1]})").status == 200);
  CHECK(parse_error(R"({"symbol": ")" + wide + R"(\u00e9", "values": [1]})").status == 422);
  std::string many = R"({"symbol": "A", "values": [)";
  for (int i = 0; i < 10001; ++i) many += i ? ",1" : "1";
  CHECK(parse_error(many + "]}").status == 422);
  std::string enough = R"({"symbol": "A", "values": [)";
  for (int i = 0; i < 10000; ++i) enough += i ? ",1" : "1";
  CHECK(parse_error(enough + "]}").status == 200);
}

TEST_CASE("serve api: stats query parameters") {
  Limits limits;
  StatsQuery query;
  using Params = std::vector<std::pair<std::string, std::string>>;
  CHECK_FALSE(parse_stats_query(Params{{"symbol", "A"}, {"k", "3"}}, limits, query));
  CHECK(query.k == 3);
  CHECK(query.symbol == "A");
  auto status = [&](const Params& params) {
    auto problem = parse_stats_query(params, limits, query);
    return problem ? problem->status : 200;
  };
  CHECK(status({{"symbol", "A"}}) == 400);
  CHECK(status({{"k", "1"}}) == 400);
  CHECK(status({{"symbol", "A"}, {"k", "x"}}) == 400);
  CHECK(status({{"symbol", "A"}, {"k", "1.5"}}) == 400);
  CHECK(status({{"symbol", "A"}, {"k", "1"}, {"k", "2"}}) == 400);
  CHECK(status({{"symbol", "A"}, {"k", "1"}, {"n", "2"}}) == 400);
  CHECK(status({{"symbol", "A"}, {"k", "0"}}) == 422);
  CHECK(status({{"symbol", "A"}, {"k", "9"}}) == 422);
  CHECK(status({{"symbol", "A"}, {"k", "99999999999999"}}) == 422);
  CHECK(status({{"symbol", ""}, {"k", "1"}}) == 422);
}

TEST_CASE("serve api: response JSON") {
  WindowStats one;
  one.count = 1;
  one.min = one.max = one.last = one.mean = 2.5;
  CHECK(stats_json("A\"b", 2, one) ==
        R"({"symbol": "A\"b", "k": 2, "count": 1, "min": 2.5, "max": 2.5, "last": 2.5, )"
        R"("avg": 2.5, "var": null})");
  CHECK(add_batch_json("X", 3, 10) == R"({"symbol": "X", "added": 3, "count": 10})");
  CHECK(error_json("bad\n") == R"({"error": "bad\u000a"})");
}
