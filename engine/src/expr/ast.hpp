// The untyped syntax tree of an expression and the parser that builds it. Internal to
// the expression compiler; the type checker turns it into evaluation nodes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tickflow::expr {

enum class AstKind {
  IntLiteral,       // int_value
  DoubleLiteral,    // double_value
  StringLiteral,    // text
  BoolLiteral,      // int_value 0/1
  DurationLiteral,  // int_value (ns)
  Name,             // text: a field, TIMESTAMP or SYMBOL
  Param,            // text: name without '$'
  State,            // text: variable name
  StateMethod,      // state.NAME.method(args): text: NAME (offset/length: its token);
                    // method, method_offset, method_length; children: arguments
  Unary,            // text: "-", "not"; children[0]
  Binary,           // text: "+", "==", "and", ...; children[0..1]
  In,               // children[0] in (children[1..]); int_value 1 for "not in"
  Call,             // text: function name; children: arguments
  Shift,            // children[0][int_value]: negative = lag, positive = lead
};

// How deeply an expression may nest (parentheses, calls, unary operators, the right
// operand of a looser operator); beyond it the parser reports a located error instead
// of exhausting the stack. Flat chains (a + b + c ..., X[-1][-1]...) do not nest.
constexpr size_t kMaxExpressionNesting = 256;

struct Ast {
  Ast() = default;
  // Frees a long left-deep chain (a + b + c ...) without recursing once per term.
  ~Ast();
  Ast(const Ast&) = delete;
  Ast& operator=(const Ast&) = delete;

  AstKind kind = AstKind::IntLiteral;
  std::string text;
  int64_t int_value = 0;
  double double_value = 0;
  // The token errors about this node point at: the operator, the name, the literal.
  size_t offset = 0;
  size_t length = 1;
  // Where the whole subexpression starts (errors about an argument point here).
  size_t start = 0;
  // StateMethod: the method's name and token.
  std::string method;
  size_t method_offset = 0;
  size_t method_length = 1;
  std::vector<std::unique_ptr<Ast>> children;
};

using AstPtr = std::unique_ptr<Ast>;

struct SyntaxError {
  size_t offset = 0;
  size_t length = 1;
  std::string message;
};

// Parses a whole expression. Returns nullptr and fills `error` on the first syntax error.
AstPtr parse_expression(std::string_view text, SyntaxError& error);

}  // namespace tickflow::expr
