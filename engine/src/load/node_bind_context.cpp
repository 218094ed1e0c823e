// NodeBindContext: what an EP's bind() sees of one node of the query being loaded.
#include "load/node_bind_context.hpp"

#include <algorithm>
#include <stdexcept>

#include "tickflow/util.hpp"

namespace tickflow::detail {

const ConfigNode* NodeBindContext::param(std::string_view name) const {
  if (const ConfigNode* given = raw_.body->find(name)) {
    if (!given->is_null()) return given;
  }
  auto it = defaults_.find(std::string(name));
  return it == defaults_.end() ? nullptr : &it->second;
}

std::string NodeBindContext::substitute(const std::string& text, const Location& loc) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("${", pos);
    if (open == std::string::npos) break;
    size_t close = text.find('}', open);
    if (close == std::string::npos) break;
    out.append(text, pos, open - pos);
    std::string name = text.substr(open + 2, close - open - 2);
    auto it = std::find_if(params_.begin(), params_.end(),
                           [&](const QueryParam& p) { return p.name == name; });
    if (it == params_.end()) {
      std::vector<std::string> names;
      for (const auto& p : params_) names.push_back(p.name);
      error(loc, "unknown query parameter '${" + name + "}'" + did_you_mean(name, names));
    } else {
      out += it->value;
    }
    pos = close + 1;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

void NodeBindContext::error(const Location& loc, std::string message, ErrorKind kind) {
  diags_.error(loc, "node '" + raw_.id + "': " + message, kind);
  failed_ = true;
}

void NodeBindContext::report(Diagnostic diagnostic) {
  diagnostic.message = "node '" + raw_.id + "': " + diagnostic.message;
  diags_.add(std::move(diagnostic));
  failed_ = true;
}

void NodeBindContext::set_output(size_t port, SchemaPtr schema, bool time_ordered) {
  if (port >= bound_.output_schemas.size()) {
    throw std::logic_error("EP '" + raw_.ep + "' set output port " + std::to_string(port) +
                           " but declares " + std::to_string(bound_.output_schemas.size()));
  }
  bound_.output_schemas[port] = std::move(schema);
  bound_.output_time_ordered[port] = time_ordered;
}

void NodeBindContext::use_state(const StateVariable& variable, StateAccess access,
                                const Location& loc) {
  auto& ids = access == StateAccess::Write ? bound_.state_writes : bound_.state_reads;
  if (std::find(ids.begin(), ids.end(), variable.id) == ids.end()) ids.push_back(variable.id);
  if (access == StateAccess::Write && variable.query_scope) {
    error(loc, "state variable '" + variable.name +
                   "' has scope: query and is read-only (it is shared by every symbol's run)");
  }
}

void NodeBindContext::reads_only(size_t input, std::vector<std::string> fields) {
  if (input >= bound_.input_infos.size()) {
    throw std::logic_error("EP '" + raw_.ep + "' declared the fields it reads of input " +
                           std::to_string(input) + " but has " +
                           std::to_string(bound_.input_infos.size()));
  }
  field_use_.reads.resize(bound_.input_infos.size());
  auto& reads = field_use_.reads[input];
  if (!reads) reads.emplace();
  reads->insert(reads->end(), fields.begin(), fields.end());
}

const std::vector<std::string>* NodeBindContext::fields_used(size_t port) {
  if (port >= bound_.output_schemas.size()) {
    throw std::logic_error("EP '" + raw_.ep + "' asked for the fields used of output port " +
                           std::to_string(port) + " but declares " +
                           std::to_string(bound_.output_schemas.size()));
  }
  field_use_.asked.resize(bound_.output_schemas.size());
  field_use_.asked[port] = true;
  if (port < field_use_.used.size() && field_use_.used[port]) return &*field_use_.used[port];
  return nullptr;
}

}  // namespace tickflow::detail
