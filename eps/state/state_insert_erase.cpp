// `state_insert` and `state_erase`: change a tick container (tick_set, tick_list,
// tick_deque) as ticks pass (SPEC §6, §11). Both pass every tick through unchanged.
//
// state_insert builds one entry per tick that passes `where:`: each container field from
// its `fields:` expression or from the input field of the same name. state_erase erases,
// for each tick that passes `where:`, the tick_set entry whose key equals `key:` evaluated
// on the tick (by default the tick's fields named like the key fields), or the oldest entry
// of a tick_list / tick_deque. When an expression reads the container being changed, ticks
// are evaluated one at a time so that each sees the changes of the ticks before it.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "builtin.hpp"
#include "state/state_eps.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/expr.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps {
namespace {

using namespace state_ep;

// Where one value of an entry (state_insert) or of a key (state_erase) comes from.
struct Source {
  enum class Kind { Expr, Input, Symbol };
  Kind kind = Kind::Expr;
  size_t index = 0;       // Expr: index into ContainerPlan::exprs; Input: the input column
  Type from = Type::Int;  // Input: the input field's type
  Type to = Type::Int;    // the container field's type
};

// What one state_insert / state_erase node does, shared by the operators of every run.
struct ContainerPlan {
  size_t var = 0;
  bool erase = false;
  // The `where:` condition (when has_where) first, then the `fields:` / `key:` expressions.
  std::vector<CompiledExprPtr> exprs;
  bool has_where = false;
  // state_insert: one per container field; state_erase: one per key field of a tick_set,
  // none for lists and deques.
  std::vector<Source> sources;
  bool per_tick = false;  // an expression reads the container
};
using ContainerPlanPtr = std::shared_ptr<const ContainerPlan>;

class ContainerOperator : public Operator {
 public:
  ContainerOperator(ContainerPlanPtr plan, const RunContext& run)
      : plan_(std::move(plan)), store_(run.state), runner_(plan_->exprs, run.symbol) {
    results_.resize(plan_->exprs.size(), nullptr);
    key_.resize(plan_->sources.size());
  }

  void process(size_t, Batch&& batch, OutputSink& out) override {
    if (batch.empty()) return;
    StateStore& store = run_store(store_);
    TickContainer& container = store.tick_container(plan_->var);
    const size_t first = plan_->has_where ? 1 : 0;
    if (plan_->per_tick) {
      for (size_t row = 0; row < batch.size(); ++row) {
        const Batch& tick = runner_.tick(batch, row);
        uint8_t pass = 1;
        if (plan_->has_where) pass = runner_.eval(0, tick, 1, &store).bools()[0];
        for (size_t j = first; j < plan_->exprs.size(); ++j)
          results_[j] = &runner_.eval(j, tick, 1, &store, &pass);
        if (pass) apply(container, batch, row, 0);
      }
    } else {
      const size_t rows = batch.size();
      const uint8_t* mask = nullptr;
      if (plan_->has_where) mask = runner_.eval(0, batch, rows, &store).bools().data();
      for (size_t j = first; j < plan_->exprs.size(); ++j)
        results_[j] = &runner_.eval(j, batch, rows, &store, mask);
      for (size_t row = 0; row < rows; ++row) {
        if (!mask || mask[row]) apply(container, batch, row, row);
      }
    }
    out.emit(0, std::move(batch));
  }

 private:
  // Inserts or erases for tick `row` of `batch`, whose expression values are at
  // `expr_row` of the result columns.
  void apply(TickContainer& container, const Batch& batch, size_t row, size_t expr_row) {
    for (size_t i = 0; i < plan_->sources.size(); ++i) key_[i] = value_of(i, batch, row, expr_row);
    if (plan_->erase) {
      container.erase(key_);
    } else {
      container.insert(key_);
    }
  }

  Value value_of(size_t i, const Batch& batch, size_t row, size_t expr_row) const {
    const Source& source = plan_->sources[i];
    switch (source.kind) {
      case Source::Kind::Expr:
        return results_[source.index]->value(expr_row);
      case Source::Kind::Input:
        return convert_value(batch.columns[source.index].value(row), source.from, source.to);
      case Source::Kind::Symbol:
        return runner_.symbol();
    }
    return {};
  }

