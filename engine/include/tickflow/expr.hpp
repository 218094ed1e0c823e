// The expression language (SPEC §3): compile once at bind time, evaluate per run
// column by column over batches.
//
// Typical use by an EP:
//
//   ExprContext cx = make_expr_context(ctx, *ctx.input(0).schema);   // $NAME resolved
//   cx.required_type = Type::Bool;
//   std::vector<Diagnostic> errors;
//   auto expr = compile_expr(*ctx.param("if"), cx, errors);   // located, with caret snippets
//   report_expr_errors(ctx, errors);
//   ...
//   // per run:
//   auto state = expr->make_state();
//   Column out(expr->type());
//   expr->evaluate(batch, *state, out, {run.symbol});
//
// Threading: a CompiledExpr is immutable after compile_expr and may be shared by the
// operators of every run; everything that changes while ticks flow (scratch columns,
// lag history) lives in the ExprState each run creates with make_state().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/config.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/schema.hpp"
#include "tickflow/state.hpp"
#include "tickflow/types.hpp"

namespace tickflow {

class BindContext;

// A value together with its type (Time and Duration travel as int64_t in Value).
struct TypedValue {
  Type type = Type::Int;
  Value value = int64_t{0};
};

// What `state.NAME` resolves to at compile time: its type and an id the caller chooses,
// handed back to StateReader::read (scalars) or StateReader::container when the
// expression is evaluated. For a container, `variable` describes it (kind, fields, key)
// so its methods (has, value, size) can be type-checked.
struct StateRef {
  Type type = Type::Int;
  size_t id = 0;
  const StateVariable* variable = nullptr;  // required for containers
};

// Everything the compiler needs to resolve names.
struct ExprContext {
  // The fields the expression may read. Evaluation reads batch.columns by the index a
  // field has here, so a batch may carry more columns after these (add_field compiles
  // each entry against the schema grown by the entries before it).
  const Schema* schema = nullptr;
  // $NAME: the query parameter's typed value, or nullopt when there is none. Parameters
  // are constants: expressions using them are folded at compile time.
  std::function<std::optional<TypedValue>(std::string_view name)> param;
  std::vector<std::string> param_names;  // for "did you mean"
  // state.NAME: its type and id, or nullopt for an unknown variable. When unset, every
  // state.NAME is an error. make_expr_context resolves the query's variables and records
  // each one an expression reads as read by the node being bound.
  std::function<std::optional<StateRef>(std::string_view name)> state;
  std::vector<std::string> state_names;  // for "did you mean"
  // When set, the expression must have this type ("where" wants bool). An int result
  // is converted when double is required; any other mismatch is an error that names
  // `what` (e.g. "the 'if' condition").
  std::optional<Type> required_type;
  std::string what = "the expression";
  // When not empty, a lead X[+k] is an error with this message, located at the lead (for
  // EPs that must not look ahead, such as the state EPs).
  std::string no_leads;
  // The query's IANA time zone (SPEC §17) for the calendar functions (year … second,
  // date, floor_time of a day or more); empty or "UTC" for UTC. make_expr_context copies
  // QueryInfo::time_zone, which the loader has checked names a known zone.
  std::string time_zone;
};

// Per-run mutable state of one compiled expression: scratch columns and lag history.
// Create one per run (per symbol); it starts as if no tick had been seen.
class ExprState {
 public:
  virtual ~ExprState() = default;
  // Forgets the lag history, as at the start of a run.
  virtual void reset() = 0;
};

// Run-time facts an evaluation may need.
struct EvalInfo {
  // The run's symbol, read by SYMBOL when the schema has no SYMBOL field ("" without symbols).
  std::string_view symbol;
  // Required when the expression uses_state().
  const StateReader* state = nullptr;
};

class CompiledExprImpl;

class CompiledExpr {
 public:
  explicit CompiledExpr(std::unique_ptr<CompiledExprImpl> impl);
  ~CompiledExpr();
  CompiledExpr(const CompiledExpr&) = delete;
  CompiledExpr& operator=(const CompiledExpr&) = delete;

  Type type() const;
  const std::string& text() const;
  // True when the whole expression folded to one value (no fields, lags or state).
  bool is_constant() const;
  // The folded value when is_constant().
  std::optional<TypedValue> constant_value() const;
  // The deepest lag X[-k] (nested lags add up): ticks of history kept in ExprState.
  size_t max_lag() const;
  // The farthest lead X[+k] (nested leads add up): ticks of lookahead evaluate needs.
  // An EP with max_lead() > 0 holds that many ticks (Accumulation::bounded).
  size_t max_lead() const;
  // True when the expression reads state.NAME (EvalInfo::state must then be given).
  bool uses_state() const;
  // The fields of the compile-time schema the expression reads (indices, ascending, each
  // once); TIMESTAMP and the run's SYMBOL (without a SYMBOL field) are not fields.
  const std::vector<size_t>& fields_read() const;

