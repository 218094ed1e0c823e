// What the state EPs (set_state.cpp, state_insert_erase.cpp, state_dump.cpp) share: finding
// the variable a parameter names, compiling expressions that may not look ahead, and
// evaluating expressions tick by tick when a tick must see the writes of the tick before it.
//
// State follows tick passage (SPEC §6): a state EP that reads a variable it also writes
// evaluates its expressions one tick at a time, each tick after the previous tick's writes.
// When its expressions read none of the variables it writes, a whole batch is evaluated at
// once (the state it reads cannot change while the batch passes) and only the writes go
// tick by tick.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tickflow/ep.hpp"
#include "tickflow/expr.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps::state_ep {

enum class Want { Scalar, Container, Any };

inline std::vector<std::string> state_names(const BindContext& ctx) {
  std::vector<std::string> names;
  for (const auto& v : ctx.query().state) names.push_back(v.name);
  return names;
}

// The declared variable `name` (written at `loc`), or nullptr after reporting an unknown
// name (with "did you mean") or a variable of the wrong kind for EP `ep`.
inline const StateVariable* find_variable(BindContext& ctx, const std::string& name,
                                          const Location& loc, Want want, std::string_view ep) {
  const StateVariable* variable = ctx.find_state(name);
  if (!variable) {
    std::string hint = did_you_mean(name, state_names(ctx));
    if (ctx.query().state.empty()) hint = " (the query declares no state:)";
    if (name.starts_with("state.") && ctx.find_state(name.substr(6))) {
      hint = " (name the variable without 'state.': " + name.substr(6) + ")";
    }
    ctx.error(loc, "unknown state variable '" + name + "'" + hint);
    return nullptr;
  }
  const std::string kind(state_kind_name(variable->kind));
  if (want == Want::Scalar && variable->is_container()) {
    ctx.error(loc, "state variable '" + name + "' is a " + kind + "; " + std::string(ep) +
                       " assigns scalars (state_insert and state_erase change containers)");
    return nullptr;
  }
  if (want == Want::Container && !variable->is_container()) {
    ctx.error(loc, "state variable '" + name + "' is a scalar; " + std::string(ep) +
                       " needs a tick_set, tick_list or tick_deque (set_state assigns scalars)");
    return nullptr;
  }
  return variable;
}

// The variable named by string parameter `param` (required, so present).
inline const StateVariable* variable_param(BindContext& ctx, std::string_view param, Want want,
                                           std::string_view ep) {
  const ConfigNode* node = ctx.param(param);
  if (!node) return nullptr;
  return find_variable(ctx, node->text(), ctx.location(param), want, ep);
}

// Compiles the expressions of one state EP against its input schema: each one may read
// state (declared through make_expr_context) but may not look ahead. Remembers the
// variables they read, so the EP knows whether it reads what it writes.
class ExprCompiler {
 public:
  ExprCompiler(BindContext& ctx, const Schema& schema, std::string ep)
      : ctx_(ctx), schema_(schema), ep_(std::move(ep)) {}

  // nullptr after an error (collected until report()).
  CompiledExprPtr compile(const ConfigNode& node, std::optional<Type> required, std::string what) {
    ExprContext cx = make_expr_context(ctx_, schema_);
    cx.required_type = required;
    cx.what = std::move(what);
    auto inner = cx.state;
    std::vector<size_t>* reads = &reads_;
    cx.state = [inner, reads](std::string_view name) -> std::optional<StateRef> {
      std::optional<StateRef> ref = inner ? inner(name) : std::nullopt;
      if (ref) reads->push_back(ref->id);
      return ref;
    };
    cx.no_leads = ep_ +
                  " cannot look ahead: a lead X[+k] reads ticks that have not reached this node "
                  "yet, and state follows tick passage; use a lag X[-k], or compute the value "
                  "with add_field before this node";
    return compile_expr(node, cx, errors_);
  }

  bool reads(size_t id) const {
    return std::find(reads_.begin(), reads_.end(), id) != reads_.end();
  }
  bool failed() const { return !errors_.empty(); }
  void report() {
    report_expr_errors(ctx_, errors_);
    errors_.clear();
  }

 private:
  BindContext& ctx_;
  const Schema& schema_;
  std::string ep_;
  std::vector<size_t> reads_;
  std::vector<Diagnostic> errors_;
};

// The run's state store, or a RuntimeError when the query declares none.
inline StateStore& run_store(StateStore* store) {
  if (!store) throw RuntimeError("the query declares no state");
  return *store;
}

// The per-run side of a state EP's expressions: their lag history and result columns, and
// a one-tick batch for evaluating tick by tick.
class ExprRunner {
 public:
  ExprRunner(std::vector<CompiledExprPtr> exprs, std::string symbol)
      : exprs_(std::move(exprs)), symbol_(std::move(symbol)) {
    for (const auto& e : exprs_) {
      states_.push_back(e->make_state());
      results_.emplace_back(e->type());
    }
  }

  // Evaluates expression `j` on the first `rows` ticks of `batch` (rows that `active` marks
  // 0 are seen but raise no errors); the values stay valid until `j` is evaluated again.
  const Column& eval(size_t j, const Batch& batch, size_t rows, const StateReader* state,
                     const uint8_t* active = nullptr) {
    exprs_[j]->evaluate(batch, rows, *states_[j], results_[j], {symbol_, state}, active);
    return results_[j];
  }

  // Tick `row` of `batch` as the first tick of a batch: evaluating with rows = 1 then sees
  // exactly that tick (the ticks after it are only lookahead, which these expressions never
  // read). Valid until the next call.
  const Batch& tick(const Batch& batch, size_t row) {
    if (row == 0) return batch;
    if (!one_.schema || one_.schema != batch.schema) one_ = Batch(batch.schema);
    one_.clear();
    one_.append_row(batch, row);
    return one_;
  }

  const std::string& symbol() const { return symbol_; }

 private:
  std::vector<CompiledExprPtr> exprs_;
  std::string symbol_;
  std::vector<std::unique_ptr<ExprState>> states_;
  std::vector<Column> results_;
  Batch one_;
};

// `value` (read from a column of type `from`) as a value of type `to`: int to double is the
// only conversion the state EPs make.
inline Value convert_value(Value value, Type from, Type to) {
  if (from == Type::Int && to == Type::Double) return static_cast<double>(std::get<int64_t>(value));
  return value;
}

// True when a value of type `from` may fill a slot of type `to`.
inline bool assignable(Type from, Type to) {
  return from == to || (from == Type::Int && to == Type::Double);
}

}  // namespace tickflow::eps::state_ep
