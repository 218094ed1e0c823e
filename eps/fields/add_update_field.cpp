// `add_field` and `update_field`: fields set from expressions (`where` is in where.cpp).
//
// Every expression is compiled once at bind time and evaluated column by column over
// whole batches. Each expression with a lead X[+k] is a stage that holds k ticks (see
// lookahead.hpp); stages run in order, so a later add_field entry reading an earlier one
// sees its values for the lookahead ticks too, and the node holds the sum of the leads.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/expr.hpp"
#include "tickflow/lookahead.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps {
namespace {

// One compiled expression and what it updates. Shared, immutable, by every run.
struct Step {
  CompiledExprPtr expr;
  size_t column = 0;      // add_field: the new column; update_field: the column replaced
  SchemaPtr schema;       // add_field: the schema once this step's column is added
  bool is_where = false;  // update_field: the `where:` mask, carried as an extra column
};
using Steps = std::shared_ptr<const std::vector<Step>>;

// Declares bounded accumulation when the steps have leads.
void declare_accumulation(BindContext& ctx, const std::vector<Step>& steps) {
  size_t total = 0;
  for (const Step& step : steps) total += step.expr->max_lead();
  ctx.set_accumulation(lookahead_accumulation(total));
}

// `rows` values of `source` into column `target` where mask[i] is set (update_field's
// `where:`), or all of them without a mask.
void store_result(Column& target, Column&& source, const uint8_t* mask, size_t rows) {
  if (!mask) {
    target = std::move(source);
    return;
  }
  with_value_type(target.type(), [&]<class T>() {
    auto& to = target.values<T>();
    auto& from = source.values<T>();
    for (size_t i = 0; i < rows; ++i) {
      if (!mask[i]) continue;
      if constexpr (std::is_same_v<T, std::string>) {
        to.set_from(i, from, i);
      } else {
        to[i] = from[i];
      }
    }
  });
}

// Runs the steps of one node in order over a stream, each behind its own lookahead.
class StepRunner {
 public:
  StepRunner(Steps steps, std::string symbol, const StateReader* state)
      : steps_(std::move(steps)), symbol_(std::move(symbol)), state_reader_(state) {
    for (const Step& step : *steps_) {
      stages_.emplace_back(step.expr->max_lead());
      states_.push_back(step.expr->make_state());
    }
  }

  // Feeds `batch` to step `first`; `done` receives every batch all steps have finished.
  template <class Done>
  void push(size_t first, Batch&& batch, Done& done) {
    if (first == steps_->size()) {
      if (!batch.empty()) done(std::move(batch));
      return;
    }
    stages_[first].push(std::move(batch),
                        [&](Batch& window, size_t rows) { run_step(first, window, rows, done); });
  }

  template <class Done>
  void finish(Done& done) {
    for (size_t i = 0; i < stages_.size(); ++i) {
      stages_[i].finish([&](Batch& window, size_t rows) { run_step(i, window, rows, done); });
    }
  }

  Held held() const {
    Held total;
    for (const auto& stage : stages_) {
      Held h = stage.held();
      total.ticks += h.ticks;
      total.bytes += h.bytes;
    }
    return total;
  }

 private:
  template <class Done>
  void run_step(size_t i, Batch& window, size_t rows, Done& done) {
    const Step& step = (*steps_)[i];
    const uint8_t* mask =
        mask_column_ && !step.is_where ? window.columns[*mask_column_].bools().data() : nullptr;
    Column result(step.expr->type());
    step.expr->evaluate(window, rows, *states_[i], result, {symbol_, state_reader_}, mask);
    truncate_rows(window, rows);
    if (step.is_where) {
      mask_column_ = window.columns.size();
      window.columns.push_back(std::move(result));
    } else if (step.schema) {
      window.columns.push_back(std::move(result));
      window.schema = step.schema;
    } else {
      store_result(window.columns[step.column], std::move(result), mask, rows);
    }
    push(i + 1, std::move(window), done);
  }

  Steps steps_;
  std::string symbol_;
  const StateReader* state_reader_ = nullptr;
  std::vector<Lookahead> stages_;
  std::vector<std::unique_ptr<ExprState>> states_;
  std::optional<size_t> mask_column_;  // update_field with `where:`
};

// ---------------------------------------------------------------- add_field / update_field

class SetFieldsOperator : public Operator {
 public:
  SetFieldsOperator(Steps steps, const RunContext& run, bool has_mask)
      : runner_(std::move(steps), run.symbol, run.state), has_mask_(has_mask) {}

