// Evaluation of operators and functions, with edge cases, over constants (folded at
// compile time) and over batch columns (the run-time path).
#include <doctest/doctest.h>

#include <limits>

#include "test_expr_support.hpp"

using namespace expr_test;

namespace {
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
const int64_t kSecond = 1'000'000'000;
}  // namespace

TEST_CASE("expr eval: arithmetic typing") {
  CHECK(type_of("1 + 2") == Type::Int);
  CHECK(type_of("1 + 2.0") == Type::Double);
  CHECK(type_of("4 / 2") == Type::Double);
  CHECK(type_of("SIZE * SIZE") == Type::Int);
  CHECK(type_of("PRICE * SIZE") == Type::Double);
  CHECK(type_of("NAME + 'x'") == Type::String);
  CHECK(type_of("T - T") == Type::Duration);
  CHECK(type_of("T + D") == Type::Time);
  CHECK(type_of("D + T") == Type::Time);
  CHECK(type_of("T - D") == Type::Time);
  CHECK(type_of("D - D") == Type::Duration);
  CHECK(type_of("D * 2") == Type::Duration);
  CHECK(type_of("2 * D") == Type::Duration);
  CHECK(type_of("-D") == Type::Duration);
  CHECK(type_of("SIZE % 3") == Type::Int);
  CHECK(type_of("PRICE % 3") == Type::Double);
}

TEST_CASE("expr eval: integer and double arithmetic") {
  CHECK(as_int("7 + 3 * 2") == 13);
  CHECK(as_double("7 / 2") == 3.5);
  CHECK(as_double("1 / 0") == std::numeric_limits<double>::infinity());
  CHECK(as_double("-1 / 0") == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(as_double("0 / 0")));
  CHECK(as_double("1.5 * 2") == 3.0);
  CHECK(as_double("2 - 0.5") == 1.5);
  // % takes the sign of the dividend.
  CHECK(as_int("7 % 3") == 1);
  CHECK(as_int("-7 % 3") == -1);
  CHECK(as_int("7 % -3") == 1);
  CHECK(as_int("-7 % -3") == -1);
  CHECK(as_double("-7.5 % 2") == -1.5);
  CHECK(as_double("7.5 % -2") == 1.5);
  CHECK(as_int("-9223372036854775808 % -1") == 0);
  // Integer overflow wraps around.
  CHECK(as_int("9223372036854775807 + 1") == kMin);
  CHECK(as_int("-9223372036854775808 - 1") == kMax);
  CHECK(as_int("9223372036854775807 * 2") == -2);
  CHECK(as_int("-(-9223372036854775808)") == kMin);
  CHECK(as_int("-5") == -5);
  // NaN flows through arithmetic; comparisons with NaN are false except !=.
  CHECK(std::isnan(as_double("nan + 1")));
  CHECK_FALSE(as_bool("nan == nan"));
  CHECK(as_bool("nan != nan"));
  CHECK_FALSE(as_bool("nan < 1"));
  CHECK_FALSE(as_bool("nan >= 1"));
}

TEST_CASE("expr eval: strings, times and durations") {
  CHECK(as_string("'ab' + \"cd\"") == "abcd");
  CHECK(as_string("'' + ''").empty());
  CHECK(as_int("nanos(time('2024-01-02 00:00:01') - time('2024-01-02'))") == kSecond);
  CHECK(as_int("nanos(time('2024-01-02') - time('2024-01-02 00:00:01'))") == -kSecond);
  CHECK(as_string("string(time('2024-01-02') + 90s)") == "2024-01-02 00:01:30.000000000");
  CHECK(as_string("string(time('2024-01-02') - 1ns)") == "2024-01-01 23:59:59.999999999");
  CHECK(as_int("nanos(1s - 2s)") == -kSecond);
  CHECK(as_int("nanos(-(1s - 2s))") == kSecond);
  CHECK(as_int("nanos(3 * 250ms)") == 750'000'000);
  CHECK(as_int("nanos(-2 * 1m)") == -120 * kSecond);
}

