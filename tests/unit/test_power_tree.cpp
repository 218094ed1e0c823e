// The power tree against an exact reference: two-pass statistics in long double, shifted
// by the window's first value, over many windows, stream lengths and bases.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <stdexcept>
#include <vector>

#include "tickflow/power_tree.hpp"

using namespace tickflow;

namespace {

struct Exact {
  int64_t count = 0;
  long double mean = 0;
  long double m2 = 0;
  long double sum_abs = 0;
  double min = 0, max = 0, first = 0, last = 0;
  bool has_nan = false;
};

Exact exact(const std::vector<double>& values, uint64_t begin, uint64_t end) {
  Exact e;
  e.count = static_cast<int64_t>(end - begin);
  e.first = values[begin];
  e.last = values[end - 1];
  e.min = std::numeric_limits<double>::infinity();
  e.max = -e.min;
  const long double shift = values[begin];
  long double sum = 0;
  for (uint64_t i = begin; i < end; ++i) {
    const double x = values[i];
    if (std::isnan(x)) e.has_nan = true;
    e.min = std::min(e.min, x);
    e.max = std::max(e.max, x);
    sum += static_cast<long double>(x) - shift;
    e.sum_abs += std::fabs(static_cast<long double>(x));
  }
  const long double mean_shifted = sum / e.count;
  for (uint64_t i = begin; i < end; ++i) {
    const long double d = (static_cast<long double>(values[i]) - shift) - mean_shifted;
    e.m2 += d * d;
  }
  e.mean = shift + mean_shifted;
  return e;
}

bool same(double a, double b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

long double relative(long double got, long double want, long double scale) {
  if (got == want) return 0;
  return std::fabs(got - want) / scale;
}

// Checks `got` (for positions [begin, end) of `values`) against the exact statistics.
void check_stats(const WindowStats& got, const std::vector<double>& values, uint64_t begin,
                 uint64_t end, double var_tolerance = 1e-9) {
  const Exact want = exact(values, begin, end);
  INFO("range [" << begin << ", " << end << ")");
  REQUIRE(got.count == want.count);
  CHECK(same(got.first, want.first));
  CHECK(same(got.last, want.last));
  if (want.has_nan) {
    CHECK(std::isnan(got.mean));
    CHECK(std::isnan(got.sum));
    CHECK(std::isnan(got.min));
    CHECK(std::isnan(got.max));
    return;
  }
  CHECK(got.min == want.min);
  CHECK(got.max == want.max);
  const long double mean_abs = want.sum_abs / want.count;
  CHECK(relative(got.mean, want.mean, mean_abs) <= 1e-12L);
  CHECK(relative(got.sum, want.mean * want.count, want.sum_abs) <= 1e-12L);
  CHECK(got.m2 >= 0.0);
  if (want.count >= 2) {
    const long double var = want.m2 / (want.count - 1);
    if (var == 0) {
      CHECK(got.variance() == 0.0);
    } else {
      CHECK(relative(got.variance(), var, var) <= var_tolerance);
    }
  } else {
    CHECK(std::isnan(got.variance()));
  }
}

std::vector<double> random_stream(size_t n, uint32_t seed, double level, double spread) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, spread);
  std::vector<double> values(n);
  for (auto& v : values) v = level + noise(rng);
  return values;
}

}  // namespace

TEST_CASE("power tree: last(W) and range() match the exact reference for many W and bases") {
  for (uint32_t base : {2u, 3u, 10u, 16u}) {
    for (uint64_t capacity : {1ull, 7ull, 100ull, 1000ull, 2500ull}) {
      const size_t length = 3 * capacity + 37;
      const auto values = random_stream(length, base * 1000 + capacity, 1e6, 3.0);
      PowerTree tree(capacity, base);
      std::mt19937_64 rng(base + capacity);
      for (size_t i = 0; i < length; ++i) {
        tree.append(values[i]);
        if (i % 97 != 3 && i + 1 != length) continue;
        INFO("base " << base << " capacity " << capacity << " size " << tree.size());
        for (uint64_t w :
             {uint64_t{1}, uint64_t{2}, capacity / 3 + 1, capacity / 2 + 1, capacity}) {
          if (w > capacity) continue;
          const uint64_t begin = tree.size() > w ? tree.size() - w : 0;
          check_stats(tree.last(w), values, begin, tree.size());
        }
        std::uniform_int_distribution<uint64_t> pick(tree.oldest(), tree.size() - 1);
        uint64_t a = pick(rng), b = pick(rng);
        if (a > b) std::swap(a, b);
        check_stats(tree.range(a, b + 1), values, a, b + 1);
      }
    }
  }
}

