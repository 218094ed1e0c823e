// Every error path of the expression compiler: location inside the YAML file, caret
// snippet, "did you mean", expected and found types, and reporting all errors at once.
#include <doctest/doctest.h>

#include "test_expr_support.hpp"
#include "tickflow/config.hpp"

using namespace expr_test;

TEST_CASE("expr errors: location and caret of a plain scalar") {
  // The expression starts at q.yaml:3:10; '+' is at offset 5.
  auto errors = compile_errors("SIZE + 'x'");
  REQUIRE(errors.size() == 1);
  const Diagnostic& d = errors[0];
  CHECK(d.location.file == "q.yaml");
  CHECK(d.location.line == 3);
  CHECK(d.location.column == 15);
  CHECK(d.message ==
        "operator '+' needs numbers, two strings, time and duration, or two durations, found int "
        "and string (string(x) turns a value into a string)");
  REQUIRE(d.snippet.size() == 2);
  CHECK(d.snippet[0] == "  SIZE + 'x'");
  CHECK(d.snippet[1] == "       ^");
  CHECK(d.to_string() == "q.yaml:3:15: error: " + d.message + "\n  SIZE + 'x'\n       ^");
}

TEST_CASE("expr errors: quoted scalars count the opening quote") {
  auto errors = compile_errors("PRCE > 1", nullptr, {"q.yaml", 7, 9}, true);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].location.line == 7);
  CHECK(errors[0].location.column == 10);
  CHECK(errors[0].message == "unknown field 'PRCE' (did you mean 'PRICE'?)");
  CHECK(errors[0].snippet[1] == "  ^~~~");
}

TEST_CASE("expr errors: multi-line text counts lines from the scalar's line") {
  auto errors = compile_errors("PRICE > 1 and\nSIZ > 2", nullptr, {"q.yaml", 4, 5}, false);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].location.line == 5);
  CHECK(errors[0].location.column == 5);
  CHECK(errors[0].snippet[0] == "  SIZ > 2");
  CHECK(errors[0].snippet[1] == "  ^~~");
}

TEST_CASE("expr errors: syntax errors are located") {
  auto errors = compile_errors("PRICE > > 2");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].location.column == 18);
  CHECK(errors[0].message == "expected a value, found '>'");
  CHECK(errors[0].snippet[1] == "          ^");
  errors = compile_errors("PRICE == 'abc");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].location.column == 19);
  CHECK(errors[0].message == "unterminated string literal");
  errors = compile_errors("(PRICE");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].location.column == 16);  // just past the end
}

TEST_CASE("expr errors: unknown names with did-you-mean") {
  CHECK(error_of("PRCE * 2") == "unknown field 'PRCE' (did you mean 'PRICE'?)");
  CHECK(error_of("TIMESTMP") == "unknown field 'TIMESTMP' (did you mean 'TIMESTAMP'?)");
  CHECK(error_of("QQQQQ") == "unknown field 'QQQQQ'");
  CHECK(error_of("sqrt + 1") == "unknown field 'sqrt' ('sqrt' is a function: write sqrt(...))");
  CHECK(error_of("True") == "unknown field 'True' (did you mean 'true'?)");
  CHECK(error_of("sqr(PRICE)") == "unknown function 'sqr' (did you mean 'sqrt'?)");
  CHECK(error_of("uper(NAME)") == "unknown function 'uper' (did you mean 'upper'?)");
  CHECK(error_of("PRICE(1)") == "unknown function 'PRICE' ('PRICE' is a field)");
  CHECK(error_of("$MIN_SIZ") == "unknown parameter '$MIN_SIZ' (did you mean '$MIN_SIZE'?)");
  CHECK(error_of("$NOPE") == "unknown parameter '$NOPE'");
  CHECK(error_of("state.TOTAL") ==
        "unknown state variable 'state.TOTAL' (the query declares no state:)");
}

TEST_CASE("expr errors: state variables resolve through the caller") {
  static SchemaPtr schema = test_schema();
  ExprContext cx = test_context(schema.get());
  cx.state = [](std::string_view name) -> std::optional<StateRef> {
    if (name == "TOTAL") return StateRef{Type::Int, 7};
    return std::nullopt;
  };
  cx.state_names = {"TOTAL"};
  auto errors = compile_errors("state.TOTL + 1", &cx);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message == "unknown state variable 'state.TOTL' (did you mean 'TOTAL'?)");
  CHECK(errors[0].location.column == 16);  // at the variable name
  auto ok = compile_ok("state.TOTAL + 1", &cx);
  CHECK(ok->uses_state());
  CHECK(ok->type() == Type::Int);
}

