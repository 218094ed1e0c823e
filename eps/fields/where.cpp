// `where`: splits ticks by a bool expression into the `pass` and `fail` ports.
//
// The condition is compiled once at bind time and evaluated column by column over whole
// batches; a lead X[+k] in it makes the node hold k ticks (see lookahead.hpp).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "builtin.hpp"
#include "lookahead.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/expr.hpp"

namespace tickflow::eps {
namespace {

// Splits rows by `mask` into `pass` (mask set) and `fail`, moving strings.
void split_rows(Batch& batch, const std::vector<uint8_t>& mask, size_t pass_count, Batch& pass,
                Batch& fail) {
  const size_t rows = batch.size();
  auto split = [&](auto& from, auto& to_pass, auto& to_fail) {
    to_pass.resize(pass_count);
    to_fail.resize(rows - pass_count);
    size_t p = 0, f = 0;
    for (size_t i = 0; i < rows; ++i) {
      if (mask[i]) {
        to_pass[p++] = std::move(from[i]);
      } else {
        to_fail[f++] = std::move(from[i]);
      }
    }
  };
  split(batch.times, pass.times, fail.times);
  for (size_t c = 0; c < batch.columns.size(); ++c) {
    Column& from = batch.columns[c];
    with_value_type(from.type(), [&]<class T>() {
      split(from.values<T>(), pass.columns[c].values<T>(), fail.columns[c].values<T>());
    });
  }
}

// Keeps the `keep_count` rows of `batch` whose mask is `wanted` (1: pass, 0: fail), in place:
// what a where with one port unread emits.
void keep_rows(Batch& batch, const std::vector<uint8_t>& mask, uint8_t wanted, size_t keep_count) {
  const size_t rows = batch.size();
  auto keep = [&](auto& values) {
    size_t k = 0;
    for (size_t i = 0; i < rows; ++i) {
      if ((mask[i] != 0) != (wanted != 0)) continue;
      // No self-move: a moved-onto-itself std::string may come out empty.
      if (k != i) values[k] = std::move(values[i]);
      ++k;
    }
    values.resize(keep_count);
  };
  keep(batch.times);
  for (Column& column : batch.columns) {
    with_value_type(column.type(), [&]<class T>() { keep(column.values<T>()); });
  }
}

class WhereOperator : public Operator {
 public:
  WhereOperator(CompiledExprPtr condition, const RunContext& run)
      : condition_(std::move(condition)),
        state_(condition_->make_state()),
        stage_(condition_->max_lead()),
        symbol_(run.symbol),
        state_reader_(run.state) {}

  void process(size_t, Batch&& batch, OutputSink& out) override {
    stage_.push(std::move(batch), [&](Batch& window, size_t rows) { route(window, rows, out); });
  }
  void finish(OutputSink& out) override {
    stage_.finish([&](Batch& window, size_t rows) { route(window, rows, out); });
  }
  Held held() const override { return stage_.held(); }

 private:
  static constexpr size_t kPass = 0, kFail = 1;

  void route(Batch& window, size_t rows, OutputSink& out) {
    condition_->evaluate(window, rows, *state_, mask_, {symbol_, state_reader_});
    truncate_rows(window, rows);
    const auto& mask = mask_.bools();
    size_t pass_count = 0;
    for (size_t i = 0; i < rows; ++i) pass_count += mask[i] != 0;
    if (pass_count == rows) {
      out.emit(kPass, std::move(window));
      return;
    }
    // A port nothing reads gets no ticks: they are neither split off nor emitted.
    const bool pass_read = out.connected(kPass), fail_read = out.connected(kFail);
    if (!pass_read || !fail_read) {
      const size_t port = pass_read ? kPass : kFail;
      const size_t count = pass_read ? pass_count : rows - pass_count;
      if ((!pass_read && !fail_read) || count == 0) return;
      keep_rows(window, mask, port == kPass ? 1 : 0, count);
      out.emit(port, std::move(window));
      return;
    }
    if (pass_count == 0) {
      out.emit(kFail, std::move(window));
      return;
    }
    Batch pass(window.schema), fail(window.schema);
    split_rows(window, mask, pass_count, pass, fail);
    out.emit(kPass, std::move(pass));
    out.emit(kFail, std::move(fail));
  }

  CompiledExprPtr condition_;
  std::unique_ptr<ExprState> state_;
  Lookahead stage_;
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
  for (size_t port = 0; port < 2; ++port)
    ctx.set_output(port, ctx.input(0).schema, ctx.input(0).time_ordered);
  ctx.set_accumulation(lookahead_accumulation(condition->max_lead()));
  return [condition](const RunContext& run) {
    return std::make_unique<WhereOperator>(condition, run);
  };
}

}  // namespace

void register_where(Registry& registry) {
  EpDefinition where;
  where.name = "where";
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