TEST_CASE("power tree: append(span) equals appending one by one") {
  // Starting with a NaN and an infinity, in spans of uneven lengths that cross blocks.
  auto values = random_stream(200000, 7, 100.0, 1.0);
  values[0] = std::numeric_limits<double>::quiet_NaN();
  values[1] = std::numeric_limits<double>::infinity();
  for (uint32_t base : {10u, 7u}) {
    CAPTURE(base);
    PowerTree one(1000, base), batch(1000, base);
    size_t done = 0;
    for (size_t span = 1; done < values.size(); span = span * 3 % 1009 + 1) {
      const size_t n = std::min(span, values.size() - done);
      for (size_t i = done; i < done + n; ++i) one.append(values[i]);
      batch.append(std::span<const double>(values.data() + done, n));
      done += n;
      for (uint64_t w : {1, 10, 333, 1000}) {
        if (w > one.size()) continue;
        const WindowStats a = one.last(w), b = batch.last(w);
        CHECK(((a.mean == b.mean) || (std::isnan(a.mean) && std::isnan(b.mean))));
        CHECK(((a.m2 == b.m2) || (std::isnan(a.m2) && std::isnan(b.m2))));
        CHECK(((a.min == b.min) || (std::isnan(a.min) && std::isnan(b.min))));
        CHECK(((a.max == b.max) || (std::isnan(a.max) && std::isnan(b.max))));
      }
    }
  }
}

TEST_CASE("power tree: rejects ranges outside the retained values") {
  PowerTree tree(10);
  for (int i = 0; i < 25; ++i) tree.append(i);
  CHECK(tree.oldest() == 15);
  CHECK_THROWS_AS(tree.range(14, 20), std::out_of_range);
  CHECK_THROWS_AS(tree.last(11), std::out_of_range);
  CHECK(tree.last(10).first == 15.0);
}

TEST_CASE("power tree: grow keeps what was retained and retains more from then on") {
  const auto values = random_stream(600, 11, 50.0, 2.0);
  PowerTree tree(10, 3);
  for (size_t i = 0; i < 100; ++i) tree.append(values[i]);
  tree.grow(200);
  CHECK(tree.oldest() == 90);
  check_stats(tree.range(90, 100), values, 90, 100);
  for (size_t i = 100; i < 600; ++i) {
    tree.append(values[i]);
    const uint64_t begin = tree.oldest();
    check_stats(tree.range(begin, tree.size()), values, begin, tree.size());
  }
  CHECK(tree.oldest() == 400);
}

TEST_CASE("sliding window: one merge per tick matches the reference for tick and moving starts") {
  for (uint32_t base : {2u, 10u}) {
    for (uint64_t window : {1ull, 2ull, 9ull, 10ull, 11ull, 100ull, 777ull, 3000ull}) {
      const auto values = random_stream(4 * window + 500, static_cast<uint32_t>(window), -3e4, 0.5);
      PowerTree tree(window, base);
      SlidingWindow sliding(sliding_chunk_for(window));
      for (size_t i = 0; i < values.size(); ++i) {
        tree.append(values[i]);
        const uint64_t start = tree.size() > window ? tree.size() - window : 0;
        const WindowStats got = tree.stats(sliding.advance(tree, start), start, tree.size());
        if (i % 7 == 0 || i + 1 == values.size()) check_stats(got, values, start, tree.size());
      }
    }
  }
  // Starts that jump by varying amounts, like a time window over irregular ticks.
  const auto values = random_stream(20000, 5, 1e3, 10.0);
  PowerTree tree(5000);
  SlidingWindow sliding(64);
  std::mt19937_64 rng(3);
  uint64_t start = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    tree.append(values[i]);
    start = std::max(start + rng() % 3, tree.size() > 5000 ? tree.size() - 5000 : 0);
    start = std::min<uint64_t>(start, tree.size() - 1);
    const WindowStats got = tree.stats(sliding.advance(tree, start), start, tree.size());
    if (i % 13 == 0) check_stats(got, values, start, tree.size());
  }
}

