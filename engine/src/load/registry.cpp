#include "tickflow/registry.hpp"

#include <stdexcept>

#include "core/scalar_parse.hpp"

namespace tickflow {
namespace {

// `file` as given by the compiler (absolute, or relative to the build directory when a
// compiler cache rewrites paths) relative to the source tree.
std::string source_tree_path(std::string_view file) {
#ifdef TICKFLOW_SOURCE_DIR
  const std::string_view root = TICKFLOW_SOURCE_DIR "/";
  if (file.starts_with(root)) return std::string(file.substr(root.size()));
#endif
  while (file.starts_with("../") || file.starts_with("./")) file.remove_prefix(file.find('/') + 1);
  return std::string(file);
}

}  // namespace

void Registry::add(EpDefinition definition, const char* caller_file) {
  if (!origin_.empty()) {
    definition.origin = origin_;
    definition.source = origin_;
  } else if (definition.source.empty()) {
    definition.source = source_tree_path(caller_file);
  }
  if (!is_valid_name(definition.name)) {
    throw std::invalid_argument("invalid EP name '" + definition.name + "'");
  }
  if (!definition.bind) {
    throw std::invalid_argument("EP '" + definition.name + "' has no bind function");
  }
  for (const auto& p : definition.params) {
    if (p.name == "ep" || p.name == "in") {
      throw std::invalid_argument("EP '" + definition.name + "' declares reserved parameter '" +
                                  p.name + "'");
    }
    if (!p.default_value.empty()) {
      Diagnostics diags;
      ConfigNode node = parse_yaml(p.default_value, "<default>", diags);
      std::string problem =
          diags.has_errors() ? diags.items()[0].message : detail::check_param_shape(p.type, node);
      if (!problem.empty()) {
        throw std::invalid_argument("EP '" + definition.name + "' parameter '" + p.name +
                                    "' has a bad default: " + problem);
      }
    }
  }
  auto existing = definitions_.find(definition.name);
  if (existing != definitions_.end()) {
    throw std::invalid_argument("EP '" + definition.name + "' is already registered (by " +
                                existing->second.origin + ")");
  }
  std::string name = definition.name;
  definitions_.emplace(std::move(name), std::move(definition));
}

const EpDefinition* Registry::find(std::string_view name) const {
  auto it = definitions_.find(name);
  return it == definitions_.end() ? nullptr : &it->second;
}

std::vector<const EpDefinition*> Registry::all() const {
  std::vector<const EpDefinition*> out;
  for (const auto& [name, def] : definitions_) out.push_back(&def);
  return out;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, def] : definitions_) out.push_back(name);
  return out;
}

}  // namespace tickflow
