#include "core/scalar_parse.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include "tickflow/time.hpp"
#include "tickflow/types.hpp"

namespace tickflow::detail {

std::optional<int64_t> parse_int(std::string_view text) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "nan" || lower == ".nan") return std::numeric_limits<double>::quiet_NaN();
  if (lower == "inf" || lower == "+inf" || lower == ".inf" || lower == "+.inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (lower == "-inf" || lower == "-.inf") return -std::numeric_limits<double>::infinity();
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  double v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty()) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::nullopt;
}

namespace {

std::string expect(std::string_view what, const ConfigNode& value) {
  std::string found = value.is_scalar() ? "'" + value.text() + "'" : std::string(value.kind_name());
  return "expected " + std::string(what) + ", found " + found;
}

std::string check_scalar(ParamType type, const ConfigNode& v) {
  if (!v.is_scalar()) {
    std::string msg = expect(param_type_name(type), v);
    if (type == ParamType::Expr || type == ParamType::String) {
      msg += "; YAML read this as a " + std::string(v.kind_name()) + " — put the value in quotes";
    }
    return msg;
  }
  const std::string& t = v.text();
  switch (type) {
    case ParamType::Int:
      return parse_int(t) ? "" : expect("an integer", v);
    case ParamType::Double:
      return parse_double(t) ? "" : expect("a number", v);
    case ParamType::Bool:
      return parse_bool(t) ? "" : expect("true or false", v);
    case ParamType::Duration:
      return parse_duration(t) ? "" : expect("a duration such as 250ms, 5s, 1m", v);
    case ParamType::Time:
      return parse_time_or_nanos(t) ? "" : expect("a time such as \"2024-01-02 09:30:00\"", v);
    case ParamType::Field:
      return is_valid_name(t) ? "" : expect("a field name", v);
    default:
      return "";
  }
}

}  // namespace

std::string check_param_shape(ParamType type, const ConfigNode& value) {
  switch (type) {
    case ParamType::Any:
      return "";
    case ParamType::FieldList:
      if (value.is_scalar()) return "";  // a single name is accepted as a one-item list
      if (!value.is_sequence()) return expect("a list of field names", value);
      for (const auto& item : value.items()) {
        if (!item.is_scalar() || !is_valid_name(item.text())) {
          return expect("a field name", item) + " (at " + item.location().to_string() + ")";
        }
      }
      return "";
    case ParamType::FieldTypes:
      if (!value.is_mapping()) return expect("a mapping of field names to types", value);
      return "";
    case ParamType::NameMap:
    case ParamType::ExprMap:
      if (!value.is_mapping()) return expect("a mapping", value);
      for (const auto& e : value.entries()) {
        if (!e.value.is_scalar()) {
          std::string msg = expect("a scalar", e.value) + " for '" + e.key + "' (at " +
                            e.value.location().to_string() + ")";
          if (type == ParamType::ExprMap) msg += "; put the expression in quotes";
          return msg;
        }
      }
      return "";
    case ParamType::Rows:
      if (!value.is_sequence()) return expect("a list of rows", value);
      for (const auto& item : value.items()) {
        if (!item.is_mapping()) {
          return expect("a mapping of field to value", item) + " (at " +
                 item.location().to_string() + ")";
        }
      }
      return "";
    default:
      return check_scalar(type, value);
  }
}

}  // namespace tickflow::detail
