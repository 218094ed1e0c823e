// Query parameters (`params:`): reading the declarations, checking defaults and
// --param values against their types, and filling Query::params and QueryInfo::params.
#include "load/query_params.hpp"

#include <algorithm>

#include "core/scalar_parse.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow::detail {

namespace {

bool value_fits(Type type, const std::string& value) {
  switch (type) {
    case Type::Int:
      return detail::parse_int(value).has_value();
    case Type::Double:
      return detail::parse_double(value).has_value();
    case Type::Bool:
      return detail::parse_bool(value).has_value();
    case Type::Time:
      return parse_time_or_nanos(value).has_value();
    case Type::Duration:
      return parse_duration(value).has_value();
    case Type::String:
      return true;
  }
  return false;
}

void read_param(const ConfigNode::Entry& e, const QueryOverrides& overrides, Query& query,
                Diagnostics& diags) {
  if (!is_valid_name(e.key)) {
    diags.error(e.key_location, "invalid parameter name '" + e.key + "'");
    return;
  }
  QueryParam p{e.key, Type::String, "", e.key_location};
  if (!e.value.is_mapping()) {
    diags.error(e.value.location(), "parameter '" + e.key + "' must be {type: T, default: V}");
    return;
  }
  for (const auto& f : e.value.entries()) {
    if (f.key != "type" && f.key != "default" && f.key != "doc") {
      diags.error(f.key_location, "unknown key '" + f.key + "' in parameter '" + e.key + "'" +
                                      did_you_mean(f.key, {"type", "default", "doc"}));
    }
  }
  const ConfigNode* type = e.value.find("type");
  if (!type) {
    diags.error(e.value.location(), "parameter '" + e.key + "' needs a 'type:'");
    return;
  }
  auto t = parse_type(type->text());
  if (!t) {
    diags.error(type->location(), "unknown type '" + type->text() + "'" +
                                      did_you_mean(type->text(), {"int", "double", "bool", "string",
                                                                  "time", "duration"}));
    return;
  }
  p.type = *t;
  if (const ConfigNode* def = e.value.find("default")) {
    if (!def->is_scalar() || !value_fits(p.type, def->text())) {
      diags.error(def->location(), "default of parameter '" + e.key + "' is not a " +
                                       std::string(type_name(p.type)));
      return;
    }
    p.value = def->text();
  } else {
    auto it = std::find_if(overrides.params.begin(), overrides.params.end(),
                           [&](const auto& kv) { return kv.first == e.key; });
    if (it == overrides.params.end()) {
      diags.error(e.key_location, "parameter '" + e.key +
                                      "' has no default; give it with --param " + e.key + "=VALUE");
    }
  }
  query.params.push_back(std::move(p));
}

}  // namespace

void read_params(const ConfigNode& root, const QueryOverrides& overrides, Query& query,
                 Diagnostics& diags) {
  const ConfigNode* params = root.find("params");
  if (params && !params->is_null()) {
    if (!params->is_mapping()) {
      diags.error(params->location(), "'params:' must map names to {type: T, default: V}");
    } else {
      for (const auto& e : params->entries()) read_param(e, overrides, query, diags);
    }
  }
  for (const auto& [name, value] : overrides.params) {
    const std::string& wanted = name;  // clang 14 cannot capture a structured binding
    auto it = std::find_if(query.params.begin(), query.params.end(),
                           [&](const QueryParam& p) { return p.name == wanted; });
    if (it == query.params.end()) {
      std::vector<std::string> names;
      for (const auto& p : query.params) names.push_back(p.name);
      diags.error({"--param", 0, 0}, "--param " + name + ": the query declares no parameter '" +
                                         name + "'" + did_you_mean(name, names));
      continue;
    }
    if (!value_fits(it->type, value)) {
      diags.error({"--param", 0, 0}, "--param " + name + "=" + value +
                                         ": expected a value of type " +
                                         std::string(type_name(it->type)));
      continue;
    }
    it->value = value;
  }
  for (const auto& p : query.params) query.info.params.push_back({p.name, p.type, p.value});
}

}  // namespace tickflow::detail
