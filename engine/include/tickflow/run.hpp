// Planning and executing a bound Query.
//
// A query whose nodes write state variables runs sequentially instead (see
// Plan::sequential and docs/design.md, "State variables and tick passage").
//
// The planner cuts the graph into segments: a segment starts at every source, every
// node with more than one input, every sink (no output ports) and every node with
// unbounded accumulation; any other node joins the segment of its (single) producer. Inside a
// segment batches are passed by direct calls; between segments they travel through per-segment FIFO
// inboxes, and each segment is one serial node of a oneTBB flow graph. Because an Operator's output
// depends only on the order of batches on each of its inputs (never on how inputs
// interleave in time of arrival), and every inbox is FIFO per producer, the output is
// the same for any thread count and batch size.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/progress.hpp"
#include "tickflow/query.hpp"
#include "tickflow/state.hpp"

namespace tickflow {

struct Segment {
  std::vector<size_t> nodes;  // node indices; nodes[0] is the head
  bool is_source = false;
};

struct Plan {
  std::vector<Segment> segments;
  std::vector<size_t> segment_of;  // node index -> segment index
  // Tick passage (SPEC §6). Set when some node writes a state variable: the run then goes
  // one tick at a time through the nodes marked in `tick_by_tick` (those touching a
  // written variable, and every node upstream of one), with the sources interleaved in
  // time order, on one thread, so what each reader sees depends only on the ticks and
  // the graph, never on batch size or threads. Nodes not marked still get whole batches.
  bool sequential = false;
  std::vector<bool> tick_by_tick;  // per node
};

Plan plan_query(const Query& query);

// Receives the ticks of one output stream during a run. Called from one thread at a
// time, in stream order.
struct OutputTap {
  size_t node = 0;
  size_t port = 0;
  std::function<void(const Batch&)> on_batch;
  std::function<void()> on_end;
};

// The message of the RuntimeError a run stopped by RunOptions::interrupt fails with.
inline constexpr const char* kInterruptedMessage = "interrupted";

// The progress of a command's runs, for a display on another thread (`tickflow run`'s
// progress line). Each run registers its source nodes' SourceProgress for as long as it
// runs, and counts as finished when it ends (successfully or not); snapshot() reports
// both at one instant, so a run is never missed nor counted twice.
class RunProgress {
 public:
  // One run's sources, registered while the object lives (run_query holds it).
  class Run {
   public:
    Run(RunProgress& owner, std::string symbol, size_t sources);
    ~Run();
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;
    SourceProgress& source(size_t i) { return sources_[i]; }

   private:
    friend class RunProgress;
    RunProgress& owner_;
    std::string symbol_;
    size_t count_;
    std::unique_ptr<SourceProgress[]> sources_;
    std::list<Run*>::iterator position_;
  };

