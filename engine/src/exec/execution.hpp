// Execution: one run of a bound Query under a Plan, the engine behind run_query. A run
// goes either through a oneTBB flow graph of segments with FIFO inboxes and flow control
// (executor.cpp, which also holds setup, delivery to operators and the end of the run) or,
// when the plan is sequential, tick by tick on the calling thread (executor_sequential.cpp).
// Internal to those two files.
#pragma once

#include <oneapi/tbb/flow_graph.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/tsan_handoff.hpp"
#include "exec/source_interleave.hpp"
#include "tickflow/live.hpp"
#include "tickflow/run.hpp"

namespace tickflow::detail {

struct Consumer {
  enum class Kind { Fused, Remote, Tap };
  Kind kind;
  size_t target;  // node index for Fused/Remote, tap index for Tap
  size_t input;
};

class Collector : public OutputSink {
 public:
  bool connected(size_t port) const override {
    return !readers || (port < ports && readers[port].load(std::memory_order_relaxed) > 0);
  }
  // The node's readers per output port (null: every port counts as connected).
  const std::atomic<int>* readers = nullptr;
  size_t ports = 0;

  void emit(size_t port, Batch&& batch) override {
    if (batch.empty()) return;
    items.emplace_back(port, std::move(batch));
    if (flush && items.size() >= kFlushBatches) flush(flush_context, *this);
  }
  std::vector<std::pair<size_t, Batch>> items;
  // When set, called with a few batches collected: an operator that emits a lot in one call
  // (order_by's finish) then has its output passed on while it works, so consumers can
  // process and free it instead of all of it waiting in memory until the call returns.
  // (A function pointer, not std::function: a Collector is made for every operator call.)
  void (*flush)(void* context, Collector& collected) = nullptr;
  void* flush_context = nullptr;
  static constexpr size_t kFlushBatches = 4;
};

class Execution {
 public:
  Execution(const Query& query, const Plan& plan, const RunOptions& options,
            std::vector<OutputTap>& taps)
      : query_(query),
        plan_(plan),
        options_(options),
        taps_(taps),
        sequential_(plan.sequential || options.one_thread) {}

  RunResult run();

  // standing.cpp: a run that stays open while live feeds receive ticks (StandingRun).
  void start_standing(const LiveFeeds& feeds);
  void pump_standing();
  RunResult close_standing();
  std::vector<NodeStats> node_stats() const;
  std::vector<Held> node_held() const;

 private:
  using SegmentNode = tbb::flow::function_node<tbb::flow::continue_msg, tbb::flow::continue_msg>;

  struct Message {
    size_t input;
    bool end;
    Batch batch;
  };

  struct SegmentState {
    std::unique_ptr<SegmentNode> node;
    std::mutex mutex;
    std::deque<Message> inbox;
    std::vector<size_t> waiting_producers;
    std::atomic<bool> scheduled{false};
    bool exhausted = false;
    // (segment, input of its head) pairs this segment feeds.
    std::vector<std::pair<size_t, size_t>> downstream;
    // Published by the segment after each body run for producers' flow control: ticks its
    // head operator holds, and a bit per input it needs (Operator::needs_input).
    std::atomic<int64_t> head_held_ticks{0};
    std::atomic<uint64_t> head_needed_inputs{~uint64_t{0}};
  };

  struct NodeState {
    std::unique_ptr<Operator> op;
    RunContext context;
    size_t open_inputs = 0;
    bool finished = false;
    NodeStats stats;
    std::vector<std::vector<Consumer>> consumers;  // per output port
    // Downstream finished: per output port, the consumers (taps included) that still read it
    // — 0 for a port nothing reads; per input, whether the operator still wants its ticks
    // (Operator::wants_input). Atomic: a consumer in another segment stops reading.
    std::unique_ptr<std::atomic<int>[]> readers;
    std::unique_ptr<std::atomic<bool>[]> input_wanted;
    std::vector<std::pair<size_t, Batch>> spare_items;  // an empty Collector list to reuse
    // Sequential runs, per output port: whether a consumer takes ticks one at a time
    // (Plan::tick_by_tick), whether a consumer or tap takes whole batches, and the ticks
    // gathered for the latter.
    std::vector<bool> slice_port;
    std::vector<size_t> tick_consumers;
    std::vector<bool> batch_port;
    std::vector<Batch> gathered;
  };

  // executor.cpp: setup, the flow graph and its flow control.
  void setup();
  void schedule(size_t s);
  void run_segment(size_t s);
  void run_segment_body(size_t s, std::deque<Message>& messages);
  bool downstream_has_room(size_t s);
  void publish_demand(size_t s);
  bool resume_stalled();

  // executor.cpp: routing and the calls into operators, for both kinds of run.
  void route_batch(size_t n, size_t port, Batch&& batch);
  void post(size_t node, Message message);
  void deliver(size_t n, size_t input, Batch&& batch);
  bool produce(size_t n);
  void end_input(size_t n, size_t input);
  void finish_node(size_t n);
  // Downstream finished (executor.cpp): input `input` of node n no longer wanted.
  void stop_unwanted_inputs(size_t n);
  void stop_input(size_t n, size_t input);
  bool abandoned(size_t n) const { return abandoned_[n].load(std::memory_order_acquire); }
  void check_all_finished();
  void finish_operators();