  void process(size_t, Batch&& batch, OutputSink& out) override {
    auto done = [&](Batch&& ready) { emit(std::move(ready), out); };
    runner_.push(0, std::move(batch), done);
  }
  void finish(OutputSink& out) override {
    auto done = [&](Batch&& ready) { emit(std::move(ready), out); };
    runner_.finish(done);
  }
  Held held() const override { return runner_.held(); }

 private:
  void emit(Batch&& batch, OutputSink& out) {
    if (has_mask_) batch.columns.pop_back();
    out.emit(0, std::move(batch));
  }

  StepRunner runner_;
  bool has_mask_;
};

// Compiles one `set:` entry; errors go to `errors`. A name whose own expression failed
// is remembered so that later entries reading it do not add "unknown field" noise.
CompiledExprPtr compile_entry(BindContext& ctx, const ConfigNode::Entry& entry,
                              const Schema& schema, std::optional<Type> required,
                              const std::vector<std::string>& failed_names,
                              std::vector<Diagnostic>& errors) {
  ExprContext cx = make_expr_context(ctx, schema);
  cx.required_type = required;
  cx.what = "the value of " + entry.key;
  std::vector<Diagnostic> own;
  CompiledExprPtr expr = compile_expr(entry.value, cx, own);
  for (auto& d : own) {
    bool noise = false;
    for (const auto& name : failed_names)
      noise |= d.message.starts_with("unknown field '" + name + "'");
    if (!noise) errors.push_back(std::move(d));
  }
  return expr;
}

OperatorFactory bind_add_field(BindContext& ctx) {
  const Schema& input = *ctx.input(0).schema;
  const bool run_has_symbols = !ctx.query().symbols.empty();
  std::vector<Field> fields = input.fields();
  SchemaPtr current = ctx.input(0).schema;
  std::vector<Step> steps;
  std::vector<std::string> failed_names;
  std::vector<Diagnostic> errors;
  bool ok = true;
  for (const auto& entry : ctx.param("set")->entries()) {
    const std::string& name = entry.key;
    bool name_ok = false;
    if (!is_valid_name(name)) {
      ctx.error(entry.key_location, "'" + name +
                                        "' is not a valid field name (letters, digits "
                                        "and _, not starting with a digit)");
    } else if (name == "TIMESTAMP" || current->contains(name)) {
      ctx.error(entry.key_location, "field " + name +
                                        " already exists; add_field adds new fields, "
                                        "update_field changes existing ones");
    } else if (name == "SYMBOL" && run_has_symbols) {
      ctx.error(entry.key_location,
                "SYMBOL is the run's symbol in a run with symbols and cannot be added");
    } else {
      name_ok = true;
    }
    CompiledExprPtr expr = compile_entry(ctx, entry, *current, std::nullopt, failed_names, errors);
    if (!expr || !name_ok) {
      ok = false;
      if (name_ok) failed_names.push_back(name);
      continue;
    }
    ctx.reads_only(0, field_names_read(*expr, *current));
    fields.push_back({name, expr->type()});
    current = make_schema(fields);
    steps.push_back({expr, fields.size() - 1, current, false});
  }
  report_expr_errors(ctx, errors);
  if (!ok || !errors.empty()) return {};
  ctx.set_output(0, current, ctx.input(0).time_ordered);
  declare_accumulation(ctx, steps);
  auto shared = std::make_shared<const std::vector<Step>>(std::move(steps));
  return [shared](const RunContext& run) {
    return std::make_unique<SetFieldsOperator>(shared, run, false);
  };
}

OperatorFactory bind_update_field(BindContext& ctx) {
  const Schema& input = *ctx.input(0).schema;
  std::vector<Step> steps;
  std::vector<Diagnostic> errors;
  bool ok = true;
  if (const ConfigNode* where = ctx.param("where")) {
    ExprContext cx = make_expr_context(ctx, input);
    cx.required_type = Type::Bool;
    cx.what = "the 'where' condition";
    if (auto expr = compile_expr(*where, cx, errors)) {
      ctx.reads_only(0, field_names_read(*expr, input));
      steps.push_back({expr, 0, nullptr, true});
    }
  }
  const std::vector<std::string> names = input.names();
  for (const auto& entry : ctx.param("set")->entries()) {
    const std::string& name = entry.key;
    std::optional<size_t> column = input.index_of(name);
    if (name == "TIMESTAMP") {
      ctx.error(entry.key_location,
                "TIMESTAMP cannot be set here (ticks must stay in time order); use "
                "update_timestamp");
      ok = false;
    } else if (!column) {
      ctx.error(entry.key_location, "no field " + name + " to update" + did_you_mean(name, names) +
                                        "; add_field adds new fields");
      ok = false;
    }
    const std::optional<Type> required =
        column ? std::optional<Type>(input[*column].type) : std::nullopt;
    CompiledExprPtr expr = compile_entry(ctx, entry, input, required, {}, errors);
    if (!expr || !column) continue;
    // The updated field must exist, so it counts as read.
    ctx.reads_only(0, {name});
    ctx.reads_only(0, field_names_read(*expr, input));
    steps.push_back({expr, *column, nullptr, false});
  }
  report_expr_errors(ctx, errors);
  if (!ok || !errors.empty()) return {};
  ctx.set_output(0, ctx.input(0).schema, ctx.input(0).time_ordered);
  declare_accumulation(ctx, steps);
  const bool has_mask = !steps.empty() && steps.front().is_where;
  auto shared = std::make_shared<const std::vector<Step>>(std::move(steps));
  return [shared, has_mask](const RunContext& run) {
    return std::make_unique<SetFieldsOperator>(shared, run, has_mask);
  };
}

// Shown by `tickflow eps add_field` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample add_field_example() {
  return {
      .query =
          R"~(# Notional of each trade, and whether it is large (a later entry reads an earlier one).
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
  notional:
    ep: add_field
    in: trades
    set:
      NOTIONAL: PRICE * SIZE
      LARGE: NOTIONAL >= 50000
)~",
      .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE,NOTIONAL,LARGE
2024-01-02 09:30:00.000000000,AAPL,185.25,100,18525,false
2024-01-02 09:30:20.000000000,MSFT,370.5,300,111150,true
2024-01-02 09:30:40.000000000,AAPL,185.5,200,37100,false
2024-01-02 09:31:10.000000000,AAPL,185,500,92500,true
2024-01-02 09:31:30.000000000,MSFT,371,100,37100,false
)~"};
}