TEST_CASE("expr errors: type mismatches name expected and found types") {
  CHECK(error_of("NAME - 1")
            .starts_with("operator '-' needs numbers, two times, time and duration, or two "
                         "durations, found string and int"));
  CHECK(error_of("D * 1.5") ==
        "operator '*' needs numbers, or a duration and an int, found duration and double (multiply "
        "by an int, or use seconds(d))");
  CHECK(error_of("D / 2") ==
        "operator '/' needs numbers, found duration and int (seconds(d) or nanos(d) turn a "
        "duration into a number)");
  CHECK(error_of("NAME % 2") == "operator '%' needs numbers, found string and int");
  CHECK(error_of("NAME < 1") ==
        "operator '<' needs two numbers, or two strings, times or durations, found string and int");
  CHECK(error_of("FLAG < true") ==
        "operator '<' needs two numbers, or two strings, times or durations, found bool and bool");
  CHECK(error_of("T == D") ==
        "operator '==' needs two numbers, or two values of the same type, found time and duration");
  CHECK(error_of("SIZE and FLAG") == "operator 'and' needs bool operands, found int and bool");
  CHECK(error_of("FLAG || 1") == "operator '||' needs bool operands, found bool and int");
  CHECK(error_of("not SIZE") == "operator 'not' needs bool, found int");
  CHECK(error_of("!NAME") == "operator '!' needs bool, found string");
  CHECK(error_of("-NAME") == "operator '-' needs a number or a duration, found string");
  CHECK(error_of("-T") == "operator '-' needs a number or a duration, found time");
  CHECK(error_of("SIZE in (1, 'a')") ==
        "'in' list value has type string, which cannot be compared with the int on the left");
}

TEST_CASE("expr errors: function arguments") {
  CHECK(error_of("sqrt(NAME)") == "sqrt() needs a number, found string");
  CHECK(error_of("pow(2, NAME)") == "pow() needs a number as argument 2, found string");
  CHECK(error_of("substr(NAME, 1.5)") == "substr() needs int as argument 2, found double");
  CHECK(error_of("if(SIZE, 1, 2)") == "if() needs bool as argument 1, found int");
  CHECK(error_of("if(FLAG, 1, 'a')") ==
        "if() needs int like argument 2 as argument 3, found string");
  CHECK(error_of("min(NAME, 1)") == "min() needs string like argument 1 as argument 2, found int");
  CHECK(error_of("max(FLAG, FLAG)") ==
        "max() needs numbers, strings, times or durations as argument 1, found bool");
  CHECK(error_of("year(SIZE)") == "year() needs time, found int");
  CHECK(error_of("floor_time(T, 5)") == "floor_time() needs duration as argument 2, found int");
  CHECK(error_of("seconds(T)") == "seconds() needs duration, found time");
  CHECK(error_of("time(FLAG)") ==
        "time() needs a string, an int (nanoseconds) or a time, found bool");
  CHECK(error_of("sqrt(1, 2)") == "sqrt() takes 1 argument, found 2 (sqrt(x))");
  CHECK(error_of("substr(NAME)") ==
        "substr() takes 2 or 3 arguments, found 1 (substr(s, start[, n]))");
  CHECK(error_of("min(1)") == "min() takes at least 2 arguments, found 1 (min(a, b, ...))");
  auto errors = compile_errors("round(PRICE, NAME)");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].location.column == 10 + 13);  // at the argument
}

TEST_CASE("expr errors: every independent error is reported") {
  auto errors = compile_errors("PRCE + 1 > 0 and sqrt(NAME) > 1 or SIZ == $X");
  REQUIRE(errors.size() == 4);
  CHECK(errors[0].message.starts_with("unknown field 'PRCE'"));
  CHECK(errors[1].message.starts_with("sqrt() needs a number"));
  CHECK(errors[2].message.starts_with("unknown field 'SIZ'"));
  CHECK(errors[3].message.starts_with("unknown parameter '$X'"));
  // A failed operand does not cascade into its parents.
  errors = compile_errors("(NAME - 1) * 2 + 3");
  CHECK(errors.size() == 1);
}

TEST_CASE("expr errors: constant failures are load-time errors outside conditionals") {
  CHECK(error_of("1 % 0") == "integer % by zero (1 % 0)");
  CHECK(error_of("SIZE + 10 % $ZERO") == "integer % by zero (10 % 0)");
  CHECK(error_of("time('yesterday')") ==
        "time(): 'yesterday' is not a time (expected e.g. '2024-01-02 09:30:00')");
  CHECK(error_of("int('12x')") == "int(): '12x' is not an integer");
  CHECK(error_of("floor_time(T, 0s)") == "floor_time(): the duration must be positive, found 0ns");
  // In a branch that may not be taken, the decision waits for run time.
  compile_ok("if($ZERO == 0, 0, 10 % $ZERO)");
  compile_ok("$ZERO != 0 and 10 % $ZERO == 1");
}