  ContainerPlanPtr plan_;
  StateStore* store_;
  ExprRunner runner_;
  std::vector<const Column*> results_;  // of the current evaluation, by expression
  std::vector<Value> key_;              // the entry or key being built (reused)
};

OperatorFactory make_factory(std::shared_ptr<ContainerPlan> plan) {
  ContainerPlanPtr shared = std::move(plan);
  return
      [shared](const RunContext& run) { return std::make_unique<ContainerOperator>(shared, run); };
}

std::string field_list(const Schema& fields, const std::vector<size_t>& indices) {
  std::string out;
  for (size_t i : indices) out += (out.empty() ? "" : ", ") + fields[i].name;
  return out;
}

std::string field_list(const Schema& fields) {
  std::string out;
  for (const auto& f : fields.fields()) out += (out.empty() ? "" : ", ") + f.name;
  return out;
}

// The value of container field `field` taken from the input tick: its same-named field
// (an int one may fill a double), or the run's symbol for a SYMBOL string field the input
// lacks. nullopt after reporting an error that ends with `advice`.
std::optional<Source> input_source(BindContext& ctx, const StateVariable& variable,
                                   const Field& field, const Location& loc,
                                   const std::string& advice) {
  const InputInfo& in = ctx.input(0);
  const std::string what = "field " + field.name + " of state." + variable.name;
  if (auto column = in.schema->index_of(field.name)) {
    const Type from = (*in.schema)[*column].type;
    if (assignable(from, field.type)) {
      return Source{Source::Kind::Input, *column, from, field.type};
    }
    ctx.error(loc, what + " is " + std::string(type_name(field.type)) + " but input '" + in.name +
                       "' has " + field.name + " as " + std::string(type_name(from)) + "; " +
                       advice);
    return std::nullopt;
  }
  if (field.name == "SYMBOL" && field.type == Type::String) {
    return Source{Source::Kind::Symbol, 0, Type::String, Type::String};
  }
  ctx.error(loc, "input '" + in.name + "' has no field " + field.name + " for " + what +
                     did_you_mean(field.name, in.schema->names()) + "; " + advice);
  return std::nullopt;
}

// ---------------------------------------------------------------- state_insert

OperatorFactory bind_state_insert(BindContext& ctx) {
  const Schema& input = *ctx.input(0).schema;
  const StateVariable* variable = variable_param(ctx, "into", Want::Container, "state_insert");
  if (variable) ctx.use_state(*variable, BindContext::StateAccess::Write, ctx.location("into"));
  ExprCompiler compiler(ctx, input, "state_insert");
  auto plan = std::make_shared<ContainerPlan>();
  bool ok = variable != nullptr;
  if (const ConfigNode* where = ctx.param("where")) {
    CompiledExprPtr condition = compiler.compile(*where, Type::Bool, "the 'where' condition");
    ok &= condition != nullptr;
    plan->exprs.push_back(std::move(condition));
    plan->has_where = true;
  }
  const Schema* fields = variable ? variable->fields.get() : nullptr;
  std::vector<std::optional<Source>> sources(fields ? fields->size() : 0);
  if (const ConfigNode* given = ctx.param("fields")) {
    for (const auto& entry : given->entries()) {
      // A plain index (npos: not a field) rather than an optional, which GCC 12 in Release
      // wrongly reports as maybe uninitialized.
      constexpr size_t kNotAField = static_cast<size_t>(-1);
      size_t index = kNotAField;
      if (fields) {
        if (auto found = fields->index_of(entry.key)) index = *found;
      }
      if (fields && index == kNotAField) {
        ctx.error(entry.key_location, "'" + entry.key + "' is not a field of state." +
                                          variable->name + " (" + field_list(*fields) + ")" +
                                          did_you_mean(entry.key, fields->names()));
        ok = false;
      }
      const std::optional<Type> type =
          index != kNotAField ? std::optional<Type>((*fields)[index].type) : std::optional<Type>();
      CompiledExprPtr expr = compiler.compile(entry.value, type, "the value of " + entry.key);
      if (!expr || index == kNotAField) {
        ok = false;
        continue;
      }
      sources[index] =
          Source{Source::Kind::Expr, plan->exprs.size(), expr->type(), (*fields)[index].type};
      plan->exprs.push_back(std::move(expr));
    }
  }
  ok &= !compiler.failed();
  compiler.report();
  if (!variable) return {};
  for (size_t f = 0; f < fields->size(); ++f) {
    if (sources[f]) continue;
    const Field& field = (*fields)[f];
    sources[f] =
        input_source(ctx, *variable, field, ctx.location("into"),
                     "give its value under fields: (fields: {" + field.name + ": expression})");
    ok &= sources[f].has_value();
  }
  if (!ok) return {};
  plan->var = variable->id;
  for (auto& s : sources) plan->sources.push_back(*s);
  plan->per_tick = compiler.reads(variable->id);
  ctx.set_output(0, ctx.input(0).schema, ctx.input(0).time_ordered);
  ctx.set_accumulation(Accumulation::none());
  return make_factory(std::move(plan));
}

// ---------------------------------------------------------------- state_erase

OperatorFactory bind_state_erase(BindContext& ctx) {
  const Schema& input = *ctx.input(0).schema;
  const StateVariable* variable = variable_param(ctx, "from", Want::Container, "state_erase");
  if (variable) ctx.use_state(*variable, BindContext::StateAccess::Write, ctx.location("from"));
  ExprCompiler compiler(ctx, input, "state_erase");
  auto plan = std::make_shared<ContainerPlan>();
  plan->erase = true;
  bool ok = variable != nullptr;
  if (const ConfigNode* where = ctx.param("where")) {
    CompiledExprPtr condition = compiler.compile(*where, Type::Bool, "the 'where' condition");
    ok &= condition != nullptr;
    plan->exprs.push_back(std::move(condition));
    plan->has_where = true;
  }
  const ConfigNode* key = ctx.param("key");
  if (variable && variable->kind != StateKind::TickSet) {
    if (key) {
      ctx.error(ctx.location("key"),
                "a " + std::string(state_kind_name(variable->kind)) +
                    " has no key: state_erase removes its oldest entry on each erasing tick "
                    "(choose the ticks with where:)");
      ok = false;
    }
  } else if (variable) {
    const Schema& fields = *variable->fields;
    const std::string keys = field_list(fields, variable->key);
    std::vector<const ConfigNode*> items;
    if (key && (key->is_sequence() || key->is_scalar())) items = list_items(key);
    if (key && items.empty()) {
      ctx.error(ctx.location("key"),
                "key: expected a list of expressions, one per key field of state." +
                    variable->name + " (" + keys + ")");
      ok = false;
    } else if (key && items.size() != variable->key.size()) {
      ctx.error(ctx.location("key"), "state." + variable->name + " has " +
                                         std::to_string(variable->key.size()) + " key field" +
                                         (variable->key.size() == 1 ? "" : "s") + " (" + keys +
                                         ") but key: gives " + std::to_string(items.size()) +
                                         " value" + (items.size() == 1 ? "" : "s"));
      ok = false;
    } else if (key) {
      for (size_t k = 0; k < items.size(); ++k) {
        const Field& field = fields[variable->key[k]];
        CompiledExprPtr expr =
            compiler.compile(*items[k], field.type, "the key value for " + field.name);
        if (!expr) {
          ok = false;
          continue;
        }
        plan->sources.push_back(
            Source{Source::Kind::Expr, plan->exprs.size(), expr->type(), field.type});
        plan->exprs.push_back(std::move(expr));
      }
    } else {
      for (size_t k : variable->key) {
        const Field& field = fields[k];
        auto source = input_source(ctx, *variable, field, ctx.location("from"),
                                   "give the key as key: [expression, ...] (" + keys + ")");
        if (source) {
          plan->sources.push_back(*source);
        } else {
          ok = false;
        }
      }
    }
  }
  ok &= !compiler.failed();
  compiler.report();
  if (!ok) return {};
  plan->var = variable->id;
  plan->per_tick = compiler.reads(variable->id);
  ctx.set_output(0, ctx.input(0).schema, ctx.input(0).time_ordered);
  ctx.set_accumulation(Accumulation::none());
  return make_factory(std::move(plan));
}

// Shown by `tickflow eps state_insert` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample state_insert_example() {
  return {.query = R"~(# The last price of each symbol, kept in a tick_set and dumped at the end.
tickflow: 1
state:
  LAST_BY_SYMBOL: {type: tick_set, key: [SYMBOL], fields: {SYMBOL: string, PRICE: double}, keep: last}
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
  remember:
    ep: state_insert
    in: trades
    into: LAST_BY_SYMBOL
  contents:
    ep: state_dump
    in: remember
    var: LAST_BY_SYMBOL
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE
2024-01-02 09:30:40.000000000,AAPL,185.5
2024-01-02 09:30:40.000000000,MSFT,370.5
)~"};
}

