// Tokens of the expression language. Internal to the expression compiler.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tickflow::expr {

enum class Tok {
  Int,       // int_value (magnitude; a literal may be 9223372036854775808 under unary minus)
  Double,    // double_value
  Duration,  // int_value in ns
  String,    // text: the decoded value
  Ident,     // text: the name (keywords are Idents too: and or not in true false nan inf)
  Param,     // text: the name after '$'
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Dot,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Bang,
  EqEq,
  NotEq,
  Less,
  LessEq,
  Greater,
  GreaterEq,
  AndAnd,
  OrOr,
  End,
};

struct Token {
  Tok kind = Tok::End;
  size_t offset = 0;  // of the first character in the expression text
  size_t length = 0;
  std::string text;
  uint64_t int_value = 0;
  double double_value = 0;
};

struct LexError {
  size_t offset = 0;
  size_t length = 1;
  std::string message;
};

// Splits `text` into tokens ending with Tok::End. On a lexical error, returns false and
// fills `error` (tokens hold what was read before it).
bool tokenize(std::string_view text, std::vector<Token>& tokens, LexError& error);

// How a token is shown in messages: "'+'", "end of expression", "number 12", ...
std::string describe_token(const Token& token);

}  // namespace tickflow::expr
