#include "expr/lexer.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "tickflow/time.hpp"

namespace tickflow::expr {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || is_digit(c);
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  Lexer(std::string_view text, std::vector<Token>& tokens, LexError& error)
      : text_(text), tokens_(tokens), error_(error) {}

  bool run() {
    while (true) {
      while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      if (pos_ >= text_.size()) break;
      if (!next()) return false;
    }
    Token end;
    end.kind = Tok::End;
    end.offset = text_.size();
    tokens_.push_back(end);
    return true;
  }

 private:
  bool fail(size_t offset, size_t length, std::string message) {
    error_ = {offset, length == 0 ? 1 : length, std::move(message)};
    return false;
  }

  void push(Tok kind, size_t start, std::string text = {}) {
    Token t;
    t.kind = kind;
    t.offset = start;
    t.length = pos_ - start;
    t.text = std::move(text);
    tokens_.push_back(std::move(t));
  }

  bool next() {
    const size_t start = pos_;
    const char c = text_[pos_];
    if (is_digit(c) || (c == '.' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1]))) {
      return number();
    }
    if (is_ident_start(c)) {
      while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
      push(Tok::Ident, start, std::string(text_.substr(start, pos_ - start)));
      return true;
    }
    if (c == '$') {
      ++pos_;
      if (pos_ >= text_.size() || !is_ident_start(text_[pos_])) {
        return fail(start, 1, "'$' must be followed by a parameter name");
      }
      while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
      push(Tok::Param, start, std::string(text_.substr(start + 1, pos_ - start - 1)));
      return true;
    }
    if (c == '\'' || c == '"') return string_literal();
    return punctuation();
  }

  bool punctuation() {
    const size_t start = pos_;
    const char c = text_[pos_];
    const char n = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    auto two = [&](Tok kind) {
      pos_ += 2;
      push(kind, start);
      return true;
    };
    auto one = [&](Tok kind) {
      pos_ += 1;
      push(kind, start);
      return true;
    };
    switch (c) {
      case '(':
        return one(Tok::LParen);
      case ')':
        return one(Tok::RParen);
      case '[':
        return one(Tok::LBracket);
      case ']':
        return one(Tok::RBracket);
      case ',':
        return one(Tok::Comma);
      case '.':
        return one(Tok::Dot);
      case '+':
        return one(Tok::Plus);
      case '-':
        return one(Tok::Minus);
      case '*':
        return one(Tok::Star);
      case '/':
        return one(Tok::Slash);
      case '%':
        return one(Tok::Percent);
      case '!':
        return n == '=' ? two(Tok::NotEq) : one(Tok::Bang);
      case '<':
        return n == '=' ? two(Tok::LessEq) : one(Tok::Less);
      case '>':
        return n == '=' ? two(Tok::GreaterEq) : one(Tok::Greater);
      case '=':
        if (n == '=') return two(Tok::EqEq);
        return fail(start, 1, "unexpected '=' (did you mean '=='?)");
      case '&':
        if (n == '&') return two(Tok::AndAnd);
        return fail(start, 1, "unexpected '&' (did you mean '&&' or 'and'?)");
      case '|':
        if (n == '|') return two(Tok::OrOr);
        return fail(start, 1, "unexpected '|' (did you mean '||' or 'or'?)");
      default:
        break;
    }
    size_t length = 1;
    // Point at the whole UTF-8 sequence of a non-ASCII character.
    while (start + length < text_.size() && (text_[start + length] & 0xC0) == 0x80) ++length;
    return fail(start, length,
                "unexpected character '" + std::string(text_.substr(start, length)) + "'");
  }

  bool number() {
    const size_t start = pos_;
    bool is_double = false;
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '.' &&
        !(pos_ + 1 < text_.size() && is_ident_start(text_[pos_ + 1]))) {
      is_double = true;
      ++pos_;
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (p < text_.size() && is_digit(text_[p])) {
        is_double = true;
        pos_ = p;
        while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
      }
    }
    const size_t digits_end = pos_;
    // A unit glued to the number makes a duration: 250ms, 5us, 1d.
    while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
    const std::string_view number = text_.substr(start, digits_end - start);
    const std::string_view suffix = text_.substr(digits_end, pos_ - digits_end);
    if (!suffix.empty()) return duration(start, number, suffix, is_double);
    if (is_double) {
      Token t;
      t.kind = Tok::Double;
      t.offset = start;
      t.length = pos_ - start;
      t.double_value = std::strtod(std::string(number).c_str(), nullptr);
      tokens_.push_back(std::move(t));
      return true;
    }
    uint64_t value = 0;
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    // 2^63 is accepted so that -9223372036854775808 can be written; the parser rejects it
    // otherwise.
    if (ec != std::errc() || value > uint64_t{1} << 63) {
      return fail(start, pos_ - start, "integer literal " + std::string(number) + " is too large");
    }
    Token t;
    t.kind = Tok::Int;
    t.offset = start;
    t.length = pos_ - start;
    t.int_value = value;
    tokens_.push_back(std::move(t));
    return true;
  }

  bool duration(size_t start, std::string_view number, std::string_view suffix, bool is_double) {
    static constexpr std::string_view kUnits[] = {"ns", "us", "ms", "s", "m", "h", "d"};
    bool unit_ok = false;
    for (auto u : kUnits) unit_ok |= u == suffix;
    const std::string whole(text_.substr(start, pos_ - start));
    if (!unit_ok) {
      return fail(start, pos_ - start,
                  "invalid number '" + whole + "' (a duration unit is one of ns us ms s m h d)");
    }
    if (is_double) {
      return fail(start, pos_ - start,
                  "a duration takes a whole number of units: '" + whole + "' (try a smaller unit)");
    }
    auto ns = parse_duration(std::string(number) + std::string(suffix));
    if (!ns) return fail(start, pos_ - start, "duration '" + whole + "' is too large");
    Token t;
    t.kind = Tok::Duration;
    t.offset = start;
    t.length = pos_ - start;
    t.int_value = static_cast<uint64_t>(*ns);
    tokens_.push_back(std::move(t));
    return true;
  }

  bool string_literal() {
    const size_t start = pos_;
    const char quote = text_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= text_.size()) return fail(start, 1, "unterminated string literal");
      const char c = text_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c != '\\') {
        value += c;
        ++pos_;
        continue;
      }
      const size_t escape_start = pos_;
      if (pos_ + 1 >= text_.size()) return fail(start, 1, "unterminated string literal");
      const char e = text_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case '0':
          value += '\0';
          break;
        case '\\':
          value += '\\';
          break;
        case '\'':
          value += '\'';
          break;
        case '"':
          value += '"';
          break;
        case 'u': {
          uint32_t cp = 0;
          for (int i = 0; i < 4; ++i) {
            int h = pos_ < text_.size() ? hex_value(text_[pos_]) : -1;
            if (h < 0) return fail(escape_start, pos_ - escape_start + 1, "\\u needs 4 hex digits");
            cp = cp * 16 + static_cast<uint32_t>(h);
            ++pos_;
          }
          append_utf8(value, cp);
          break;
        }
        default:
          return fail(escape_start, 2,
                      std::string("unknown escape '\\") + e +
                          "' (use \\n \\t \\r \\0 \\\\ \\' \\\" \\uXXXX)");
      }
    }
    push(Tok::String, start, std::move(value));
    return true;
  }

  std::string_view text_;
  std::vector<Token>& tokens_;
  LexError& error_;
  size_t pos_ = 0;
};

}  // namespace

bool tokenize(std::string_view text, std::vector<Token>& tokens, LexError& error) {
  return Lexer(text, tokens, error).run();
}

std::string describe_token(const Token& token) {
  switch (token.kind) {
    case Tok::End:
      return "end of expression";
    case Tok::Int:
    case Tok::Double:
    case Tok::Duration:
      return "a number";
    case Tok::String:
      return "a string";
    case Tok::Ident:
      return "'" + token.text + "'";
    case Tok::Param:
      return "'$" + token.text + "'";
    default:
      break;
  }
  static const char* kPunct[] = {"(", ")", "[",  "]",  ",", ".",  "+", "-",  "*",  "/",
                                 "%", "!", "==", "!=", "<", "<=", ">", ">=", "&&", "||"};
  return std::string("'") + kPunct[static_cast<int>(token.kind) - static_cast<int>(Tok::LParen)] +
         "'";
}

}  // namespace tickflow::expr