  // executor_sequential.cpp: the sequential run.
  void route_sequential(size_t n, size_t port, Batch&& batch);
  void deliver_batch(size_t n, size_t port, Batch&& batch);
  void flush_gathered(size_t n);
  void run_sequential();
  void run_sequential_guarded();

  // standing.cpp
  void feed_standing();
  void pass_times();
  void throw_if_failed() const;
  RunResult collect_result();

  void annotate(RuntimeError& e, size_t n) const {
    if (!e.node.empty()) return;
    e.node = query_.nodes[n].id;
    e.node_location = query_.nodes[n].ep_location;
    e.symbol = options_.symbol;
  }

  void record_failure(const RuntimeError& e) {
    std::lock_guard lock(error_mutex_);
    if (!failed_) {
      first_error_ = e;
      failed_ = true;
    }
  }

  // Runs one Operator call with timing, accumulation sampling and error attribution,
  // then routes what it emitted.
  template <class Call>
  void call(size_t n, Call&& body) {
    Collector out = call_collect(n, std::forward<Call>(body), /*stream=*/true);
    route(n, out);
    // Keep the list's memory for the node's next call (ticks passing one at a time make a
    // call per tick).
    out.items.clear();
    nodes_[n].spare_items.swap(out.items);
  }

  // The same without routing (unless `stream`, see Collector::flush): returns what the
  // operator emitted. The time spent routing streamed batches is not the node's own.
  template <class Call>
  Collector call_collect(size_t n, Call&& body, bool stream = false) {
    NodeState& state = nodes_[n];
    Collector out;
    out.readers = state.readers.get();
    out.ports = state.consumers.size();
    out.items.swap(state.spare_items);
    // Streaming: batches routed during the call; their routing time is not the node's own.
    struct Stream {
      Execution* execution;
      size_t node;
      int64_t routed_nanos = 0;
    } streaming{this, n};
    if (stream) {
      out.flush_context = &streaming;
      out.flush = [](void* context, Collector& collected) {
        auto& s = *static_cast<Stream*>(context);
        const auto begin = std::chrono::steady_clock::now();
        s.execution->route(s.node, collected);
        collected.items.clear();
        s.routed_nanos += std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - begin)
                              .count();
      };
    }
    const bool timed = options_.time_nodes;
    auto start = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    try {
      body(*state.op, out);
    } catch (RuntimeError& e) {
      annotate(e, n);
      throw;
    } catch (const std::exception& e) {
      RuntimeError error(e.what());
      annotate(error, n);
      throw error;
    }
    out.flush = nullptr;
    out.flush_context = nullptr;
    if (timed) {
      state.stats.nanos += std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count() -
                           streaming.routed_nanos;
    }
    stop_unwanted_inputs(n);
    Held held = state.op->held();
    state.stats.peak_ticks_held = std::max(state.stats.peak_ticks_held, held.ticks);
    state.stats.peak_bytes_held = std::max(state.stats.peak_bytes_held, held.bytes);
    if (options_.max_accumulated_ticks && held.ticks > *options_.max_accumulated_ticks) {
      RuntimeError error("holds " + std::to_string(held.ticks) +
                         " ticks, more than --max-accumulated-ticks " +
                         std::to_string(*options_.max_accumulated_ticks));
      annotate(error, n);
      throw error;
    }
    return out;
  }

  void route(size_t n, Collector& out) {
    for (auto& [port, batch] : out.items) route_batch(n, port, std::move(batch));
  }

  bool all_finished() const {
    for (const auto& state : nodes_) {
      if (!state.finished) return false;
    }
    return true;
  }

  const Query& query_;
  const Plan& plan_;
  const RunOptions& options_;
  std::vector<OutputTap>& taps_;
  // Run by direct calls on the calling thread (Plan::sequential or RunOptions::one_thread).
  const bool sequential_;
  // Before nodes_: operators may point into it until they are destroyed.
  std::unique_ptr<StateStore> state_;
  std::vector<NodeState> nodes_;
  std::vector<std::unique_ptr<SegmentState>> segments_;
  std::atomic<bool> failed_{false};
  // Per node: every port's readers have stopped (see stop_input); a source is then finished
  // instead of asked to produce.
  std::unique_ptr<std::atomic<bool>[]> abandoned_;
  TaskHandoff handoff_;  // ThreadSanitizer: segment tasks and the graph's wait
  std::atomic<bool> throttle_by_demand_{true};
  std::mutex error_mutex_;
  RuntimeError first_error_{""};
  // Standing runs: the live feeds, the source order, and the times passed per node (out)
  // and per node input (told to the operator).
  const LiveFeeds* live_ = nullptr;
  // The sources' progress, registered with RunOptions::progress while the run lives.
  std::unique_ptr<RunProgress::Run> progress_;
  std::unique_ptr<SourceInterleave> interleave_;
  std::vector<int64_t> passed_out_;
  std::vector<std::vector<int64_t>> passed_in_;
};

}  // namespace tickflow::detail