TEST_CASE("expr eval: comparisons and logic") {
  CHECK(as_bool("1 < 1.5"));
  CHECK(as_bool("2 == 2.0"));
  CHECK(as_bool("'abc' < 'abd'"));
  CHECK(as_bool("'' < 'a'"));
  CHECK(as_bool("'b' >= 'a'"));
  CHECK(as_bool("time('2024-01-02') < time('2024-01-03')"));
  CHECK(as_bool("-1s < 0s"));
  CHECK(as_bool("true == true"));
  CHECK(as_bool("true != false"));
  CHECK(as_bool("true and not false"));
  CHECK(as_bool("false || true"));
  CHECK_FALSE(as_bool("true && false"));
  CHECK(as_bool("2 in (1, 2, 3)"));
  CHECK(as_bool("2 in (1.5, 2.0)"));
  CHECK_FALSE(as_bool("4 in (1, 2, 3)"));
  CHECK(as_bool("4 not in (1, 2, 3)"));
  CHECK(as_bool("'b' in ('a', 'b')"));
  CHECK(as_bool("1s in (1000ms)"));
  CHECK_FALSE(as_bool("nan in (nan)"));
}

TEST_CASE("expr eval: math functions") {
  CHECK(type_of("abs(SIZE)") == Type::Int);
  CHECK(type_of("abs(PRICE)") == Type::Double);
  CHECK(type_of("abs(D)") == Type::Duration);
  CHECK(as_int("abs(-3)") == 3);
  CHECK(as_int("abs(-9223372036854775808)") == kMin);
  CHECK(as_double("abs(-2.5)") == 2.5);
  CHECK(as_int("nanos(abs(-5s))") == 5 * kSecond);
  CHECK(as_double("sqrt(16)") == 4.0);
  CHECK(std::isnan(as_double("sqrt(-1)")));
  CHECK(as_double("exp(0)") == 1.0);
  CHECK(as_double("log(1)") == 0.0);
  CHECK(as_double("log(0)") == -std::numeric_limits<double>::infinity());
  CHECK(as_double("log10(1000)") == doctest::Approx(3.0));
  CHECK(as_double("pow(2, 10)") == 1024.0);
  CHECK(as_double("pow(4, 0.5)") == 2.0);
  CHECK(type_of("floor(SIZE)") == Type::Int);
  CHECK(as_double("floor(-1.5)") == -2.0);
  CHECK(as_double("ceil(-1.5)") == -1.0);
  CHECK(as_int("floor(7)") == 7);
  CHECK(std::isnan(as_double("floor(nan)")));
}

TEST_CASE("expr eval: round is half away from zero") {
  CHECK(as_double("round(2.5)") == 3.0);
  CHECK(as_double("round(-2.5)") == -3.0);
  CHECK(as_double("round(0.5)") == 1.0);
  CHECK(as_double("round(-0.4)") == -0.0);
  CHECK(as_double("round(1.25, 1)") == 1.3);
  CHECK(as_double("round(-1.25, 1)") == -1.3);
  CHECK(as_double("round(1234.5678, 2)") == doctest::Approx(1234.57));
  CHECK(as_double("round(1250.0, -2)") == 1300.0);
  CHECK(as_double("round(2.675, 2)") == 2.68);
  CHECK(as_double("round(1.005, 2)") == 1.0);  // 1.005 * 100 is 100.49999999999999
  CHECK(as_double("round(1.5, 400)") == 1.5);
  CHECK(std::isnan(as_double("round(nan)")));
  CHECK(as_double("round(inf)") == std::numeric_limits<double>::infinity());
  CHECK(as_int("round(7)") == 7);
  CHECK(as_int("round(1250, -2)") == 1300);
  CHECK(as_int("round(-1250, -2)") == -1300);
  CHECK(as_int("round(-1249, -2)") == -1200);
  CHECK(as_int("round(1249, 2)") == 1249);
  CHECK(as_int("round(1249, -30)") == 0);
}

TEST_CASE("expr eval: min, max, isnan, if") {
  CHECK(as_int("min(3, 1, 2)") == 1);
  CHECK(as_int("max(3, 1, 2)") == 3);
  CHECK(type_of("max(1, 2.5)") == Type::Double);
  CHECK(as_double("max(1, 2.5)") == 2.5);
  CHECK(std::isnan(as_double("min(1.0, nan)")));
  CHECK(std::isnan(as_double("max(nan, 1.0)")));
  CHECK(as_string("min('b', 'a', 'c')") == "a");
  CHECK(as_int("nanos(max(1s, 2s))") == 2 * kSecond);
  CHECK(as_bool("isnan(nan)"));
  CHECK_FALSE(as_bool("isnan(1.0)"));
  CHECK_FALSE(as_bool("isnan(1)"));
  CHECK(as_int("if(true, 1, 2)") == 1);
  CHECK(as_int("if(false, 1, 2)") == 2);
  CHECK(as_double("if(true, 1, 2.5)") == 1.0);
  CHECK(as_string("if(1 > 2, 'a', 'b')") == "b");
}

