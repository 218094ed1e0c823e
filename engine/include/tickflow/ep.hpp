// The public EP API. Built-in EPs and plugins use exactly this header.
//
// An EP is described by an EpDefinition (name, doc, ports, parameters, accumulation)
// and a bind function. Binding happens once per query at load time: the bind function
// reads its parameters through BindContext (already shape-checked against the
// ParamSpecs), validates them into its own typed options, declares its output schemas,
// time order and accumulation, and returns an OperatorFactory. The factory is then
// called once per run (one per symbol) to create the Operator that processes ticks.
//
// Threading contract: one Operator instance is only ever called by one thread at a
// time, and its calls arrive in order (process/input_finished per input in tick order,
// finish last). Different Operators may run concurrently. Bind functions and
// factories may run concurrently for different nodes and must not share mutable state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/config.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/live.hpp"
#include "tickflow/progress.hpp"
#include "tickflow/schema.hpp"
#include "tickflow/state.hpp"
#include "tickflow/time.hpp"
#include "tickflow/types.hpp"

namespace tickflow {

// ---------------------------------------------------------------- parameters

// The shape a parameter value must have. The engine checks it before bind runs,
// so the typed getters of BindContext cannot fail on shape.
enum class ParamType {
  Int,         // integer scalar
  Double,      // number
  Bool,        // true/false
  String,      // any scalar; ${NAME} is replaced by query parameters
  Duration,    // "250ms", "1h", ...
  Time,        // "2024-01-02 09:30:00", ISO-8601, or integer ns
  Expr,        // expression text (scalar)
  Field,       // one field name
  FieldList,   // [A, B, ...]
  FieldTypes,  // {NAME: type, ...}
  NameMap,     // {OLD: NEW, ...}
  ExprMap,     // {NAME: expr, ...} (ordered)
  Rows,        // list of mappings
  Any,         // checked by the EP itself
};
std::string_view param_type_name(ParamType type);

// One parameter of an EP. Written with designated initialisers so the definition reads like
// the table `tickflow eps` prints; omitted fields keep their defaults:
//   {.name = "n", .type = ParamType::Int, .required = true, .doc = "number of ticks"}
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::String;
  bool required = false;
  // YAML text of the default value ("" = no default). Shown by `tickflow eps`.
  std::string default_value{};
  std::string doc{};  // one line
};

// ---------------------------------------------------------------- accumulation

// How many ticks an EP may hold before passing ticks on (SPEC §4).
struct Accumulation {
  enum class Kind { None, Bounded, Unbounded };
  Kind kind = Kind::None;
  std::string bound;  // for Bounded: "100 ticks", "5s", ...

  static Accumulation none() { return {}; }
  static Accumulation bounded(std::string bound) { return {Kind::Bounded, std::move(bound)}; }
  static Accumulation unbounded() { return {Kind::Unbounded, {}}; }
  bool accumulates() const { return kind != Kind::None; }
  std::string to_string() const;  // "none", "bounded(100 ticks)", "unbounded"
};

// ---------------------------------------------------------------- streams

// What an EP knows about one of its inputs at bind time.
struct InputInfo {
  std::string name;  // "node" or "node.port" as written in `in:`
  SchemaPtr schema;
  bool time_ordered = true;
  Location location;  // of the `in:` value naming this input
};

// A query parameter (`params:`) with its effective value: the default, or --param.
struct QueryParamValue {
  std::string name;
  Type type = Type::String;
  std::string value;  // as text, already checked against `type`
};

