// Lexer and parser of the expression language: literals, precedence, associativity.
#include <doctest/doctest.h>

#include <limits>

#include "expr/ast.hpp"
#include "test_expr_support.hpp"

using namespace expr_test;
using tickflow::expr::Ast;
using tickflow::expr::AstKind;

namespace {

// The tree as an s-expression: "(+ 1 (* 2 3))".
std::string sexpr(const Ast& a) {
  switch (a.kind) {
    case AstKind::IntLiteral:
    case AstKind::BoolLiteral:
    case AstKind::DurationLiteral:
      return std::to_string(a.int_value);
    case AstKind::DoubleLiteral:
      return "d" + std::to_string(a.double_value);
    case AstKind::StringLiteral:
      return "'" + a.text + "'";
    case AstKind::Name:
      return a.text;
    case AstKind::Param:
      return "$" + a.text;
    case AstKind::State:
      return "state." + a.text;
    case AstKind::Shift:
      return "(at " + sexpr(*a.children[0]) + " " + std::to_string(a.int_value) + ")";
    default:
      break;
  }
  std::string head = a.kind == AstKind::In ? (a.int_value ? "notin" : "in") : a.text;
  std::string out = "(" + head;
  for (const auto& c : a.children) out += " " + sexpr(*c);
  return out + ")";
}

std::string parse(const std::string& text) {
  tickflow::expr::SyntaxError error;
  auto ast = tickflow::expr::parse_expression(text, error);
  if (!ast) return "error: " + error.message;
  return sexpr(*ast);
}

}  // namespace

TEST_CASE("expr parser: precedence follows SPEC §3, loosest first") {
  CHECK(parse("A or B and C") == "(or A (and B C))");
  CHECK(parse("A || B && C") == "(or A (and B C))");
  CHECK(parse("A and B == C") == "(and A (== B C))");
  CHECK(parse("A == B < C") == "(== A (< B C))");
  CHECK(parse("A < B in (1, 2)") == "(< A (in B 1 2))");
  CHECK(parse("A + B in (1, 2)") == "(in (+ A B) 1 2)");
  CHECK(parse("A in (1) == B") == "(== (in A 1) B)");
  CHECK(parse("A + B * C") == "(+ A (* B C))");
  CHECK(parse("A * B % C / D") == "(/ (% (* A B) C) D)");
  CHECK(parse("-A * B") == "(* (- A) B)");
  CHECK(parse("not A and B") == "(and (not A) B)");
  CHECK(parse("!A || !B") == "(or (not A) (not B))");
  CHECK(parse("-X[-1]") == "(- (at X -1))");
  CHECK(parse("f(A, B + 1)[+2]") == "(at (f A (+ B 1)) 2)");
}

TEST_CASE("expr parser: binary operators are left-associative") {
  CHECK(parse("A - B - C") == "(- (- A B) C)");
  CHECK(parse("A / B / C") == "(/ (/ A B) C)");
  CHECK(parse("A or B or C") == "(or (or A B) C)");
  CHECK(parse("(A - B) - C") == "(- (- A B) C)");
  CHECK(parse("A - (B - C)") == "(- A (- B C))");
}

TEST_CASE("expr parser: names, parameters, state, in and not in") {
  CHECK(parse("$MIN_SIZE") == "$MIN_SIZE");
  CHECK(parse("state.TOTAL + 1") == "(+ state.TOTAL 1)");
  CHECK(parse("SYMBOL not in ('A', 'B')") == "(notin SYMBOL 'A' 'B')");
  CHECK(parse("X[0]") == "(at X 0)");
  CHECK(parse("X[-2][+1]") == "(at (at X -2) 1)");
  CHECK(parse("  PRICE  ") == "PRICE");
  CHECK(parse("f()") == "(f)");
}

