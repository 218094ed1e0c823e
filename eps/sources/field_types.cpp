#include "sources/field_types.hpp"

#include "tickflow/util.hpp"

namespace tickflow::eps {

std::optional<std::vector<GivenType>> read_given_types(BindContext& ctx, std::string_view param) {
  std::vector<GivenType> given;
  const ConfigNode* fields = ctx.param(param);
  if (!fields) return given;
  bool ok = true;
  for (const auto& entry : fields->entries()) {
    const std::string& type_text = entry.value.text();
    if (auto type = parse_type(type_text)) {
      given.push_back({entry.key, *type, entry.key_location});
    } else {
      ctx.error(
          entry.value.location(),
          "unknown type '" + type_text + "' for field " + entry.key +
              "; expected int, double, bool, string, time or duration" +
              did_you_mean(type_text, {"int", "double", "bool", "string", "time", "duration"}));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return given;
}

}  // namespace tickflow::eps
