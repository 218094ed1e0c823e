// Regression tests for hostile input to the engine's parsers (docs/reliability.md): deep
// and long expressions, times at the edges of int64 nanoseconds, YAML alias bombs, extra
// documents and tags, and a NUL byte in an endless CSV stream.
#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "sources/csv_reader.hpp"
#include "test_expr_support.hpp"
#include "tickflow/config.hpp"

using namespace tickflow;
using namespace expr_test;

namespace {

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string joined(const std::string& term, const std::string& op, size_t n) {
  std::string out = term;
  for (size_t i = 1; i < n; ++i) out += op + term;
  return out;
}

}  // namespace

TEST_CASE("hardening: deep nesting is a located error, not a stack overflow") {
  for (const std::string& text :
       {repeat("-", 10000) + "SIZE", repeat("!", 10000) + "FLAG", repeat("not ", 10000) + "FLAG",
        repeat("abs(", 10000) + "SIZE" + repeat(")", 10000),
        repeat("(", 20000) + "SIZE" + repeat(")", 20000)}) {
    auto errors = compile_errors(text, nullptr, {"q.yaml", 3, 10});
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].message.find("nested more than 256 levels deep") != std::string::npos);
    CHECK(errors[0].location.line == 3);
  }
  // Just inside the limit still compiles.
  CHECK(compile_ok(repeat("(", 200) + "SIZE" + repeat(")", 200))->type() == Type::Int);
}

TEST_CASE("hardening: long flat chains compile and evaluate without stack per term") {
  const Batch batch = sizes_batch({1, 2, 3});
  Column sum = eval(joined("SIZE", " + ", 10000), batch);
  CHECK(sum.ints() == std::vector<int64_t>{10000, 20000, 30000});
  Column diff = eval(joined("PRICE", " - ", 10000), batch);
  CHECK(diff.doubles() == std::vector<double>{-9998, -19996, -29994});
  Column all = eval(joined("SIZE > 0", " and ", 10000), batch);
  CHECK(all.bools() == std::vector<uint8_t>{1, 1, 1});
  Column any = eval(joined("SIZE > 2", " or ", 10000), batch);
  CHECK(any.bools() == std::vector<uint8_t>{0, 0, 1});
  // A lag chain is one lag: X[-1][-1] is X[-2].
  auto lagged = compile_ok("SIZE" + repeat("[-1]", 10000));
  CHECK(lagged->max_lag() == 10000);
  CHECK(eval("SIZE[-1][-1]", batch).ints() == std::vector<int64_t>{0, 0, 1});
  CHECK(error_of("SIZE" + repeat("[-1000]", 1001)).find("in all is not supported") !=
        std::string::npos);
}

TEST_CASE("hardening: min and max take any number of arguments") {
  const Batch batch = sizes_batch({5, 7});
  std::string args = "SIZE";
  for (int i = 0; i < 5000; ++i) args += ", SIZE + " + std::to_string(i % 97);
  CHECK(eval("min(" + args + ")", batch).ints() == std::vector<int64_t>{5, 7});
  CHECK(eval("max(" + args + ")", batch).ints() == std::vector<int64_t>{5 + 96, 7 + 96});
}

TEST_CASE("hardening: times outside int64 nanoseconds do not parse or wrap") {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  CHECK_FALSE(parse_time_text("9999-12-31"));
  CHECK_FALSE(parse_time_text("1000-01-01"));
  CHECK(parse_time_text("2262-04-11 23:47:16.854775807") == kMax);
  CHECK_FALSE(parse_time_text("2262-04-11 23:47:16.854775808"));
  CHECK(parse_time_text("1677-09-21 00:12:43.145224192") == kMin);
  CHECK_FALSE(parse_time_text("1677-09-21 00:12:43.145224191"));
  CHECK_FALSE(parse_time_text("2262-04-11 23:47:16.854775807-01:00"));
  CHECK_FALSE(parse_duration("--5s"));
  CHECK(time_range_hint("9999-12-31").find("2262-04-11") != std::string::npos);
  CHECK(time_range_hint("2024-01-02").empty());
  csv::TimeParser csv_times(csv::TimeFormat::Auto);
  CHECK_FALSE(csv_times.parse("2262-04-11 23:59:59"));
  CHECK_FALSE(csv_times.parse("9999-12-31 00:00:00"));
  CHECK(csv_times.parse("2262-04-11 23:47:16.854775807") == kMax);
}