TEST_CASE("expr eval: conversions") {
  CHECK(as_int("int(2.9)") == 2);
  CHECK(as_int("int(-2.9)") == -2);
  CHECK(as_int("int(nan)") == 0);
  CHECK(as_int("int(inf)") == kMax);
  CHECK(as_int("int(-inf)") == kMin);
  CHECK(as_int("int(1e300)") == kMax);
  CHECK(as_int("int(true)") == 1);
  CHECK(as_int("int(' 42 ')") == 42);
  CHECK(as_int("int('-7')") == -7);
  CHECK(as_int("int(1s)") == kSecond);
  CHECK(as_int("int(time('1970-01-01 00:00:02'))") == 2 * kSecond);
  CHECK(as_double("double(3)") == 3.0);
  CHECK(as_double("double('2.5')") == 2.5);
  CHECK(std::isnan(as_double("double('nan')")));
  CHECK(as_double("double('-inf')") == -std::numeric_limits<double>::infinity());
  CHECK(as_double("double(false)") == 0.0);
  CHECK(as_string("string(42)") == "42");
  CHECK(as_string("string(-1.5)") == "-1.5");
  CHECK(as_string("string(0.1)") == "0.1");
  CHECK(as_string("string(1e300)") == "1e+300");
  CHECK(as_string("string(nan)") == "nan");
  CHECK(as_string("string(-inf)") == "-inf");
  CHECK(as_string("string(true)") == "true");
  CHECK(as_string("string(1500ms)") == "1500ms");
  CHECK(as_string("string(-2h)") == "-2h");
  CHECK(as_string("string(0s)") == "0ns");
  CHECK(as_string("string(time('2024-01-02T09:30:00Z'))") == "2024-01-02 09:30:00.000000000");
  CHECK(as_int("nanos(time(5))") == 5);
  CHECK(as_int("nanos(time('1000'))") == 1000);
  CHECK(as_int("nanos(duration('250ms'))") == 250'000'000);
  CHECK(as_int("nanos(duration(7))") == 7);
}

TEST_CASE("expr eval: string functions") {
  CHECK(as_int("len('hello')") == 5);
  CHECK(as_int("len('')") == 0);
  CHECK(as_int("len('\\u00e9')") == 2);  // bytes
  CHECK(as_string("upper('aBc-1')") == "ABC-1");
  CHECK(as_string("lower('aBc-1')") == "abc-1");
  CHECK(as_string("upper('')").empty());
  CHECK(as_string("substr('hello', 1)") == "ello");
  CHECK(as_string("substr('hello', 1, 3)") == "ell");
  CHECK(as_string("substr('hello', 0, 100)") == "hello");
  CHECK(as_string("substr('hello', 10)").empty());
  CHECK(as_string("substr('hello', -3)") == "llo");
  CHECK(as_string("substr('hello', -10, 2)") == "he");
  CHECK(as_string("substr('hello', 1, -1)").empty());
  CHECK(as_string("substr('', 0, 1)").empty());
  CHECK(as_bool("contains('hello', 'ell')"));
  CHECK(as_bool("contains('hello', '')"));
  CHECK_FALSE(as_bool("contains('', 'a')"));
  CHECK(as_bool("starts_with('hello', 'he')"));
  CHECK_FALSE(as_bool("starts_with('he', 'hello')"));
  CHECK(as_bool("ends_with('hello', 'llo')"));
}

TEST_CASE("expr eval: time functions") {
  const std::string t = "time('2024-03-05 17:04:09.123456789')";
  CHECK(as_int("year(" + t + ")") == 2024);
  CHECK(as_int("month(" + t + ")") == 3);
  CHECK(as_int("day(" + t + ")") == 5);
  CHECK(as_int("hour(" + t + ")") == 17);
  CHECK(as_int("minute(" + t + ")") == 4);
  CHECK(as_int("second(" + t + ")") == 9);
  CHECK(as_string("string(date(" + t + "))") == "2024-03-05 00:00:00.000000000");
  CHECK(as_string("string(floor_time(" + t + ", 5m))") == "2024-03-05 17:00:00.000000000");
  CHECK(as_string("string(floor_time(" + t + ", 1ms))") == "2024-03-05 17:04:09.123000000");
  // Before the epoch, days and floors still go down, not toward zero.
  CHECK(as_string("string(date(time(-1)))") == "1969-12-31 00:00:00.000000000");
  CHECK(as_int("year(time(-1))") == 1969);
  CHECK(as_int("hour(time(-1))") == 23);
  CHECK(as_int("second(time(-1))") == 59);
  CHECK(as_int("nanos(floor_time(time(-1), 1s))") == -kSecond);
  CHECK(as_double("seconds(1500ms)") == 1.5);
  CHECK(as_double("seconds(-250ms)") == -0.25);
  CHECK(as_int("nanos(-1us)") == -1000);
}