// Facts about the whole query available at bind and run time.
struct QueryInfo {
  std::string file;      // path of the query file
  std::string base_dir;  // directory paths in the query are relative to
  std::optional<int64_t> range_start;
  std::optional<int64_t> range_end;
  // The query's IANA time zone (`tz:` or --tz, SPEC §17); "UTC" by default.
  std::string time_zone = "UTC";
  // The zone output times are printed in, with their offset (`output_tz:` or --output-tz,
  // SPEC §17); "" prints UTC without an offset.
  std::string output_time_zone;
  std::vector<std::string> symbols;     // empty: a run without symbols
  std::vector<QueryParamValue> params;  // in declaration order ($NAME in expressions)
  std::vector<StateVariable> state;     // `state:` in declaration order (StateVariable::id)
};

// The query's time zone, resolved (the loader has checked that the tz database knows it).
TimeZone query_zone(const QueryInfo& query);

// ---------------------------------------------------------------- operators

// Receives the batches an Operator produces. Batches must use the schema declared for
// the port at bind time and be in the port's declared time order. The engine may pass
// emitted batches on to consumers before the call that emits them returns (it does when an
// Operator emits many in one call), so do not emit while iterating over a state container
// that a downstream EP could change: take a snapshot first.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void emit(size_t port, Batch&& batch) = 0;
  // False when nothing reads output `port` (a `fail` port left unconnected), or no longer
  // does: every consumer of the port has finished with it (Operator::wants_input), e.g. a
  // `head` that has passed its n ticks. The operator may skip building that port's batches,
  // and a source may stop early inside a long produce() call. Ticks emitted there anyway are
  // dropped and not counted as ticks_out.
  virtual bool connected(size_t port) const {
    (void)port;
    return true;
  }
};

// Ticks and bytes an Operator holds between calls (its accumulation right now).
struct Held {
  int64_t ticks = 0;
  int64_t bytes = 0;
};

// The per-run (per-symbol) processing state of one node.
class Operator {
 public:
  virtual ~Operator() = default;

  // Sources only: emit at most RunContext::batch_size ticks; return false once exhausted
  // (the call that returns false may still emit).
  virtual bool produce(OutputSink& out) {
    (void)out;
    return false;
  }
  // A batch arrived on input `input`.
  virtual void process(size_t input, Batch&& batch, OutputSink& out) {
    (void)input, (void)batch, (void)out;
  }
  // Input `input` has no more ticks (called before finish, once per input).
  virtual void input_finished(size_t input, OutputSink& out) { (void)input, (void)out; }
  // All inputs have finished (for sources: produce returned false). Emit what is held.
  virtual void finish(OutputSink& out) { (void)out; }
  // The whole run succeeded / failed: make side effects permanent or undo them
  // (e.g. rename or remove a temporary output file). abort must not throw.
  virtual void commit() {}
  virtual void abort() noexcept {}
  // True for operators whose commit/abort matter (writers). In a multi-symbol run the engine
  // keeps these alive until every symbol has finished, then commits all or aborts all, so a
  // failing symbol leaves no output files of the others behind.
  virtual bool needs_commit() const { return false; }

  // What the operator holds now; sampled after every call for --stats and
  // --max-accumulated-ticks.
  virtual Held held() const { return {}; }
  // Flow control for operators with several inputs that wait for each other (merge, joins):
  // true when the operator cannot release what it holds without more ticks from `input`.
  // While an operator holds more than a few batches, the engine pauses the sources feeding
  // the inputs it does not need and lets the others run, so such an EP holds only what
  // the inputs' timestamps require. Sampled after every call, like held().
  virtual bool needs_input(size_t input) const {
    (void)input;
    return true;
  }
  // Extra named counters shown by --stats (e.g. {"skipped_rows", 3}).
  virtual std::vector<std::pair<std::string, int64_t>> counters() const { return {}; }

  // Standing queries only (`tickflow serve`, SPEC §13; a batch run never calls it): input
  // `input` will deliver no tick earlier than `time`, although it has delivered none at that
  // time (its source was advanced, or a filter upstream dropped the ticks). An operator that
  // waits for time to pass (merge, as-of joins, time buckets) releases what that allows,
  // exactly as a later tick would have let it, so the output is the batch run's.
  // Returns the time before which the operator will emit no more ticks on any port, or
  // nullopt for the engine's default: the earliest time its inputs have passed for an EP
  // whose accumulation is none, no promise otherwise.
  virtual std::optional<int64_t> input_passed(size_t input, int64_t time, OutputSink& out) {
    (void)input, (void)time, (void)out;
    return std::nullopt;
  }

