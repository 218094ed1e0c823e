// The loader's per-node view of a query file (RawNode, InputRefText) and NodeBindContext,
// the BindContext an EP's bind() sees for one node: its parameters (with defaults),
// ${NAME} substitution of query parameters, inputs, declared outputs and errors.
// Internal to query_loader.cpp.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "load/field_use.hpp"
#include "tickflow/config.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/query.hpp"

namespace tickflow::detail {

struct InputRefText {
  std::string node;
  std::string port;  // "" = default port
  Location location;
  std::string text;
};

struct RawNode {
  std::string id;
  Location id_location;
  const ConfigNode* body = nullptr;
  std::string ep;
  Location ep_location;
  const EpDefinition* definition = nullptr;
  std::vector<InputRefText> inputs;
  Location in_location;
  bool broken = false;  // binding failed: downstream checks are skipped
};

class NodeBindContext : public BindContext {
 public:
  NodeBindContext(const RawNode& raw, BoundNode& bound, const QueryInfo& info,
                  const std::vector<QueryParam>& params,
                  const std::map<std::string, ConfigNode>& defaults, Diagnostics& diags,
                  FieldUse& field_use)
      : raw_(raw),
        bound_(bound),
        info_(info),
        params_(params),
        defaults_(defaults),
        diags_(diags),
        field_use_(field_use) {}

  const std::string& node_id() const override { return raw_.id; }
  const Location& node_location() const override { return raw_.ep_location; }
  const QueryInfo& query() const override { return info_; }
  size_t input_count() const override { return bound_.input_infos.size(); }
  const InputInfo& input(size_t i) const override { return bound_.input_infos.at(i); }

  const ConfigNode* param(std::string_view name) const override;
  std::string substitute(const std::string& text, const Location& loc) override;

  void error(const Location& loc, std::string message,
             ErrorKind kind = ErrorKind::Validation) override;
  bool has_errors() const override { return failed_; }
  void report(Diagnostic diagnostic) override;

  void set_output(size_t port, SchemaPtr schema, bool time_ordered) override;
  void set_accumulation(Accumulation acc) override { bound_.accumulation = std::move(acc); }
  void use_state(const StateVariable& variable, StateAccess access, const Location& loc) override;
  void reads_only(size_t input, std::vector<std::string> fields) override;
  const std::vector<std::string>* fields_used(size_t port) override;

 private:
  const RawNode& raw_;
  BoundNode& bound_;
  const QueryInfo& info_;
  const std::vector<QueryParam>& params_;
  const std::map<std::string, ConfigNode>& defaults_;
  Diagnostics& diags_;
  FieldUse& field_use_;
  bool failed_ = false;
};

}  // namespace tickflow::detail