// Shown by `tickflow eps state_erase` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample state_erase_example() {
  return {.query = R"~(# Orders still open at the end: inserted when new, erased when cancelled.
tickflow: 1
state:
  OPEN_ORDERS: {type: tick_set, key: [ID], fields: {ID: int, PRICE: double}}
nodes:
  orders:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", ID: 1, ACTION: new, PRICE: 185.1}
      - {TIMESTAMP: "2024-01-02 09:30:01", ID: 2, ACTION: new, PRICE: 185.2}
      - {TIMESTAMP: "2024-01-02 09:30:02", ID: 1, ACTION: cancel, PRICE: 0.0}
      - {TIMESTAMP: "2024-01-02 09:30:03", ID: 3, ACTION: new, PRICE: 185.3}
  add:
    ep: state_insert
    in: orders
    into: OPEN_ORDERS
    where: ACTION == 'new'
  remove:
    ep: state_erase
    in: add
    from: OPEN_ORDERS
    where: ACTION == 'cancel'
  still_open:
    ep: state_dump
    in: remove
    var: OPEN_ORDERS
)~",
          .output = R"~(TIMESTAMP,ID,PRICE
2024-01-02 09:30:03.000000000,2,185.2
2024-01-02 09:30:03.000000000,3,185.3
)~"};
}

}  // namespace