TEST_CASE("expr errors: required result type") {
  static SchemaPtr schema = test_schema();
  ExprContext cx = test_context(schema.get());
  cx.required_type = Type::Bool;
  cx.what = "the 'if' condition";
  auto errors = compile_errors("SIZE + 1", &cx);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message == "the 'if' condition must be bool, found int");
  CHECK(errors[0].snippet[1] == "  ^~~~~~~~");
  cx.required_type = Type::Double;
  auto promoted = compile_ok("SIZE + 1", &cx);
  CHECK(promoted->type() == Type::Double);
  CHECK(compile_ok("2", &cx)->constant_value()->type == Type::Double);
}

TEST_CASE("expr errors: YAML values that are not expressions suggest quoting") {
  static SchemaPtr schema = test_schema();
  ExprContext cx = test_context(schema.get());
  ConfigNode list;
  list.set_kind(ConfigNode::Kind::Sequence);
  list.set_location({"q.yaml", 2, 8});
  std::vector<Diagnostic> errors;
  CHECK_FALSE(compile_expr(list, cx, errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].location.column == 8);
  CHECK(errors[0].message.starts_with("expected an expression, found a YAML list"));
  CHECK(errors[0].message.find("must be quoted") != std::string::npos);
  errors.clear();
  ConfigNode scalar = ConfigNode::scalar("PRICE * 2", {"q.yaml", 2, 8}, false);
  CHECK(compile_expr(scalar, cx, errors));
  CHECK(errors.empty());
}

TEST_CASE("compile_call: a call of the caller's function with expression arguments") {
  static SchemaPtr schema = test_schema();
  ExprContext cx = test_context(schema.get());
  std::vector<Diagnostic> errors;
  // "  vwap( PRICE , SIZE * 100 )" at q.yaml:4:12, quoted: the text starts at column 13.
  auto call =
      compile_call(ConfigNode::scalar("vwap( PRICE , SIZE * 100 )", {"q.yaml", 4, 12}, true), cx,
                   "an aggregation", errors);
  REQUIRE(errors.empty());
  REQUIRE(call);
  CHECK(call->name == "vwap");
  CHECK(call->name_location.column == 13);
  REQUIRE(call->args.size() == 2);
  CHECK(call->args[0].text == "PRICE");
  CHECK(call->args[0].field == std::optional<size_t>(0));
  CHECK(call->args[0].location.column == 19);
  CHECK(call->args[1].text == "SIZE * 100");
  CHECK(!call->args[1].field);
  CHECK(call->args[1].location.column == 27);
  CHECK(call->args[1].expr->type() == Type::Int);
  CHECK(call->args[1].expr->text() == "SIZE * 100");
  Batch batch = sizes_batch({1, 2, 3});
  auto state = call->args[1].expr->make_state();
  Column out(Type::Int);
  call->args[1].expr->evaluate(batch, *state, out, {});
  CHECK(out.ints() == std::vector<int64_t>{100, 200, 300});

  auto empty = compile_call(ConfigNode::scalar("count()", {"q.yaml", 1, 1}), cx, "x", errors);
  REQUIRE(empty);
  CHECK(empty->args.empty());
  auto nested = compile_call(ConfigNode::scalar("max((PRICE), min(SIZE, 2))", {"q.yaml", 1, 1}), cx,
                             "x", errors);
  REQUIRE(nested);
  CHECK(nested->args[0].text == "(PRICE)");
  CHECK(nested->args[1].text == "min(SIZE, 2)");
  CHECK(errors.empty());
}

TEST_CASE("compile_call: other shapes and argument errors are located") {
  static SchemaPtr schema = test_schema();
  ExprContext cx = test_context(schema.get());
  auto errors_of = [&](const std::string& text) {
    std::vector<Diagnostic> errors;
    CHECK(!compile_call(ConfigNode::scalar(text, {"q.yaml", 2, 5}), cx, "fn(args)", errors));
    return errors;
  };
  auto e = errors_of("count");
  REQUIRE(e.size() == 1);
  CHECK(e[0].message == "expected '(' after 'count': write fn(args)");
  CHECK(e[0].location.column == 10);
  e = errors_of("sum(SIZE) * 2");
  REQUIRE(e.size() == 1);
  CHECK(e[0].message == "expected fn(args), found an expression with '*'");
  CHECK(e[0].location.column == 15);
  e = errors_of("42");
  REQUIRE(e.size() == 1);
  CHECK(e[0].message == "expected fn(args)");
  // Every argument's errors, each at its own character.
  e = errors_of("f(PRCE, SIZ + 1)");
  REQUIRE(e.size() == 2);
  CHECK(e[0].location.column == 7);
  CHECK(e[1].location.column == 13);
  CHECK(e[1].message == "unknown field 'SIZ' (did you mean 'SIZE'?)");
  e = errors_of("f(SIZE,)");
  REQUIRE(e.size() == 1);
  CHECK(e[0].location.column == 12);
}