  // Downstream finished: false once the operator ignores every further tick on `input` (head
  // after its n ticks). Sampled after every call, like held(), and once when the operator
  // is created. The engine then delivers no more batches on that input (input_finished and
  // finish still come); when no consumer of a node reads any of its ports any more, that
  // node's inputs stop in turn, and a source is not asked to produce again: it gets finish()
  // as if exhausted, and OutputSink::connected turns false for its ports. The output of
  // the run does not change, only the work it takes.
  virtual bool wants_input(size_t input) const {
    (void)input;
    return true;
  }
};

// Everything an Operator may need to know about the run it belongs to.
struct RunContext {
  std::string node_id;
  Location node_location;
  std::string symbol;  // "" in a run without symbols
  size_t batch_size = 4096;
  const QueryInfo* query = nullptr;
  // The run's state variables (SPEC §6); null when the query declares none.
  StateStore* state = nullptr;
  // The feeds of `push` sources in a standing query (tickflow/live.hpp); null in a batch run.
  const LiveFeeds* live = nullptr;
  // A source's progress toward its total (tickflow/progress.hpp); null when nobody watches
  // the run and for nodes that are not sources.
  SourceProgress* progress = nullptr;
};

using OperatorFactory = std::function<std::unique_ptr<Operator>(const RunContext&)>;

// ---------------------------------------------------------------- binding

// The engine's view of one node while it is bound. Errors are collected, never thrown;
// after reporting an error the bind function may return an empty factory.
class BindContext {
 public:
  virtual ~BindContext() = default;

  virtual const std::string& node_id() const = 0;
  virtual const Location& node_location() const = 0;  // of the `ep:` value
  virtual const QueryInfo& query() const = 0;

  virtual size_t input_count() const = 0;
  virtual const InputInfo& input(size_t i) const = 0;

  // Parameter access. `param` returns the value as written, or the parsed default, or
  // nullptr when the parameter is absent and has no default.
  virtual const ConfigNode* param(std::string_view name) const = 0;
  bool has(std::string_view name) const { return param(name) != nullptr; }
  // Location of the value (or of the node when the parameter is absent).
  Location location(std::string_view name) const;

  // Typed getters; the parameter must exist (given or defaulted) with the declared shape.
  int64_t get_int(std::string_view name) const;
  double get_double(std::string_view name) const;
  bool get_bool(std::string_view name) const;
  std::string get_string(std::string_view name) const;  // ${NAME} substituted
  int64_t get_duration(std::string_view name) const;
  int64_t get_time(std::string_view name) const;
  std::vector<std::string> get_list(std::string_view name) const;
  std::vector<std::pair<std::string, std::string>> get_map(std::string_view name) const;

  // Substitutes ${NAME} query parameters in a string parameter value.
  virtual std::string substitute(const std::string& text, const Location& loc) = 0;

  // Reports an error at `loc` (exit status 2, or 1 for ErrorKind::Data).
  virtual void error(const Location& loc, std::string message,
                     ErrorKind kind = ErrorKind::Validation) = 0;
  virtual bool has_errors() const = 0;
  // Reports a prepared diagnostic (for example an expression error with its caret snippet);
  // its message is prefixed with the node like error()'s. The default folds the snippet
  // into the message and calls error().
  virtual void report(Diagnostic diagnostic);

  // Looks a field up in input `input`'s schema; reports "unknown field" with
  // "did you mean" at `loc` and returns nullopt when it is not there.
  std::optional<size_t> require_field(size_t input, const std::string& name, const Location& loc);

