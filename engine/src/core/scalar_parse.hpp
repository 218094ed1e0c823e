// Parsing of YAML scalar text into typed values, shared by the binder (shape checks)
// and BindContext's typed getters so both agree on what is valid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tickflow/config.hpp"
#include "tickflow/ep.hpp"

namespace tickflow::detail {

std::optional<int64_t> parse_int(std::string_view text);
// Accepts decimal and exponent forms, nan, inf, -inf (case-insensitive, also .nan/.inf).
std::optional<double> parse_double(std::string_view text);
std::optional<bool> parse_bool(std::string_view text);

// Checks that `value` has the shape `type` requires; returns an error message or "".
std::string check_param_shape(ParamType type, const ConfigNode& value);

}  // namespace tickflow::detail
