// EpBind, the BindContext test double of the unit tests that bind one EP directly
// (test_basic_eps.cpp, the state EP tests, test_output_files.cpp).
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tickflow/config.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/registry.hpp"

namespace bind_test {

using namespace tickflow;

// One use_state call.
struct StateUse {
  std::string name;
  BindContext::StateAccess access;
  std::string location;
};

// Just enough of the engine's BindContext: parameters from a YAML snippet (defaults from
// the EP's ParamSpecs), inputs and the query given by the test; errors, the declared
// output, the accumulation and use_state calls recorded.
class EpBind : public BindContext {
 public:
  EpBind(const Registry& registry, const std::string& ep, const std::string& params_yaml,
         std::vector<SchemaPtr> inputs = {}, QueryInfo query = {})
      : definition_(registry.find(ep)), query_(std::move(query)) {
    REQUIRE_MESSAGE(definition_ != nullptr, ep);
    Diagnostics diags;
    params_ = parse_yaml(params_yaml.empty() ? "{}" : params_yaml, "test.yaml", diags);
    REQUIRE_MESSAGE(!diags.has_errors(), params_yaml);
    for (const auto& spec : definition_->params) {
      if (params_.find(spec.name) || spec.default_value.empty()) continue;
      defaults_[spec.name] = parse_yaml(spec.default_value, "<default>", diags);
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      inputs_.push_back({"up" + std::to_string(i), inputs[i], true, {"test.yaml", 1, 1}});
    }
  }

  OperatorFactory bind() { return definition_->bind(*this); }

  const std::string& node_id() const override { return node_id_; }
  const Location& node_location() const override { return node_location_; }
  const QueryInfo& query() const override { return query_; }
  size_t input_count() const override { return inputs_.size(); }
  const InputInfo& input(size_t i) const override { return inputs_.at(i); }
  const ConfigNode* param(std::string_view name) const override {
    if (const ConfigNode* given = params_.find(name)) return given;
    auto it = defaults_.find(std::string(name));
    return it == defaults_.end() ? nullptr : &it->second;
  }
  std::string substitute(const std::string& text, const Location&) override { return text; }
  void error(const Location& loc, std::string message, ErrorKind) override {
    errors.push_back(loc.to_string() + ": " + message);
  }
  bool has_errors() const override { return !errors.empty(); }
  // Records port 0 (the tests' subject); further ports (generate's `quotes`) only counted.
  void set_output(size_t port, SchemaPtr schema, bool time_ordered) override {
    if (port != 0) {
      ++other_ports_set;
      return;
    }
    ++outputs_set;
    output_schema = std::move(schema);
    output_time_ordered = time_ordered;
  }
  void set_accumulation(Accumulation acc) override { accumulation = std::move(acc); }
  void use_state(const StateVariable& variable, StateAccess access, const Location& loc) override {
    uses.push_back({variable.name, access, loc.to_string()});
  }

  void set_input_time_ordered(bool ordered) { inputs_.at(0).time_ordered = ordered; }

  bool used(const std::string& name, StateAccess access) const {
    for (const auto& u : uses) {
      if (u.name == name && u.access == access) return true;
    }
    return false;
  }

  std::string all_errors() const {
    std::string text;
    for (const auto& e : errors) text += e + "\n";
    return text;
  }

  std::vector<std::string> errors;
  std::vector<StateUse> uses;
  int outputs_set = 0;      // set_output calls
  int other_ports_set = 0;  // set_output calls for ports other than 0
  SchemaPtr output_schema;
  bool output_time_ordered = false;
  // Unbounded until the EP declares its accumulation, so that a check for "none" fails
  // when the EP declares nothing.
  Accumulation accumulation = Accumulation::unbounded();

 private:
  const EpDefinition* definition_;
  QueryInfo query_;
  ConfigNode params_;
  std::map<std::string, ConfigNode> defaults_;
  std::vector<InputInfo> inputs_;
  std::string node_id_ = "node";
  Location node_location_{"test.yaml", 1, 1};
};

}  // namespace bind_test