TEST_CASE("accuracy: 10^7 values around 1e9 with standard deviation 1") {
  const size_t length = 10'000'000;
  const auto values = random_stream(length, 42, 1e9, 1.0);
  const std::vector<uint64_t> windows = {10, 1000, 100'000, 1'000'000};
  PowerTree tree(windows.back());
  std::vector<SlidingWindow> sliding;
  for (uint64_t w : windows) sliding.emplace_back(sliding_chunk_for(w));
  size_t checked = 0;
  for (size_t i = 0; i < length; ++i) {
    tree.append(values[i]);
    // Every tick is served; a sample of them is checked (a full reference per tick would
    // cost 10^13 operations).
    const bool check = (i % 1'000'003 == 999'999) || i + 1 == length;
    for (size_t j = 0; j < windows.size(); ++j) {
      const uint64_t start = tree.size() > windows[j] ? tree.size() - windows[j] : 0;
      const BlockAggregate aggregate = sliding[j].advance(tree, start);
      if (!check) continue;
      check_stats(tree.stats(aggregate, start, tree.size()), values, start, tree.size());
      check_stats(tree.last(windows[j]), values, start, tree.size());
      ++checked;
    }
  }
  CHECK(checked == 4 * 10);
}

TEST_CASE("accuracy: a spike of 1e12 leaves no trace once it has left the window") {
  for (uint32_t base : {2u, 10u}) {
    auto values = random_stream(30000, 9, 1e9, 1.0);
    const size_t spike_at = 5000;
    values[spike_at] = 1e12;
    const uint64_t window = 1000;
    PowerTree tree(window, base);
    SlidingWindow sliding(sliding_chunk_for(window));
    for (size_t i = 0; i < values.size(); ++i) {
      tree.append(values[i]);
      const uint64_t start = tree.size() > window ? tree.size() - window : 0;
      const WindowStats got = tree.stats(sliding.advance(tree, start), start, tree.size());
      if (start > spike_at && (i % 101 == 0 || start == spike_at + 1)) {
        check_stats(got, values, start, tree.size());
        check_stats(tree.last(window), values, start, tree.size());
      }
      if (start <= spike_at && i >= spike_at) CHECK(got.max == 1e12);
    }
  }
}

TEST_CASE("accuracy: a spike as the very first value leaves no trace once it has left") {
  auto values = random_stream(3 * 65536, 13, 1e9, 1.0);
  values[0] = 1e12;
  PowerTree tree(1000);
  for (double v : values) tree.append(v);
  check_stats(tree.last(1000), values, tree.size() - 1000, tree.size());
  check_stats(tree.last(10), values, tree.size() - 10, tree.size());
}

TEST_CASE("constant streams have variance exactly 0, never negative") {
  for (double level : {0.0, 1.0, 1e9 + 0.1, -3.7e15, 1e-300}) {
    PowerTree tree(500, 10);
    SlidingWindow sliding(sliding_chunk_for(100));
    for (int i = 0; i < 3000; ++i) {
      tree.append(level);
      const uint64_t start = tree.size() > 100 ? tree.size() - 100 : 0;
      const WindowStats got = tree.stats(sliding.advance(tree, start), start, tree.size());
      if (got.count >= 2) REQUIRE(got.variance() == 0.0);
      CHECK(got.mean == level);
      CHECK(got.min == level);
    }
    for (uint64_t w : {2, 17, 500}) {
      CHECK(tree.last(w).variance() == 0.0);
      CHECK(tree.last(w).stddev() == 0.0);
    }
  }
}

TEST_CASE("NaN propagates into the windows that hold it and leaves with them") {
  auto values = random_stream(2000, 17, 10.0, 1.0);
  values[700] = std::numeric_limits<double>::quiet_NaN();
  const uint64_t window = 50;
  PowerTree tree(window, 3);
  SlidingWindow sliding(sliding_chunk_for(window));
  for (size_t i = 0; i < values.size(); ++i) {
    tree.append(values[i]);
    const uint64_t start = tree.size() > window ? tree.size() - window : 0;
    const WindowStats got = tree.stats(sliding.advance(tree, start), start, tree.size());
    check_stats(got, values, start, tree.size());  // NaN inside: NaN stats; else exact
    check_stats(tree.last(window), values, start, tree.size());
  }
}

TEST_CASE("a stream that starts with NaN is exact once the NaN has left") {
  std::vector<double> values = {std::nan(""), std::nan(""), 5.0, 6.0, 7.0, 8.0};
  PowerTree tree(6, 2);
  for (double v : values) tree.append(v);
  check_stats(tree.last(3), values, 3, 6);
  CHECK(tree.last(3).mean == 7.0);
  CHECK(std::isnan(tree.range(1, 4).mean));
}

TEST_CASE("memory follows the values appended and is bounded by the capacity") {
  PowerTree tree(1'000'000);
  const int64_t empty = tree.memory_bytes();
  CHECK(empty < 4096);
  for (int i = 0; i < 1000; ++i) tree.append(i);
  CHECK(tree.memory_bytes() < 64 * 1024);
  for (int i = 0; i < 3'000'000; ++i) tree.append(i % 1000);
  // 8 bytes per value plus 40 bytes per aggregate over (base - 1) values: about 12.4 bytes.
  CHECK(tree.memory_bytes() <= 13 * 1'000'000);
}

// ---------------------------------------------------------------- TickWindow

namespace {

// Drives a TickWindow over `values` in runs of varying length (appending each run first,
// as rolling_stats does) and checks every `every`-th row, and every row for which
// `always(i)` holds, against the exact statistics of its window.
template <typename Always>
void check_tick_window(const std::vector<double>& values, uint64_t window, uint32_t base,
                       size_t every, Always always, double var_tolerance = 1e-9) {
  const size_t max_run = 700;
  PowerTree tree(window + max_run, base);
  TickWindow sliding(window);
  std::mt19937_64 rng(window * 31 + base);
  std::vector<double> mean(max_run), var(max_run), min(max_run), max(max_run);
  for (size_t first = 0; first < values.size();) {
    const size_t n = std::min<size_t>(values.size() - first, 1 + rng() % max_run);
    tree.append(std::span<const double>(values.data() + first, n));
    sliding.run(tree, first, n, values.data() + first, mean.data(), var.data(), min.data(),
                max.data());
    for (size_t i = 0; i < n; ++i) {
      const uint64_t end = first + i + 1;
      if ((end % every != 0) && !always(end - 1)) continue;
      const uint64_t start = end > window ? end - window : 0;
      WindowStats got;
      got.count = static_cast<int64_t>(end - start);
      got.mean = mean[i];
      got.sum = mean[i] * static_cast<double>(got.count);
      got.m2 = got.count >= 2 ? var[i] * static_cast<double>(got.count - 1) : 0.0;
      got.min = min[i];
      got.max = max[i];
      got.first = values[start];
      got.last = values[end - 1];
      if (got.count < 2) CHECK(std::isnan(var[i]));
      if (got.count >= 2 && !std::isnan(var[i])) {
        // The variance itself is checked through m2 (count - 1 rounds away nothing).
        const Exact want = exact(values, start, end);
        if (want.m2 == 0) CHECK(var[i] == 0.0);
      }
      check_stats(got, values, start, end, var_tolerance);
    }
    first += n;
  }
}

}  // namespace

TEST_CASE("tick window: runs of any length match the reference for many W and bases") {
  for (uint32_t base : {2u, 10u}) {
    for (uint64_t window :
         {1ull, 2ull, 3ull, 9ull, 10ull, 11ull, 100ull, 257ull, 777ull, 3000ull, 20000ull}) {
      const auto values =
          random_stream(3 * window + 2500, static_cast<uint32_t>(window), -3e4, 0.5);
      check_tick_window(values, window, base, window > 1000 ? 13 : 3,
                        [](uint64_t) { return false; });
    }
  }
}

TEST_CASE("tick window: 10^7 values around 1e9 with standard deviation 1") {
  const size_t length = 10'000'000;
  const auto values = random_stream(length, 42, 1e9, 1.0);
  for (uint64_t window : {10ull, 1000ull, 1'000'000ull}) {
    check_tick_window(values, window, 10, 1'000'003, [&](uint64_t p) { return p + 1 == length; });
  }
}

TEST_CASE("tick window: a 1e12 spike, constant streams and NaN") {
  auto values = random_stream(30000, 9, 1e9, 1.0);
  const size_t spike_at = 5000;
  values[spike_at] = 1e12;
  // Every row whose window no longer holds the spike, shortly after it left.
  check_tick_window(values, 1000, 10, 101,
                    [&](uint64_t p) { return p > spike_at + 1000 && p < spike_at + 1300; });

  for (double level : {0.0, 1.0, 1e9 + 0.1, -3.7e15, 1e-300}) {
    const std::vector<double> constant(3000, level);
    PowerTree tree(100 + 3000);
    TickWindow sliding(100);
    std::vector<double> mean(3000), var(3000), min(3000), max(3000);
    tree.append(std::span<const double>(constant));
    sliding.run(tree, 0, 3000, constant.data(), mean.data(), var.data(), min.data(), max.data());
    CHECK(std::isnan(var[0]));
    for (size_t i = 1; i < 3000; ++i) {
      REQUIRE(var[i] == 0.0);
      REQUIRE(mean[i] == level);
      REQUIRE(min[i] == level);
    }
  }

  auto with_nan = random_stream(2000, 17, 10.0, 1.0);
  with_nan[700] = std::numeric_limits<double>::quiet_NaN();
  check_tick_window(with_nan, 50, 3, 1, [](uint64_t) { return false; });
}
