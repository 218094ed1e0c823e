// What an EP hands the expression compiler: the usual ExprContext (query parameters as typed
// constants, state variables recorded as read by the node) and the error reporting back to
// the EP's BindContext.
#include "core/scalar_parse.hpp"
#include "expr/check.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/expr.hpp"
#include "tickflow/time.hpp"

namespace tickflow {

ExprContext make_expr_context(BindContext& bind, const Schema& schema) {
  // The loader has checked every value against its declared type, so parsing cannot fail;
  // a value that still does not parse (no default and no --param, already reported) is
  // left out and $NAME then reads as unknown.
  auto values = std::make_shared<std::vector<std::pair<std::string, TypedValue>>>();
  ExprContext context;
  context.schema = &schema;
  context.time_zone = bind.query().time_zone;
  for (const auto& p : bind.query().params) {
    context.param_names.push_back(p.name);
    std::optional<Value> value;
    switch (p.type) {
      case Type::Int:
        if (auto v = detail::parse_int(p.value)) value = *v;
        break;
      case Type::Double:
        if (auto v = detail::parse_double(p.value)) value = *v;
        break;
      case Type::Bool:
        if (auto v = detail::parse_bool(p.value)) value = *v;
        break;
      case Type::Time:
        if (auto v = parse_time_or_nanos(p.value)) value = *v;
        break;
      case Type::Duration:
        if (auto v = parse_duration(p.value)) value = *v;
        break;
      case Type::String:
        value = p.value;
        break;
    }
    if (value) values->emplace_back(p.name, TypedValue{p.type, std::move(*value)});
  }
  context.param = [values](std::string_view name) -> std::optional<TypedValue> {
    for (const auto& [param_name, value] : *values) {
      if (param_name == name) return value;
    }
    return std::nullopt;
  };
  for (const auto& v : bind.query().state) context.state_names.push_back(v.name);
  BindContext* reader = &bind;
  context.state = [reader](std::string_view name) -> std::optional<StateRef> {
    const StateVariable* variable = reader->find_state(name);
    if (!variable) return std::nullopt;
    reader->use_state(*variable, BindContext::StateAccess::Read, reader->node_location());
    return StateRef{variable->type, variable->id, variable};
  };
  return context;
}

void report_expr_errors(BindContext& bind, const std::vector<Diagnostic>& errors) {
  for (const auto& d : errors) bind.report(d);
}

std::vector<std::string> expr_function_names() {
  return expr::function_names();
}

}  // namespace tickflow
