// Precedence-climbing parser. Binding powers, loosest first (SPEC §3):
//   1 or ||   2 and &&   3 == !=   4 < <= > >=   5 in, not in   6 + -   7 * / %
// then unary - not !, then postfix calls and [k]. Binary operators are left-associative.
#include <cstdlib>
#include <limits>

#include "expr/ast.hpp"
#include "expr/lexer.hpp"

namespace tickflow::expr {
namespace {

struct BinaryOp {
  int power = 0;  // 0: not a binary operator
  const char* name = "";
};

BinaryOp binary_op(const Token& t) {
  switch (t.kind) {
    case Tok::OrOr:
      return {1, "or"};
    case Tok::AndAnd:
      return {2, "and"};
    case Tok::EqEq:
      return {3, "=="};
    case Tok::NotEq:
      return {3, "!="};
    case Tok::Less:
      return {4, "<"};
    case Tok::LessEq:
      return {4, "<="};
    case Tok::Greater:
      return {4, ">"};
    case Tok::GreaterEq:
      return {4, ">="};
    case Tok::Plus:
      return {6, "+"};
    case Tok::Minus:
      return {6, "-"};
    case Tok::Star:
      return {7, "*"};
    case Tok::Slash:
      return {7, "/"};
    case Tok::Percent:
      return {7, "%"};
    case Tok::Ident:
      if (t.text == "or") return {1, "or"};
      if (t.text == "and") return {2, "and"};
      if (t.text == "in" || t.text == "not") return {5, "in"};
      return {};
    default:
      return {};
  }
}

constexpr int kInPower = 5;
// A lag or lead beyond this is surely a typo, and would allocate a huge history.
constexpr int64_t kMaxShift = 1'000'000;

struct ParseFailure {};

class Parser {
 public:
  Parser(std::vector<Token> tokens, SyntaxError& error)
      : tokens_(std::move(tokens)), error_(error) {}

  AstPtr parse_all() {
    try {
      AstPtr root = expression(0);
      if (peek().kind != Tok::End) {
        if (peek().kind == Tok::RParen) fail(peek(), "unmatched ')'");
        fail(peek(), "expected an operator, found " + describe_token(peek()));
      }
      return root;
    } catch (const ParseFailure&) {
      return nullptr;
    }
  }

 private:
  const Token& peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& take() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool is_keyword(const Token& t, std::string_view word) const {
    return t.kind == Tok::Ident && t.text == word;
  }

  [[noreturn]] void fail(const Token& at, std::string message) {
    error_ = {at.offset, std::max<size_t>(at.length, 1), std::move(message)};
    throw ParseFailure{};
  }

  void expect(Tok kind, const char* what) {
    if (peek().kind != kind)
      fail(peek(), std::string("expected ") + what + ", found " + describe_token(peek()));
    take();
  }

  static AstPtr node(AstKind kind, const Token& at, size_t start) {
    auto n = std::make_unique<Ast>();
    n->kind = kind;
    n->offset = at.offset;
    n->length = std::max<size_t>(at.length, 1);
    n->start = start;
    return n;
  }

  // Counts one level of nesting (a parenthesis, call, unary operator, right operand) for
  // the life of the object; beyond kMaxExpressionNesting the parse fails at `at`.
  class Nesting {
   public:
    Nesting(Parser& parser, const Token& at) : parser_(parser) {
      if (++parser_.depth_ > kMaxExpressionNesting) {
        parser_.fail(at, "expression nested more than " + std::to_string(kMaxExpressionNesting) +
                             " levels deep (parentheses, calls, unary operators)");
      }
    }
    ~Nesting() { --parser_.depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    Parser& parser_;
  };

  // Left-associative chains (a + b + c ...) are built in this loop, so their length costs
  // no parser stack; only nesting recurses.
  AstPtr expression(int min_power) {
    Nesting nesting(*this, peek());
    AstPtr left = unary();
    while (true) {
      const Token& op_token = peek();
      BinaryOp op = binary_op(op_token);
      if (op.power == 0 || op.power <= min_power) break;
      if (op.power == kInPower) {
        left = in_list(std::move(left));
        continue;
      }
      take();
      AstPtr right = expression(op.power);
      auto n = node(AstKind::Binary, op_token, left->start);
      n->text = op.name;
      n->children.push_back(std::move(left));
      n->children.push_back(std::move(right));
      left = std::move(n);
    }
    return left;
  }

