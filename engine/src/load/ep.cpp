#include "tickflow/ep.hpp"

#include <filesystem>

#include "core/scalar_parse.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow {

std::string_view param_type_name(ParamType type) {
  switch (type) {
    case ParamType::Int:
      return "int";
    case ParamType::Double:
      return "double";
    case ParamType::Bool:
      return "bool";
    case ParamType::String:
      return "string";
    case ParamType::Duration:
      return "duration";
    case ParamType::Time:
      return "time";
    case ParamType::Expr:
      return "expr";
    case ParamType::Field:
      return "field";
    case ParamType::FieldList:
      return "field list";
    case ParamType::FieldTypes:
      return "field types";
    case ParamType::NameMap:
      return "name map";
    case ParamType::ExprMap:
      return "expr map";
    case ParamType::Rows:
      return "rows";
    case ParamType::Any:
      return "any";
  }
  return "?";
}

std::string Accumulation::to_string() const {
  switch (kind) {
    case Kind::None:
      return "none";
    case Kind::Bounded:
      return "bounded(" + bound + ")";
    case Kind::Unbounded:
      return "unbounded";
  }
  return "?";
}

namespace {

const ConfigNode& required(const BindContext& ctx, std::string_view name) {
  const ConfigNode* node = ctx.param(name);
  if (!node) {
    throw std::logic_error("EP '" + ctx.node_id() + "' read absent parameter '" +
                           std::string(name) + "' without a default");
  }
  return *node;
}

}  // namespace

Location BindContext::location(std::string_view name) const {
  const ConfigNode* node = param(name);
  return node && node->location().known() ? node->location() : node_location();
}

int64_t BindContext::get_int(std::string_view name) const {
  return detail::parse_int(required(*this, name).text()).value_or(0);
}

double BindContext::get_double(std::string_view name) const {
  return detail::parse_double(required(*this, name).text()).value_or(0.0);
}

bool BindContext::get_bool(std::string_view name) const {
  return detail::parse_bool(required(*this, name).text()).value_or(false);
}

std::string BindContext::get_string(std::string_view name) const {
  const ConfigNode& node = required(*this, name);
  return const_cast<BindContext*>(this)->substitute(node.text(), node.location());
}

TimeZone query_zone(const QueryInfo& query) {
  return TimeZone::find(query.time_zone).value_or(TimeZone{});
}

int64_t BindContext::get_duration(std::string_view name) const {
  return parse_duration(required(*this, name).text()).value_or(0);
}

int64_t BindContext::get_time(std::string_view name) const {
  // The parameter's form was checked against the schema; here a time without an offset is
  // read in the query's zone (SPEC §17).
  const ConfigNode& node = required(*this, name);
  const TimeZone zone = query_zone(query());
  if (auto t = zone.parse(node.text())) return *t;
  const_cast<BindContext*>(this)->error(
      node.location(),
      "'" + node.text() + "' is not a time in " + query().time_zone + time_range_hint(node.text()));
  return 0;
}

std::vector<std::string> BindContext::get_list(std::string_view name) const {
  const ConfigNode& node = required(*this, name);
  if (node.is_scalar()) return {node.text()};
  std::vector<std::string> out;
  for (const auto& item : node.items()) out.push_back(item.text());
  return out;
}

std::vector<std::pair<std::string, std::string>> BindContext::get_map(std::string_view name) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : required(*this, name).entries()) out.emplace_back(e.key, e.value.text());
  return out;
}

std::optional<size_t> BindContext::require_field(size_t input, const std::string& name,
                                                 const Location& loc) {
  const InputInfo& in = this->input(input);
  if (auto index = in.schema->index_of(name)) return index;
  std::vector<std::string> candidates = in.schema->names();
  candidates.push_back("TIMESTAMP");
  error(loc,
        "unknown field '" + name + "' in input '" + in.name + "'" + did_you_mean(name, candidates));
  return std::nullopt;
}

void BindContext::report(Diagnostic diagnostic) {
  std::string message = diagnostic.message;
  for (const auto& line : diagnostic.snippet) message += "\n" + line;
  error(diagnostic.location, std::move(message), diagnostic.kind);
}

const StateVariable* BindContext::find_state(std::string_view name) const {
  for (const auto& variable : query().state) {
    if (variable.name == name) return &variable;
  }
  return nullptr;
}

std::string BindContext::resolve_path(const std::string& path) const {
  std::filesystem::path p(path);
  if (p.is_absolute() || query().base_dir.empty()) return path;
  return (std::filesystem::path(query().base_dir) / p).lexically_normal().string();
}

}  // namespace tickflow