TEST_CASE("expr eval: columns, parameters and SYMBOL") {
  Batch b = make_batch({{10.5, 3, "a", true, 5, 7}, {2.0, -4, "bc", false, 6, -7}});
  Column c = eval("PRICE * SIZE", b);
  CHECK(c.type() == Type::Double);
  CHECK(c.doubles() == std::vector<double>{31.5, -8.0});
  CHECK(eval("SIZE % 3", b).ints() == std::vector<int64_t>{0, -1});
  CHECK(eval("SIZE >= $MIN_SIZE", b).bools() == std::vector<uint8_t>{0, 0});
  CHECK(eval("PRICE * $RATIO", b).doubles() == std::vector<double>{5.25, 1.0});
  CHECK(eval("NAME + '!'", b).strings() == std::vector<std::string>{"a!", "bc!"});
  CHECK(eval("len(NAME)", b).ints() == std::vector<int64_t>{1, 2});
  CHECK(eval("nanos(T + D)", b).ints() == std::vector<int64_t>{12, -1});
  CHECK(eval("nanos(TIMESTAMP)", b).ints() == std::vector<int64_t>{1000, 1001});
  CHECK(eval("if(FLAG, NAME, 'no')", b).strings() == std::vector<std::string>{"a", "no"});
  CHECK(eval("SIZE in (3, 4)", b).bools() == std::vector<uint8_t>{1, 0});
  CHECK(eval("max(SIZE, 0, PRICE)", b).doubles() == std::vector<double>{10.5, 2.0});
  CHECK(eval("SYMBOL", b, "AAPL").strings() == std::vector<std::string>{"AAPL", "AAPL"});
  CHECK(eval("SYMBOL + '.' + NAME", b, "X").strings() == std::vector<std::string>{"X.a", "X.bc"});
  CHECK(eval("SYMBOL == ''", b).bools() == std::vector<uint8_t>{1, 1});
  CHECK(eval("PRICE", b).doubles() == std::vector<double>{10.5, 2.0});
  CHECK(eval("42", b).ints() == std::vector<int64_t>{42, 42});
  // A SYMBOL field in the data wins over the run's symbol.
  static SchemaPtr with_symbol = make_schema({{"SYMBOL", Type::String}});
  ExprContext cx = test_context(with_symbol.get());
  auto compiled = compile_ok("SYMBOL", &cx);
  Batch sb(with_symbol);
  sb.times = {1, 2};
  sb.columns[0].strings() = {"A", "B"};
  auto state = compiled->make_state();
  Column out(Type::Int);
  compiled->evaluate(sb, *state, out, {"RUN", nullptr});
  CHECK(out.strings() == std::vector<std::string>{"A", "B"});
}

TEST_CASE("expr eval: empty batch") {
  Batch b = make_batch({});
  CHECK(eval("PRICE * SIZE", b).doubles().empty());
  CHECK(eval("SIZE[-1] + 1", b).ints().empty());
  CHECK(eval("SYMBOL", b, "A").strings().empty());
}

TEST_CASE("expr eval: constant folding") {
  auto c = compile_ok("1 + 2 * 3");
  CHECK(c->is_constant());
  CHECK(std::get<int64_t>(c->constant_value()->value) == 7);
  CHECK(compile_ok("upper('a') + string($MIN_SIZE * 2)")->is_constant());
  CHECK(std::get<std::string>(
            compile_ok("upper('a') + string($MIN_SIZE * 2)")->constant_value()->value) == "A1000");
  CHECK(compile_ok("time('2024-01-02') + 1h")->is_constant());
  CHECK_FALSE(compile_ok("PRICE * 2")->is_constant());
  CHECK_FALSE(compile_ok("SYMBOL")->is_constant());
  CHECK_FALSE(compile_ok("TIMESTAMP")->is_constant());
  CHECK_FALSE(compile_ok("5[-1]")->is_constant());
  CHECK_FALSE(compile_ok("PRICE")->constant_value());
}