  AstPtr in_list(AstPtr left) {
    const Token& op_token = take();
    bool negated = false;
    size_t op_length = op_token.length;
    if (op_token.text == "not") {
      if (!is_keyword(peek(), "in"))
        fail(op_token, "expected 'in' after 'not' (write 'not (...)' to negate)");
      const Token& in_token = take();
      negated = true;
      // The caret spans both words of "not in".
      op_length = in_token.offset + in_token.length - op_token.offset;
    }
    auto n = node(AstKind::In, op_token, left->start);
    n->length = op_length;
    n->int_value = negated ? 1 : 0;
    n->children.push_back(std::move(left));
    if (peek().kind != Tok::LParen) fail(peek(), "expected '(' and a list of values after 'in'");
    take();
    if (peek().kind == Tok::RParen) fail(peek(), "'in' needs at least one value");
    while (true) {
      n->children.push_back(expression(0));
      if (peek().kind == Tok::Comma) {
        take();
        continue;
      }
      expect(Tok::RParen, "',' or ')' in the 'in' list");
      break;
    }
    return n;
  }

  AstPtr unary() {
    const Token& t = peek();
    if (t.kind == Tok::Minus || t.kind == Tok::Bang || is_keyword(t, "not")) {
      take();
      // -9223372036854775808 is the one literal whose magnitude does not fit int64.
      if (t.kind == Tok::Minus && peek().kind == Tok::Int &&
          peek().int_value == uint64_t{1} << 63) {
        const Token& lit = take();
        auto n = node(AstKind::IntLiteral, lit, t.offset);
        n->int_value = std::numeric_limits<int64_t>::min();
        return postfix(std::move(n));
      }
      Nesting nesting(*this, t);
      AstPtr operand = unary();
      auto n = node(AstKind::Unary, t, t.offset);
      n->text = t.kind == Tok::Minus ? "-" : "not";
      n->children.push_back(std::move(operand));
      return n;
    }
    return postfix(primary());
  }

  AstPtr postfix(AstPtr operand) {
    while (peek().kind == Tok::LBracket) {
      const Token& open = take();
      int sign = 0;
      if (peek().kind == Tok::Minus) sign = -1;
      if (peek().kind == Tok::Plus) sign = 1;
      if (sign != 0) take();
      const Token& count = peek();
      if (count.kind != Tok::Int) {
        fail(count,
             "expected an integer tick count in '[...]', e.g. X[-1] (previous tick) or X[+1]");
      }
      take();
      if (count.int_value != 0 && sign == 0) {
        fail(count, "write X[-" + std::to_string(count.int_value) + "] for a previous tick or X[+" +
                        std::to_string(count.int_value) + "] for a later one");
      }
      if (count.int_value > static_cast<uint64_t>(kMaxShift)) {
        fail(count,
             "a lag or lead of more than " + std::to_string(kMaxShift) + " ticks is not supported");
      }
      expect(Tok::RBracket, "']'");
      const int64_t shift = sign * static_cast<int64_t>(count.int_value);
      // X[-1][-2] is X[-3] (likewise for leads): one node for a chain of any length.
      // Opposite signs do not cancel (X[-1][+1] is the default value at the last tick).
      if (operand->kind == AstKind::Shift && shift != 0 &&
          (operand->int_value < 0) == (shift < 0) && operand->int_value != 0) {
        if (std::abs(operand->int_value + shift) > kMaxShift) {
          fail(count, "a lag or lead of more than " + std::to_string(kMaxShift) +
                          " ticks in all is not supported");
        }
        operand->int_value += shift;
        operand->length = count.offset + count.length - operand->offset + 1;
        continue;
      }
      auto n = node(AstKind::Shift, open, operand->start);
      n->length = count.offset + count.length - open.offset + 1;
      n->int_value = shift;
      n->children.push_back(std::move(operand));
      operand = std::move(n);
    }
    return operand;
  }