  std::unique_ptr<ExprState> make_state() const;

  // Evaluates the expression for the first `rows` ticks of `batch` and replaces the
  // contents of `out` with `rows` values (out's type is set to type()).
  //
  // Lookahead contract: ticks rows .. batch.size()-1 are the ticks that follow; they
  // are read only by leads and are not "seen" (lag history advances by `rows`). Pass
  // at least max_lead() of them while the stream continues; at end of stream pass
  // what is left — a lead past the last tick gives the type's default. The usual EP
  // pattern: keep the last max_lead() ticks of each batch, prepend them to the next
  // batch, and at finish evaluate everything held with rows = held.size().
  //
  // `active` (optional, one byte per row) marks the rows whose run-time errors count
  // (update_field's `where:`): rows with active[i] == 0 get unspecified values and never
  // raise. Errors (integer % by zero, bad text in int()/time(), ...) throw RuntimeError
  // with tick_time set; the executor adds node and symbol.
  void evaluate(const Batch& batch, size_t rows, ExprState& state, Column& out,
                const EvalInfo& info, const uint8_t* active = nullptr) const;
  // All ticks of `batch`, no lookahead (only right for max_lead() == 0 or at end of stream).
  void evaluate(const Batch& batch, ExprState& state, Column& out, const EvalInfo& info) const {
    evaluate(batch, batch.size(), state, out, info);
  }

 private:
  std::unique_ptr<CompiledExprImpl> impl_;
};

using CompiledExprPtr = std::shared_ptr<const CompiledExpr>;

// Compiles `text`, the expression as the YAML scalar holds it. `where` is the location
// of the scalar in the file (for a quoted scalar, of its opening quote) and `quoted`
// says which: error columns are `where.column + offset` for plain scalars and one more
// for quoted ones. Escapes inside double-quoted YAML and folded multi-line scalars make
// columns approximate; for text holding newlines, the line is where.line plus the
// newlines before the error, and the column is counted from where.column.
//
// Every problem is appended to `errors` (syntax errors stop at the first one; name and
// type errors are all reported), each with the location of the offending character
// and a two-line snippet: the expression line and a caret under the bad token.
// Returns nullptr when there was any error.
CompiledExprPtr compile_expr(std::string_view text, const Location& where, bool quoted,
                             const ExprContext& context, std::vector<Diagnostic>& errors);

// Same, for a parameter value. A value YAML did not read as a string (a list, a mapping,
// nothing) is an error that suggests quoting the expression.
CompiledExprPtr compile_expr(const ConfigNode& node, const ExprContext& context,
                             std::vector<Diagnostic>& errors);

// ------------------------------------------------------------ calls of an EP's own functions

// A parameter written as a call of a function the EP itself defines, NAME(ARG, ...), whose
// arguments are expressions: aggregate's `sum(PRICE * SIZE)`, `vwap(PRICE, SIZE * 100)`,
// `percentile(PX, 0.9)`. The whole text goes through the expression parser; the name is the
// EP's to check, each argument is compiled on its own.
struct ExprCall {
  struct Argument {
    CompiledExprPtr expr;
    std::string text;   // as written (without surrounding spaces)
    Location location;  // where it starts
    // The column when the argument is a bare field name (an EP can then read the input
    // column instead of evaluating).
    std::optional<size_t> field;
  };
  std::string name;
  Location name_location;
  std::vector<Argument> args;
};

// Parses `node` (a scalar) as NAME(ARG, ...) and compiles every argument against `context`
// (its required_type, if any, applies to each argument). Any other shape is an error that
// says "expected <shape>", e.g. shape = "an aggregation such as sum(SIZE) or count()"; a bare
// name NAME says "expected '(' after 'NAME'". Errors are located with caret snippets, as
// compile_expr's; every argument's errors are reported. Returns nullopt on any error.
std::optional<ExprCall> compile_call(const ConfigNode& node, const ExprContext& context,
                                     std::string_view shape, std::vector<Diagnostic>& errors);

// The usual context of an EP's expressions: `schema` (which must outlive the context),
// the query parameters of `bind` as typed $NAME constants, the query's state variables
// (each one the expression reads is declared to `bind` with use_state), and their names
// for "did you mean". The caller adds required_type as needed. `bind` must outlive it.
ExprContext make_expr_context(BindContext& bind, const Schema& schema);

// Passes compiler errors to a BindContext (snippet lines travel inside the message,
// which prints the same as Diagnostic::to_string).
void report_expr_errors(BindContext& bind, const std::vector<Diagnostic>& errors);

// The names of the built-in expression functions, sorted.
std::vector<std::string> expr_function_names();

}  // namespace tickflow
