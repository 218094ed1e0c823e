// `where`: splits ticks by a bool expression into the `pass` and `fail` ports.
//
// The condition is compiled once at bind time and evaluated column by column over whole
// batches; a lead X[+k] in it makes the node hold k ticks (tickflow/lookahead.hpp).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/expr.hpp"
#include "tickflow/lookahead.hpp"
#include "tickflow/row_selector.hpp"

namespace tickflow::eps {
namespace {

// Decides pass (port 0) or fail (port 1) by the condition; RowSelectingOperator moves the
// ticks, holds the lookahead a lead needs and skips a port nothing reads.
class WhereOperator : public RowSelectingOperator {
 public:
  WhereOperator(CompiledExprPtr condition, const RunContext& run)
      : RowSelectingOperator(condition->max_lead()),
        condition_(std::move(condition)),
        state_(condition_->make_state()),
        symbol_(run.symbol),
        state_reader_(run.state) {}

 private:
  static constexpr uint8_t kPass = 0, kFail = 1;

  void select(const Batch& window, size_t rows, std::vector<uint8_t>& ports) override {
    condition_->evaluate(window, rows, *state_, mask_, {symbol_, state_reader_});
    // Raw pointers: a byte store through the vector could alias its own data pointer, which
    // would keep the loop from vectorizing.
    const uint8_t* mask = mask_.bools().data();
    uint8_t* port = ports.data();
    for (size_t i = 0; i < rows; ++i) port[i] = mask[i] ? kPass : kFail;
  }

  CompiledExprPtr condition_;
  std::unique_ptr<ExprState> state_;
  std::string symbol_;
  const StateReader* state_reader_ = nullptr;
  Column mask_{Type::Bool};
};

OperatorFactory bind_where(BindContext& ctx) {
  ExprContext cx = make_expr_context(ctx, *ctx.input(0).schema);
  cx.required_type = Type::Bool;
  cx.what = "the 'if' condition";
  std::vector<Diagnostic> errors;
  CompiledExprPtr condition = compile_expr(*ctx.param("if"), cx, errors);
  report_expr_errors(ctx, errors);
  if (!condition) return {};
  ctx.reads_only(0, field_names_read(*condition, *ctx.input(0).schema));
  for (size_t port = 0; port < 2; ++port)
    ctx.set_output(port, ctx.input(0).schema, ctx.input(0).time_ordered);
  ctx.set_accumulation(lookahead_accumulation(condition->max_lead()));
  return [condition](const RunContext& run) {
    return std::make_unique<WhereOperator>(condition, run);
  };
}

// Shown by `tickflow eps where` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample where_example() {
  return {.query = R"~(# Large AAPL trades.
tickflow: 1
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
      - {TIMESTAMP: "2024-01-02 09:31:10", SYMBOL: AAPL, PRICE: 185.0, SIZE: 500}
      - {TIMESTAMP: "2024-01-02 09:31:30", SYMBOL: MSFT, PRICE: 371.0, SIZE: 100}
  large:
    ep: where
    in: trades
    if: SIZE >= 200 and SYMBOL == 'AAPL'
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:30:40.000000000,AAPL,185.5,200
2024-01-02 09:31:10.000000000,AAPL,185,500
)~"};
}

}  // namespace

void register_where(Registry& registry) {
  EpDefinition where;
  where.name = "where";
  where.example = where_example();
  where.doc =
      "Routes each tick by a bool expression: ticks where it is true go to port `pass` (the "
      "default port), the others to port `fail`. Both ports keep the input schema and order. A "
      "lead X[+k] in the condition makes the node hold k ticks.";
  where.inputs = {"in"};
  where.outputs = {"pass", "fail"};
  where.params = {
      {.name = "if", .type = ParamType::Expr, .required = true, .doc = "bool expression"}};
  where.accumulation = "none (bounded(k ticks) with a lead X[+k])";
  where.bind = bind_where;
  registry.add(std::move(where));
}

}  // namespace tickflow::eps
