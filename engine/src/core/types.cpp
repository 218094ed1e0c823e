#include "tickflow/types.hpp"

#include <limits>

namespace tickflow {

std::string_view type_name(Type type) {
  switch (type) {
    case Type::Int:
      return "int";
    case Type::Double:
      return "double";
    case Type::Bool:
      return "bool";
    case Type::String:
      return "string";
    case Type::Time:
      return "time";
    case Type::Duration:
      return "duration";
  }
  return "?";
}

std::optional<Type> parse_type(std::string_view name) {
  for (Type t : {Type::Int, Type::Double, Type::Bool, Type::String, Type::Time, Type::Duration}) {
    if (type_name(t) == name) return t;
  }
  return std::nullopt;
}

Value default_value(Type type) {
  switch (type) {
    case Type::Double:
      return std::numeric_limits<double>::quiet_NaN();
    case Type::Bool:
      return false;
    case Type::String:
      return std::string();
    default:
      return int64_t{0};
  }
}

bool is_valid_name(std::string_view name) {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace tickflow