TEST_CASE("hardening: time arithmetic and date() near the limits raise instead of wrapping") {
  Batch batch = make_batch({{}, {}});
  batch.columns[4].ints() = {std::numeric_limits<int64_t>::max() - 5,
                             std::numeric_limits<int64_t>::min() + 5};
  for (const char* text :
       {"T + 1d", "T - 1d", "(T - time(0)) * 2", "date(T)", "floor_time(T, 1h)"}) {
    CAPTURE(std::string(text));
    auto compiled = compile_ok(text);
    auto state = compiled->make_state();
    Column out(compiled->type());
    CHECK_THROWS_AS(compiled->evaluate(batch, *state, out, EvalInfo{}), RuntimeError);
  }
  CHECK(error_of("time('9999-12-31')").find("2262-04-11") != std::string::npos);
}

TEST_CASE("hardening: YAML alias bombs, second documents and unknown tags are errors") {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  const char* names = "abcdefghij";
  for (int i = 1; i < 10; ++i) {
    bomb += std::string(1, names[i]) + ": &" + names[i] + " [";
    for (int j = 0; j < 9; ++j) bomb += std::string(j ? ", *" : "*") + names[i - 1];
    bomb += "]\n";
  }
  Diagnostics diags;
  parse_yaml(bomb, "bomb.yaml", diags);
  REQUIRE(diags.size() == 1);
  CHECK(diags.items()[0].message.find("aliases expand to more than") != std::string::npos);
  CHECK(diags.items()[0].location.line == 6);  // where the expansion passes 100,000 nodes

  Diagnostics small;
  ConfigNode ok = parse_yaml("a: &a [1, 2]\nb: *a\nc: *a\n", "ok.yaml", small);
  CHECK_FALSE(small.has_errors());
  CHECK(ok.find("c")->items().size() == 2);

  Diagnostics two;
  parse_yaml("a: 1\n---\nb: 2\n", "two.yaml", two);
  REQUIRE(two.size() == 1);
  CHECK(two.items()[0].location.line == 2);
  CHECK(two.items()[0].message.find("second YAML document") != std::string::npos);

  Diagnostics tags;
  ConfigNode tagged = parse_yaml("a: !!str 12\nb: !weird 3\n", "t.yaml", tags);
  REQUIRE(tags.size() == 1);
  CHECK(tags.items()[0].location.line == 2);
  CHECK(tags.items()[0].message.find("unsupported YAML tag '!weird'") != std::string::npos);
  CHECK(tagged.find("a")->quoted());
}

namespace {
// An endless stream of zero bytes, like /dev/zero, that counts what was read.
class ZeroSource : public csv::ByteSource {
 public:
  explicit ZeroSource(size_t& bytes_read) : bytes_read_(bytes_read) {}
  size_t read(char* dst, size_t size) override {
    std::fill(dst, dst + size, '\0');
    bytes_read_ += size;
    return size;
  }

 private:
  size_t& bytes_read_;
};
}  // namespace

TEST_CASE("hardening: a NUL byte fails at the byte, without reading on to a line break") {
  size_t bytes_read = 0;
  csv::RecordReader reader(std::make_unique<ZeroSource>(bytes_read), "zero.csv", ',', 4096);
  std::string message;
  try {
    reader.next();
  } catch (const RuntimeError& e) {
    message = e.message();
    CHECK(e.data_location().to_string() == "zero.csv:1:1");
  }
  CHECK(message.find("NUL byte") != std::string::npos);
  CHECK(bytes_read <= 2 * 4096);
}