void register_state_insert_erase(Registry& registry) {
  const std::string expr_note = " Expressions may use lags X[-k] but no leads X[+k].";
  EpDefinition insert;
  insert.name = "state_insert";
  insert.example = state_insert_example();
  insert.doc =
      "Inserts one entry into a tick container (a tick_set, tick_list or tick_deque declared "
      "under `state:`) for each tick that passes, and passes every tick through unchanged. Each "
      "container field takes the value of its expression under `fields:`, else the input "
      "field of the same name (an int field fills a double one; a SYMBOL string field the "
      "input lacks takes the run's symbol). A tick_set keeps one entry per key (`keep: first` "
      "ignores a repeated key, `keep: last` replaces the entry's values in place, keeping its "
      "position); a tick_deque drops its oldest entry beyond max_size. With `where`, only "
      "ticks where the condition holds insert." +
      expr_note;
  insert.inputs = {"in"};
  insert.outputs = {"out"};
  insert.params = {
      {.name = "into",
       .type = ParamType::String,
       .required = true,
       .doc = "the container state variable"},
      {.name = "where",
       .type = ParamType::Expr,
       .doc = "bool expression: which ticks insert (default all)"},
      {.name = "fields",
       .type = ParamType::ExprMap,
       .doc = "{FIELD: expression, ...}: container field values (default: the same-named input "
              "fields)"}};
  insert.accumulation = "none";
  insert.bind = bind_state_insert;
  registry.add(std::move(insert));

  EpDefinition erase;
  erase.name = "state_erase";
  erase.example = state_erase_example();
  erase.doc =
      "Erases entries of a tick container as ticks pass, and passes every tick through "
      "unchanged. A tick_set: each erasing tick erases the entry whose key equals `key:` "
      "evaluated on the tick (one expression per key field, in the set's key order), or "
      "without `key:` the tick's fields named like the key fields; a key not in the set "
      "erases nothing. A tick_list or tick_deque has no key: each erasing tick removes its "
      "oldest entry, if any. With `where`, only ticks where the condition holds erase." +
      expr_note;
  erase.inputs = {"in"};
  erase.outputs = {"out"};
  erase.params = {
      {.name = "from",
       .type = ParamType::String,
       .required = true,
       .doc = "the container state variable"},
      {.name = "key",
       .type = ParamType::Any,
       .doc = "tick_set only: [expression, ...], one per key field (default: the same-named input "
              "fields)"},
      {.name = "where",
       .type = ParamType::Expr,
       .doc = "bool expression: which ticks erase (default all)"}};
  erase.accumulation = "none";
  erase.bind = bind_state_erase;
  registry.add(std::move(erase));
}

}  // namespace tickflow::eps