  AstPtr primary() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::Int: {
        take();
        if (t.int_value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          fail(t, "integer literal " + std::to_string(t.int_value) + " is too large");
        }
        auto n = node(AstKind::IntLiteral, t, t.offset);
        n->int_value = static_cast<int64_t>(t.int_value);
        return n;
      }
      case Tok::Double: {
        take();
        auto n = node(AstKind::DoubleLiteral, t, t.offset);
        n->double_value = t.double_value;
        return n;
      }
      case Tok::Duration: {
        take();
        auto n = node(AstKind::DurationLiteral, t, t.offset);
        n->int_value = static_cast<int64_t>(t.int_value);
        return n;
      }
      case Tok::String: {
        take();
        auto n = node(AstKind::StringLiteral, t, t.offset);
        n->text = t.text;
        return n;
      }
      case Tok::Param: {
        take();
        auto n = node(AstKind::Param, t, t.offset);
        n->text = t.text;
        return n;
      }
      case Tok::LParen: {
        take();
        if (peek().kind == Tok::RParen) fail(peek(), "expected an expression inside '()'");
        AstPtr inner = expression(0);
        if (peek().kind != Tok::RParen) {
          fail(peek(), "expected ')' to close '(', found " + describe_token(peek()));
        }
        take();
        inner->start = t.offset;
        return inner;
      }
      case Tok::Ident:
        return name_or_call();
      case Tok::End:
        fail(t, "expected a value, found end of expression");
      default:
        fail(t, "expected a value, found " + describe_token(t));
    }
  }

  AstPtr name_or_call() {
    const Token& t = take();
    if (t.text == "true" || t.text == "false") {
      auto n = node(AstKind::BoolLiteral, t, t.offset);
      n->int_value = t.text == "true";
      return n;
    }
    if (t.text == "nan" || t.text == "inf") {
      auto n = node(AstKind::DoubleLiteral, t, t.offset);
      n->double_value = t.text == "nan" ? std::numeric_limits<double>::quiet_NaN()
                                        : std::numeric_limits<double>::infinity();
      return n;
    }
    if (t.text == "and" || t.text == "or" || t.text == "in" || t.text == "not") {
      fail(t, "expected a value, found '" + t.text + "'");
    }
    if (t.text == "state" && peek().kind == Tok::Dot) {
      take();
      const Token& var = peek();
      if (var.kind != Tok::Ident) fail(var, "expected a state variable name after 'state.'");
      take();
      if (peek().kind == Tok::Dot) return state_method(t, var);
      auto n = node(AstKind::State, var, t.offset);
      n->text = var.text;
      return n;
    }
    if (peek().kind != Tok::LParen) {
      auto n = node(AstKind::Name, t, t.offset);
      n->text = t.text;
      return n;
    }
    take();
    auto n = node(AstKind::Call, t, t.offset);
    n->text = t.text;
    arguments(*n, t.text);
    return n;
  }

  // state.NAME.method(args...); the '.' after NAME is next.
  AstPtr state_method(const Token& state_token, const Token& var) {
    take();
    const Token& method = peek();
    if (method.kind != Tok::Ident) {
      fail(method, "expected a method name after 'state." + var.text +
                       ".' (has, value or size), found " + describe_token(method));
    }
    take();
    if (peek().kind != Tok::LParen) {
      fail(peek(), "expected '(' after 'state." + var.text + "." + method.text + "', found " +
                       describe_token(peek()));
    }
    take();
    auto n = node(AstKind::StateMethod, var, state_token.offset);
    n->text = var.text;
    n->method = method.text;
    n->method_offset = method.offset;
    n->method_length = std::max<size_t>(method.length, 1);
    arguments(*n, method.text);
    return n;
  }

  // The arguments of a call after its '(', up to and including the ')'.
  void arguments(Ast& call, const std::string& name) {
    if (peek().kind == Tok::RParen) {
      take();
      return;
    }
    while (true) {
      call.children.push_back(expression(0));
      if (peek().kind == Tok::Comma) {
        take();
        continue;
      }
      if (peek().kind != Tok::RParen) {
        fail(peek(), "expected ',' or ')' in the arguments of " + name + "(), found " +
                         describe_token(peek()));
      }
      take();
      break;
    }
  }

  std::vector<Token> tokens_;
  SyntaxError& error_;
  size_t pos_ = 0;
  size_t depth_ = 0;
};

}  // namespace

Ast::~Ast() {
  std::vector<AstPtr> pending = std::move(children);
  while (!pending.empty()) {
    AstPtr next = std::move(pending.back());
    pending.pop_back();
    for (auto& child : next->children) pending.push_back(std::move(child));
    next->children.clear();
  }
}

AstPtr parse_expression(std::string_view text, SyntaxError& error) {
  std::vector<Token> tokens;
  LexError lex_error;
  if (!tokenize(text, tokens, lex_error)) {
    error = {lex_error.offset, lex_error.length, lex_error.message};
    return nullptr;
  }
  if (tokens.size() == 1) {
    error = {0, 1, "empty expression"};
    return nullptr;
  }
  return Parser(std::move(tokens), error).parse_all();
}

}  // namespace tickflow::expr
