// `fields: {NAME: type}` of a source EP (csv, push), read at bind time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tickflow/ep.hpp"

namespace tickflow::eps {

struct GivenType {
  std::string name;
  Type type;
  Location location;  // of the name in `fields:`
};

// The entries of mapping parameter `param` in order (none when it is absent). An unknown
// type is reported at its value with "did you mean"; nullopt when any was.
std::optional<std::vector<GivenType>> read_given_types(BindContext& ctx, std::string_view param);

}  // namespace tickflow::eps
