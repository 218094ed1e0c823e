// Scalar types of tickflow ticks (SPEC §1) and the helpers every EP needs to read,
// write and compare them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tickflow {

// The six tick field types. `Time` is nanoseconds since the Unix epoch (UTC);
// `Duration` is nanoseconds. Both are stored as int64_t.
enum class Type : uint8_t { Int, Double, Bool, String, Time, Duration };

// "int", "double", "bool", "string", "time", "duration".
std::string_view type_name(Type type);
// Inverse of type_name; nullopt for anything else.
std::optional<Type> parse_type(std::string_view name);
// True for the types stored as int64_t in a Column (Int, Time, Duration).
inline bool is_int64_backed(Type t) {
  return t == Type::Int || t == Type::Time || t == Type::Duration;
}

// One field value. Time and Duration travel as int64_t; the Type that goes with
// a Value always comes from the schema.
using Value = std::variant<int64_t, double, bool, std::string>;

// The default value of a type (SPEC §1): 0, NaN, false, "", epoch, 0ns.
Value default_value(Type type);

// A valid field or node name: [A-Za-z_][A-Za-z0-9_]*
bool is_valid_name(std::string_view name);

}  // namespace tickflow