  struct Running {
    std::string symbol;  // "" in a run without symbols
    // The share done: that of its least advanced source (sources read in time order move
    // together, and the slowest one decides when the run ends); nullopt when a source
    // does not know its total, or the run has no sources.
    std::optional<double> fraction;
  };
  struct Snapshot {
    int64_t finished = 0;
    std::vector<Running> running;  // in the order they started
  };
  Snapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::list<Run*> runs_;
  int64_t finished_ = 0;
};

struct RunOptions {
  size_t threads = 1;
  size_t batch_size = 4096;
  std::optional<int64_t> max_accumulated_ticks;
  std::string symbol;                              // "" in a run without symbols
  std::atomic<int64_t>* ticks_produced = nullptr;  // progress: ticks emitted by sources
  // Progress: the run registers its sources' progress here while it runs.
  RunProgress* progress = nullptr;
  // Run inside the task arena of the calling thread instead of a new one of `threads`
  // workers (used when several symbol runs share one arena).
  bool use_current_arena = false;
  // When set and true, sources stop and the run ends with a "cancelled" error.
  const std::atomic<bool>* cancel = nullptr;
  // The caller's stop request (Ctrl-C in the Python package): like `cancel`, but kept by
  // run_symbols for every symbol's run (it uses `cancel` itself), and the run fails with
  // the error kInterruptedMessage.
  const std::atomic<bool>* interrupt = nullptr;
  // Do not commit at the end of a successful run: hand the operators that need it over in
  // RunResult::uncommitted instead (the caller commits or aborts them later).
  bool defer_commit = false;
  // Run the whole graph on the calling thread by direct calls (as a sequential plan runs,
  // without one-tick batches): no flow graph, no queues between segments, sources
  // interleaved in time order. Gives the same output; better when other work (other
  // symbols) keeps every core busy anyway, since batches stay in one core's cache.
  bool one_thread = false;
  // Measure the time spent in each node's calls (NodeStats::nanos). Two clock reads per
  // call: callers that do not show the times may turn it off.
  bool time_nodes = true;
  // The `scope: query` state variables, created and initialised once for every run (see
  // prepare_query_state); run_query prepares them itself when this is null.
  std::shared_ptr<const StateStore> query_state;
};

struct NodeStats {
  int64_t ticks_in = 0;
  int64_t ticks_out = 0;
  int64_t peak_ticks_held = 0;
  int64_t peak_bytes_held = 0;
  int64_t nanos = 0;  // time spent inside the node's Operator calls
  std::vector<std::pair<std::string, int64_t>> counters;
};

struct RunResult {
  std::vector<NodeStats> stats;       // per node, same indices as Query::nodes
  std::vector<StateStats> state;      // per container variable of the run
  std::optional<RuntimeError> error;  // the first error, when the run failed
  // With RunOptions::defer_commit, the operators of a successful run that need commit.
  std::vector<std::unique_ptr<Operator>> uncommitted;
};

// Runs the query once (for one symbol). On failure every Operator is aborted; on
// success every Operator is committed. Taps are not committed or aborted: their
// owner decides.
RunResult run_query(const Query& query, const Plan& plan, const RunOptions& options,
                    std::vector<OutputTap>& taps);

// Creates the query's `scope: query` variables and fills those with init_from by running
// their queries (once, for every symbol of a run). Null when the query has none. Throws
// RuntimeError when an init_from query fails.
std::shared_ptr<const StateStore> prepare_query_state(const Query& query);

// Fills variable `variable` of `store` from the output of its init_from query, run for
// `symbol` ("" runs it as it stands, with its own symbols if it lists any). Throws
// RuntimeError naming the variable when that run fails.
void fill_state_from_query(const Query& query, const StateVariable& variable,
                           const std::string& symbol, StateStore& store);

// ---------------------------------------------------------------- many symbols

// Receives tick batches of output stream `output` (an index into Query::outputs) of
// `symbol`. Calls are serialized and come in the deterministic output order.
using SymbolOutputWriter =
    std::function<void(size_t output, const std::string& symbol, const Batch& batch)>;

struct SymbolRunOptions {
  // Go on after a symbol fails and report all failures at the end (else the first failure,
  // in symbol-list order, stops the run).
  bool keep_going = false;
  // One time-ordered stream over all symbols, ties in symbol-list order.
  bool merge_symbols = false;
  // How many symbols may run (or wait with finished output) ahead of the first unfinished
  // one; 0 means 2 x threads. Bounds the output held in memory.
  size_t max_in_flight = 0;
};

struct SymbolFailure {
  std::string symbol;
  RuntimeError error;
};

struct MultiRunResult {
  std::vector<NodeStats> stats;         // summed over symbols (peaks: the largest)
  std::vector<StateStats> state;        // per container (peaks: the largest; final: summed)
  std::vector<SymbolFailure> failures;  // in symbol-list order
};

// Runs the query once per symbol, up to options.threads runs at a time in one task arena.
// Output order: all of the first symbol's ticks, then the next symbol's, ... (the first
// unfinished symbol streams straight to `write`; later ones buffer until their turn), or
// one merged stream. Operators needing commit are committed only when every symbol
// succeeded (with keep_going: the successful ones), and aborted otherwise.
MultiRunResult run_symbols(const Query& query, const Plan& plan, const RunOptions& options,
                           const std::vector<std::string>& symbols,
                           const SymbolRunOptions& symbol_options, const SymbolOutputWriter& write);

}  // namespace tickflow