  // Declares the schema and time order of output port `port` (in EpDefinition::outputs order).
  virtual void set_output(size_t port, SchemaPtr schema, bool time_ordered = true) = 0;
  virtual void set_accumulation(Accumulation acc) = 0;

  // State variables. find_state looks a declared variable up by name. An EP declares every
  // variable it reads or writes with use_state (expressions compiled with a context from
  // make_expr_context declare their reads themselves): the planner then runs the nodes
  // touching state in tick-passage order (SPEC §6), and writing a `scope: query` variable
  // is reported as an error at `loc`.
  const StateVariable* find_state(std::string_view name) const;
  enum class StateAccess { Read, Write };
  virtual void use_state(const StateVariable& variable, StateAccess access, const Location& loc) {
    (void)variable, (void)access, (void)loc;
  }

  // A path from the query, relative to the query file's directory unless absolute.
  std::string resolve_path(const std::string& path) const;

  // Fields a query uses (docs/plugins.md, "Reading only the fields a query uses").
  //
  // reads_only: the EP reads no field of input `input` but these (by name; TIMESTAMP is
  // not a field), and each of its output fields named like a field of that input is that
  // field passed on, unchanged or updated. An EP that declares nothing reads every field of
  // every input. Declaring too few fields makes a query wrong; declaring more only costs.
  virtual void reads_only(size_t input, std::vector<std::string> fields) {
    (void)input, (void)fields;
  }
  // For a source that can leave fields out: the fields of output `port` that the rest of
  // the query uses (reads, writes or outputs), or nullptr while that is not known. The
  // loader binds the query, and when a source asked and the query leaves some of its fields
  // unused, binds it again with the answer: the source then declares only those fields.
  virtual const std::vector<std::string>* fields_used(size_t port) {
    (void)port;
    return nullptr;
  }
};

using BindFunction = std::function<OperatorFactory(BindContext&)>;

// ---------------------------------------------------------------- definitions

// A short runnable example of an EP, shown by `tickflow eps NAME` and in docs/eps.md. The
// test suite runs every built-in EP's example and compares what it prints, so the reference
// cannot drift from the engine; a plugin's example is shown the same way.
struct EpExample {
  std::string query{};  // a whole query file, run as graph.yaml in a directory of its own
  // Input files written beside it first: (name, contents), e.g. ("trades.csv", "...").
  std::vector<std::pair<std::string, std::string>> files{};
  // tickflow arguments run in that directory before the query ("" for none), e.g.
  // "load trades.csv --db archive --table trades".
  std::string setup{};
  // For an EP that reads pushed ticks: the CSV body pushed to node `push_node` while
  // `tickflow serve graph.yaml` runs the query; `output` is then what its stream sends.
  std::string push_node{};
  std::string push_body{};
  // What `tickflow run graph.yaml` prints (CSV), or what `output_file` holds afterwards
  // when it is set (for sinks, which print nothing).
  std::string output{};
  std::string output_file{};
  bool empty() const { return query.empty(); }
};

struct EpDefinition {
  std::string name;
  std::string doc;  // one paragraph
  // Input port names. Empty: a source. `variadic_inputs`: `in:` is a list of any length >= 1.
  std::vector<std::string> inputs;
  bool variadic_inputs = false;
  // Output port names; the first is the default port of `in: node`. Empty: a sink.
  std::vector<std::string> outputs = {"out"};
  std::vector<ParamSpec> params;
  std::string accumulation = "none";  // as documented, e.g. "bounded(n)"
  BindFunction bind;
  std::string origin = "builtin";  // set by the registry for plugins
  // A runnable example; every built-in EP has one.
  EpExample example{};
  // Where the EP lives, shown by `tickflow eps`: a built-in EP's source file (relative to the
  // source tree), or a plugin's library path. Set by Registry::add when left empty.
  std::string source;
};

}  // namespace tickflow
