// Fuzz target: the expression compiler and evaluator. The text is compiled against a
// schema with a field of every type and two parameters; what compiles is evaluated over
// a three-tick batch (run-time errors are RuntimeError, anything else is a bug).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tickflow/batch.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/expr.hpp"

using namespace tickflow;

namespace {

const SchemaPtr& schema() {
  static const SchemaPtr s = make_schema({{"PRICE", Type::Double},
                                          {"SIZE", Type::Int},
                                          {"NAME", Type::String},
                                          {"FLAG", Type::Bool},
                                          {"T", Type::Time},
                                          {"D", Type::Duration}});
  return s;
}

Batch sample_batch() {
  Batch b(schema());
  const int64_t times[] = {INT64_MIN + 1, 0, INT64_MAX};
  const double prices[] = {-0.0, 1e308, -1.5};
  const int64_t sizes[] = {INT64_MIN, -1, INT64_MAX};
  for (size_t i = 0; i < 3; ++i) {
    b.times.push_back(times[i]);
    b.columns[0].doubles().push_back(prices[i]);
    b.columns[1].ints().push_back(sizes[i]);
    b.columns[2].strings().push_back(i == 1 ? std::string("\xff\xfe") : "x");
    b.columns[3].bools().push_back(i % 2);
    b.columns[4].ints().push_back(times[2 - i]);
    b.columns[5].ints().push_back(sizes[2 - i]);
  }
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ExprContext context;
  context.schema = schema().get();
  context.param = [](std::string_view name) -> std::optional<TypedValue> {
    if (name == "N") return TypedValue{Type::Int, int64_t{3}};
    if (name == "S") return TypedValue{Type::String, std::string("abc")};
    return std::nullopt;
  };
  context.param_names = {"N", "S"};
  std::vector<Diagnostic> errors;
  CompiledExprPtr expr = compile_expr(text, Location{"q.yaml", 1, 1}, false, context, errors);
  if (!expr) {
    if (errors.empty()) __builtin_trap();  // a failure must say why
    return 0;
  }
  static const Batch batch = sample_batch();
  auto state = expr->make_state();
  Column out(expr->type());
  try {
    expr->evaluate(batch, *state, out, EvalInfo{});
    expr->evaluate(batch, *state, out, EvalInfo{});
  } catch (const RuntimeError&) {
  }
  return 0;
}