TEST_CASE("expr parser: literals") {
  CHECK(as_int("42") == 42);
  CHECK(as_int("-9223372036854775808") == std::numeric_limits<int64_t>::min());
  CHECK(as_double("1.5") == 1.5);
  CHECK(as_double("1e-3") == 0.001);
  CHECK(as_double("2E3") == 2000.0);
  CHECK(as_double(".5") == 0.5);
  CHECK(std::isnan(as_double("nan")));
  CHECK(as_double("inf") == std::numeric_limits<double>::infinity());
  CHECK(as_double("-inf") == -std::numeric_limits<double>::infinity());
  CHECK(as_bool("true"));
  CHECK_FALSE(as_bool("false"));
  CHECK(as_string("'text'") == "text");
  CHECK(as_string("\"text\"") == "text");
  CHECK(as_string(R"('a\nb\t\\\'\"')") == "a\nb\t\\'\"");
  CHECK(as_string(R"("it's")") == "it's");
  CHECK(as_string(R"('\u00e9\u20ac')") == "\xC3\xA9\xE2\x82\xAC");
  CHECK(as_string("''").empty());
  CHECK(constant("250ms").type == Type::Duration);
  CHECK(as_int("nanos(10ns)") == 10);
  CHECK(as_int("nanos(5us)") == 5'000);
  CHECK(as_int("nanos(250ms)") == 250'000'000);
  CHECK(as_int("nanos(3s)") == 3'000'000'000);
  CHECK(as_int("nanos(2m)") == 120'000'000'000);
  CHECK(as_int("nanos(1h)") == 3'600'000'000'000);
  CHECK(as_int("nanos(1d)") == 86'400'000'000'000);
  CHECK(as_int("nanos(-5s)") == -5'000'000'000);
  auto t = constant("time('2024-01-02 09:30:00')");
  CHECK(t.type == Type::Time);
  CHECK(std::get<int64_t>(t.value) == *parse_time_text("2024-01-02 09:30:00"));
}

TEST_CASE("expr parser: syntax errors") {
  CHECK(parse("") == "error: empty expression");
  CHECK(parse("A +") == "error: expected a value, found end of expression");
  CHECK(parse("(A + B") == "error: expected ')' to close '(', found end of expression");
  CHECK(parse("A + B)") == "error: unmatched ')'");
  CHECK(parse("A B") == "error: expected an operator, found 'B'");
  CHECK(parse("A = B") == "error: unexpected '=' (did you mean '=='?)");
  CHECK(parse("A & B") == "error: unexpected '&' (did you mean '&&' or 'and'?)");
  CHECK(parse("A | B") == "error: unexpected '|' (did you mean '||' or 'or'?)");
  CHECK(parse("A # B") == "error: unexpected character '#'");
  CHECK(parse("'abc") == "error: unterminated string literal");
  CHECK(parse("'a\\qb'").starts_with("error: unknown escape '\\q'"));
  CHECK(parse("'\\u12'") == "error: \\u needs 4 hex digits");
  CHECK(parse("12abc") ==
        "error: invalid number '12abc' (a duration unit is one of ns us ms s m h d)");
  CHECK(parse("1.5s").starts_with("error: a duration takes a whole number of units"));
  CHECK(parse("99999999999999999999") ==
        "error: integer literal 99999999999999999999 is too large");
  CHECK(parse("9223372036854775808") == "error: integer literal 9223372036854775808 is too large");
  CHECK(parse("X[1]") == "error: write X[-1] for a previous tick or X[+1] for a later one");
  CHECK(parse("X[-A]").starts_with("error: expected an integer tick count"));
  CHECK(parse("X[-2000000]").starts_with("error: a lag or lead of more than"));
  CHECK(parse("A in 1, 2").starts_with("error: expected '(' and a list of values after 'in'"));
  CHECK(parse("A in ()") == "error: 'in' needs at least one value");
  CHECK(parse("A not B") == "error: expected 'in' after 'not' (write 'not (...)' to negate)");
  CHECK(parse("f(A,)") == "error: expected a value, found ')'");
  CHECK(parse("f(A B)") == "error: expected ',' or ')' in the arguments of f(), found 'B'");
  CHECK(parse("()") == "error: expected an expression inside '()'");
  CHECK(parse("$") == "error: '$' must be followed by a parameter name");
  CHECK(parse("state.") == "error: expected a state variable name after 'state.'");
  CHECK(parse("state.S.") ==
        "error: expected a method name after 'state.S.' (has, value or size), found end of "
        "expression");
  CHECK(parse("A and or B") == "error: expected a value, found 'or'");
}