// Shown by `tickflow eps update_field` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample update_field_example() {
  return {.query = R"~(# Odd lots (SIZE < 200) marked by a negative size.
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
  odd_lots_marked:
    ep: update_field
    in: trades
    where: SIZE < 200
    set:
      SIZE: -SIZE
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:30:00.000000000,AAPL,185.25,-100
2024-01-02 09:30:20.000000000,MSFT,370.5,300
2024-01-02 09:30:40.000000000,AAPL,185.5,200
2024-01-02 09:31:10.000000000,AAPL,185,500
2024-01-02 09:31:30.000000000,MSFT,371,-100
)~"};
}

}  // namespace

void register_add_update_field(Registry& registry) {
  const std::string lead_note =
      " An expression with a lead X[+k] makes the node hold k ticks (the leads of all entries "
      "add up).";
  EpDefinition add_field;
  add_field.name = "add_field";
  add_field.example = add_field_example();
  add_field.doc =
      "Adds fields computed by expressions. Entries are evaluated in order and a later entry may "
      "read the fields added before it; each NAME must be new. New fields are appended in "
      "declared order." +
      lead_note;
  add_field.inputs = {"in"};
  add_field.outputs = {"out"};
  add_field.params = {{.name = "set",
                       .type = ParamType::ExprMap,
                       .required = true,
                       .doc = "{NAME: expression, ...}: the fields to add, in order"}};
  add_field.accumulation = "none (bounded(k ticks) with leads X[+k])";
  add_field.bind = bind_add_field;
  registry.add(std::move(add_field));

  EpDefinition update_field;
  update_field.name = "update_field";
  update_field.example = update_field_example();
  update_field.doc =
      "Sets existing fields to the values of expressions. Entries are evaluated in order, each "
      "seeing the values set by the entries before it. The value must have the field's type (an "
      "int is accepted for a double field). With `where`, only ticks where the condition holds "
      "(evaluated on the incoming tick) are changed; the others pass unchanged." +
      lead_note;
  update_field.inputs = {"in"};
  update_field.outputs = {"out"};
  update_field.params = {{.name = "set",
                          .type = ParamType::ExprMap,
                          .required = true,
                          .doc = "{NAME: expression, ...}: the fields to set, in order"},
                         {.name = "where",
                          .type = ParamType::Expr,
                          .doc = "bool expression: which ticks to change (default all)"}};
  update_field.accumulation = "none (bounded(k ticks) with leads X[+k])";
  update_field.bind = bind_update_field;
  registry.add(std::move(update_field));
}

}  // namespace tickflow::eps
