// `set_state`: assigns scalar state variables from expressions as ticks pass (SPEC §6).
//
// Every tick passes through unchanged. For each tick, in order: the `where:` condition
// (when given) decides whether the tick assigns; then the assignments run in declared
// order, each one stored before the next is evaluated, so `{A: state.A + 1, B: state.A * 2}`
// gives B the new A. When the expressions read a variable this node assigns, they are
// evaluated one tick at a time; otherwise a batch is evaluated at once and each variable
// takes the value of the batch's last assigning tick.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "builtin.hpp"
#include "state/state_eps.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/expr.hpp"

namespace tickflow::eps {
namespace {

using namespace state_ep;

// What one set_state node does, shared by the operators of every run.
struct SetStatePlan {
  // The `where:` condition (when has_where) first, then one expression per assignment.
  std::vector<CompiledExprPtr> exprs;
  bool has_where = false;
  std::vector<size_t> vars;  // the assigned variables, in `assign:` order
  bool per_tick = false;     // the expressions read an assigned variable
};
using SetStatePlanPtr = std::shared_ptr<const SetStatePlan>;

class SetStateOperator : public Operator {
 public:
  SetStateOperator(SetStatePlanPtr plan, const RunContext& run)
      : plan_(std::move(plan)), store_(run.state), runner_(plan_->exprs, run.symbol) {}

  void process(size_t, Batch&& batch, OutputSink& out) override {
    if (batch.empty()) return;
    StateStore& store = run_store(store_);
    if (plan_->per_tick) {
      assign_per_tick(batch, store);
    } else {
      assign_batch(batch, store);
    }
    out.emit(0, std::move(batch));
  }

 private:
  size_t first_assignment() const { return plan_->has_where ? 1 : 0; }

  // One tick at a time: each tick's expressions see the writes of the ticks before it and
  // of the earlier assignments of the same tick.
  void assign_per_tick(const Batch& batch, StateStore& store) {
    const size_t first = first_assignment();
    for (size_t row = 0; row < batch.size(); ++row) {
      const Batch& tick = runner_.tick(batch, row);
      uint8_t pass = 1;
      if (plan_->has_where) pass = runner_.eval(0, tick, 1, &store).bools()[0];
      for (size_t j = 0; j < plan_->vars.size(); ++j) {
        // Evaluated on a skipped tick too (inactive, so it raises nothing): the lag history
        // counts every tick this node sees.
        const Column& value = runner_.eval(first + j, tick, 1, &store, &pass);
        if (pass) store.scalar(plan_->vars[j]) = value.value(0);
      }
    }
  }

  // The whole batch at once: nothing evaluated reads what this node writes, so every
  // variable ends with its value on the batch's last assigning tick.
  void assign_batch(const Batch& batch, StateStore& store) {
    const size_t rows = batch.size();
    const uint8_t* mask = nullptr;
    if (plan_->has_where) mask = runner_.eval(0, batch, rows, &store).bools().data();
    std::optional<size_t> last;
    for (size_t row = rows; row-- > 0;) {
      if (!mask || mask[row]) {
        last = row;
        break;
      }
    }
    const size_t first = first_assignment();
    for (size_t j = 0; j < plan_->vars.size(); ++j) {
      const Column& value = runner_.eval(first + j, batch, rows, &store, mask);
      if (last) store.scalar(plan_->vars[j]) = value.value(*last);
    }
  }

  SetStatePlanPtr plan_;
  StateStore* store_;
  ExprRunner runner_;
};

OperatorFactory bind_set_state(BindContext& ctx) {
  const Schema& input = *ctx.input(0).schema;
  ExprCompiler compiler(ctx, input, "set_state");
  auto plan = std::make_shared<SetStatePlan>();
  bool ok = true;
  if (const ConfigNode* where = ctx.param("where")) {
    CompiledExprPtr condition = compiler.compile(*where, Type::Bool, "the 'where' condition");
    ok &= condition != nullptr;
    plan->exprs.push_back(std::move(condition));
    plan->has_where = true;
  }
  const ConfigNode& assign = *ctx.param("assign");
  if (assign.entries().empty()) {
    ctx.error(ctx.location("assign"),
              "assign: sets no variable; give {VAR: expression, ...} with scalar state variables");
    ok = false;
  }
  for (const auto& entry : assign.entries()) {
    const StateVariable* variable =
        find_variable(ctx, entry.key, entry.key_location, Want::Scalar, "set_state");
    if (variable) ctx.use_state(*variable, BindContext::StateAccess::Write, entry.key_location);
    const std::optional<Type> type =
        variable ? std::optional<Type>(variable->type) : std::optional<Type>();
    CompiledExprPtr expr = compiler.compile(entry.value, type, "the value of state." + entry.key);
    if (!variable || !expr) {
      ok = false;
      continue;
    }
    plan->exprs.push_back(std::move(expr));
    plan->vars.push_back(variable->id);
  }
  ok &= !compiler.failed();
  compiler.report();
  if (!ok) return {};
  for (size_t id : plan->vars) plan->per_tick |= compiler.reads(id);
  ctx.set_output(0, ctx.input(0).schema, ctx.input(0).time_ordered);
  ctx.set_accumulation(Accumulation::none());
  SetStatePlanPtr shared = std::move(plan);
  return
      [shared](const RunContext& run) { return std::make_unique<SetStateOperator>(shared, run); };
}

// Shown by `tickflow eps set_state` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample set_state_example() {
  return {.query = R"~(# Volume traded so far, kept in a state variable and read back as a field.
tickflow: 1
state:
  VOLUME: {type: int, init: 0}
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
  count_volume:
    ep: set_state
    in: trades
    assign:
      VOLUME: state.VOLUME + SIZE
  cumulative:
    ep: add_field
    in: count_volume
    set:
      VOLUME_SO_FAR: state.VOLUME
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE,VOLUME_SO_FAR
2024-01-02 09:30:00.000000000,AAPL,185.25,100,100
2024-01-02 09:30:20.000000000,MSFT,370.5,300,400
2024-01-02 09:30:40.000000000,AAPL,185.5,200,600
)~"};
}

}  // namespace

void register_set_state(Registry& registry) {
  EpDefinition def;
  def.name = "set_state";
  def.example = set_state_example();
  def.doc =
      "Assigns scalar state variables (declared under `state:`) from expressions as ticks pass, "
      "and passes every tick through unchanged. For each tick the assignments run in declared "
      "order and each is stored before the next is evaluated, so a later one sees the values "
      "set before it (`{A: state.A + 1, B: state.A * 2}` gives B twice the new A); each tick sees "
      "the writes of the ticks before it. With `where`, only ticks where the condition holds "
      "assign (the condition sees the state as the tick arrives). A value must have its "
      "variable's type (an int is accepted for a double). Expressions may use lags X[-k] (over "
      "every tick this node sees) but no leads X[+k].";
  def.inputs = {"in"};
  def.outputs = {"out"};
  def.params = {{.name = "assign",
                 .type = ParamType::ExprMap,
                 .required = true,
                 .doc = "{VAR: expression, ...}: the scalar state variables to set, in order"},
                {.name = "where",
                 .type = ParamType::Expr,
                 .doc = "bool expression: which ticks assign (default all)"}};
  def.accumulation = "none";
  def.bind = bind_set_state;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
