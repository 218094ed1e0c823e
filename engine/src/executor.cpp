#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>

#include <chrono>
#include <deque>
#include <mutex>

#include "source_interleave.hpp"
#include "tickflow/run.hpp"

namespace tickflow {
namespace {

// A source stops producing while any segment it feeds has this many batches queued,
// so fast producers cannot fill memory ahead of slow consumers.
constexpr size_t kMaxQueuedBatches = 8;

class Collector : public OutputSink {
 public:
  void emit(size_t port, Batch&& batch) override {
    if (!batch.empty()) items.emplace_back(port, std::move(batch));
  }
  std::vector<std::pair<size_t, Batch>> items;
};

struct Consumer {
  enum class Kind { Fused, Remote, Tap };
  Kind kind;
  size_t target;  // node index for Fused/Remote, tap index for Tap
  size_t input;
};

class Execution {
 public:
  Execution(const Query& query, const Plan& plan, const RunOptions& options,
            std::vector<OutputTap>& taps)
      : query_(query), plan_(plan), options_(options), taps_(taps) {}

  RunResult run() {
    RunResult result;
    result.stats.resize(query_.nodes.size());
    try {
      setup();
    } catch (const RuntimeError& e) {
      record_failure(e);
    } catch (const std::exception& e) {
      record_failure(RuntimeError(e.what()));
    }
    if (!failed_ && plan_.sequential) {
      run_sequential_guarded();
    } else if (!failed_) {
      auto run_graph = [&] {
        tbb::flow::graph graph;
        for (size_t s = 0; s < segments_.size(); ++s) {
          segments_[s]->node = std::make_unique<SegmentNode>(graph, tbb::flow::serial,
                                                             [this, s](tbb::flow::continue_msg) {
                                                               run_segment(s);
                                                               return tbb::flow::continue_msg();
                                                             });
        }
        for (size_t s = 0; s < segments_.size(); ++s) {
          if (plan_.segments[s].is_source) schedule(s);
        }
        graph.wait_for_all();
        while (!failed_ && !all_finished() && resume_stalled()) graph.wait_for_all();
        // Flow graph nodes must not outlive their graph.
        for (auto& segment : segments_) segment->node.reset();
      };
      if (options_.use_current_arena) {
        run_graph();
      } else {
        tbb::task_arena arena(static_cast<int>(std::max<size_t>(1, options_.threads)));
        arena.execute(run_graph);
      }
    }
    if (!failed_) check_all_finished();
    finish_operators();
    for (size_t n = 0; n < nodes_.size(); ++n) {
      result.stats[n] = nodes_[n].stats;
      if (nodes_[n].op) result.stats[n].counters = nodes_[n].op->counters();
    }
    if (state_) result.state = state_->stats();
    if (failed_) {
      result.error = first_error_;
    } else if (options_.defer_commit) {
      for (auto& state : nodes_) {
        if (state.op && state.op->needs_commit()) result.uncommitted.push_back(std::move(state.op));
      }
    }
    return result;
  }

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
    // Sequential runs, per output port: whether a consumer takes ticks one at a time
    // (Plan::tick_by_tick), whether a consumer or tap takes whole batches, and the ticks
    // gathered for the latter.
    std::vector<bool> slice_port;
    std::vector<size_t> tick_consumers;
    std::vector<bool> batch_port;
    std::vector<Batch> gathered;
  };

  void setup() {
    nodes_.resize(query_.nodes.size());
    if (!query_.info.state.empty()) {
      std::shared_ptr<const StateStore> shared = options_.query_state;
      if (!shared) shared = prepare_query_state(query_);
      state_ = std::make_unique<StateStore>(query_.info.state, shared);
      for (const auto& variable : query_.info.state) {
        const auto& init = query_.state_init_queries[variable.id];
        if (init && !variable.query_scope) {
          fill_state_from_query(*init, variable, options_.symbol, *state_);
        }
      }
    }
    for (size_t s = 0; s < plan_.segments.size(); ++s) {
      segments_.push_back(std::make_unique<SegmentState>());
    }
    for (size_t n = 0; n < query_.nodes.size(); ++n) {
      const BoundNode& node = query_.nodes[n];
      NodeState& state = nodes_[n];
      state.context = {node.id,      node.ep_location, options_.symbol, options_.batch_size,
                       &query_.info, state_.get()};
      state.open_inputs = node.inputs.size();
      state.consumers.resize(node.output_schemas.size());
    }
    for (size_t n = 0; n < query_.nodes.size(); ++n) {
      const BoundNode& node = query_.nodes[n];
      for (size_t i = 0; i < node.inputs.size(); ++i) {
        auto [producer, port] = node.inputs[i];
        // A sequential run calls every node directly, in tick-passage order.
        bool fused = plan_.sequential || plan_.segment_of[producer] == plan_.segment_of[n];
        nodes_[producer].consumers[port].push_back(
            {fused ? Consumer::Kind::Fused : Consumer::Kind::Remote, n, i});
        if (!fused) {
          auto& downstream = segments_[plan_.segment_of[producer]]->downstream;
          std::pair<size_t, size_t> edge{plan_.segment_of[n], i};
          if (std::find(downstream.begin(), downstream.end(), edge) == downstream.end()) {
            downstream.push_back(edge);
          }
        }
      }
    }
    for (size_t t = 0; t < taps_.size(); ++t) {
      nodes_[taps_[t].node].consumers[taps_[t].port].push_back({Consumer::Kind::Tap, t, 0});
    }
    if (plan_.sequential) {
      for (auto& state : nodes_) {
        for (const auto& consumers : state.consumers) {
          bool whole = false;
          size_t ticky_count = 0;
          for (const Consumer& c : consumers) {
            bool ticky = c.kind == Consumer::Kind::Fused && plan_.tick_by_tick[c.target];
            ticky_count += ticky;
            whole |= !ticky;
          }
          state.slice_port.push_back(ticky_count > 0);
          state.tick_consumers.push_back(ticky_count);
          state.batch_port.push_back(whole);
          state.gathered.emplace_back();
        }
      }
    }
    // Operators are created last, and each one under its node's name, so a factory
    // failure is reported like any runtime error of that node.
    for (size_t n = 0; n < query_.nodes.size(); ++n) {
      try {
        nodes_[n].op = query_.nodes[n].factory(nodes_[n].context);
        if (!nodes_[n].op) throw RuntimeError("the EP created no operator");
      } catch (RuntimeError& e) {
        annotate(e, n);
        throw;
      } catch (const std::exception& e) {
        RuntimeError error(e.what());
        annotate(error, n);
        throw error;
      }
    }
  }

  void annotate(RuntimeError& e, size_t n) const {
    if (!e.node.empty()) return;
    e.node = query_.nodes[n].id;
    e.node_location = query_.nodes[n].ep_location;
    e.symbol = options_.symbol;
  }

  void schedule(size_t s) {
    if (!segments_[s]->scheduled.exchange(true)) {
      segments_[s]->node->try_put(tbb::flow::continue_msg());
    }
  }

  void record_failure(const RuntimeError& e) {
    std::lock_guard lock(error_mutex_);
    if (!failed_) {
      first_error_ = e;
      failed_ = true;
    }
  }

  void run_segment(size_t s) {
    SegmentState& segment = *segments_[s];
    segment.scheduled.store(false);
    std::deque<Message> messages;
    {
      std::lock_guard lock(segment.mutex);
      messages.swap(segment.inbox);
    }
    try {
      if (!failed_) run_segment_body(s, messages);
    } catch (RuntimeError& e) {
      record_failure(e);
    } catch (const std::exception& e) {
      record_failure(RuntimeError(e.what()));
    } catch (...) {
      record_failure(RuntimeError("unknown exception"));
    }
    publish_demand(s);
  }

  void run_segment_body(size_t s, std::deque<Message>& messages) {
    SegmentState& segment = *segments_[s];
    {
      const size_t head = plan_.segments[s].nodes[0];
      for (auto& m : messages) {
        if (m.end) {
          end_input(head, m.input);
        } else {
          deliver(head, m.input, std::move(m.batch));
        }
      }
      if (options_.cancel && options_.cancel->load()) {
        record_failure(RuntimeError("cancelled"));
        return;
      }
      if (plan_.segments[s].is_source && !segment.exhausted && !failed_) {
        if (!downstream_has_room(s)) return;  // a consumer will wake us
        bool more = produce(head);
        if (more) {
          schedule(s);
        } else {
          segment.exhausted = true;
          finish_node(head);
        }
      }
    }
  }

  // A source may produce while every segment it feeds has few batches queued and either
  // holds little or needs this source's input (see Operator::needs_input). The check and
  // the registration for a wake-up happen under the consumer's lock, so none is lost.
  bool downstream_has_room(size_t s) {
    const int64_t held_limit =
        static_cast<int64_t>(std::max<size_t>(4 * options_.batch_size, 4096));
    for (auto [d, input] : segments_[s]->downstream) {
      SegmentState& target = *segments_[d];
      std::lock_guard lock(target.mutex);
      bool inbox_full = target.inbox.size() >= kMaxQueuedBatches;
      bool not_needed = throttle_by_demand_ && target.head_held_ticks.load() > held_limit &&
                        input < 64 && !(target.head_needed_inputs.load() >> input & 1);
      if (inbox_full || not_needed) {
        target.waiting_producers.push_back(s);
        return false;
      }
    }
    return true;
  }

  // Publishes the head operator's demand and wakes the producers waiting on this segment,
  // which then check again.
  void publish_demand(size_t s) {
    SegmentState& segment = *segments_[s];
    const size_t head = plan_.segments[s].nodes[0];
    if (const Operator* op = nodes_[head].op.get()) {
      segment.head_held_ticks.store(op->held().ticks);
      uint64_t needed = 0;
      size_t inputs = std::min<size_t>(query_.nodes[head].inputs.size(), 64);
      for (size_t i = 0; i < inputs; ++i) {
        if (op->needs_input(i)) needed |= uint64_t{1} << i;
      }
      segment.head_needed_inputs.store(needed);
    }
    std::vector<size_t> wake;
    {
      std::lock_guard lock(segment.mutex);
      wake.swap(segment.waiting_producers);
    }
    for (size_t producer : wake) schedule(producer);
  }

  // Called when the graph went idle before every node finished: flow control stalled (a
  // graph where the input an operator needs depends on a source it paused). Progress wins
  // over memory: demand-based pauses end and every waiting producer resumes.
  bool resume_stalled() {
    bool resumed = false;
    throttle_by_demand_ = false;
    for (size_t s = 0; s < segments_.size(); ++s) {
      std::vector<size_t> wake;
      {
        std::lock_guard lock(segments_[s]->mutex);
        wake.swap(segments_[s]->waiting_producers);
      }
      for (size_t producer : wake) {
        schedule(producer);
        resumed = true;
      }
    }
    return resumed;
  }

  // Runs one Operator call with timing, accumulation sampling and error attribution,
  // then routes what it emitted.
  template <class Call>
  void call(size_t n, Call&& body) {
    Collector out = call_collect(n, std::forward<Call>(body));
    route(n, out);
  }

  // The same without routing: returns what the operator emitted.
  template <class Call>
  Collector call_collect(size_t n, Call&& body) {
    NodeState& state = nodes_[n];
    Collector out;
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
    if (timed) {
      state.stats.nanos += std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count();
    }
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

  void route_batch(size_t n, size_t port, Batch&& batch) {
    NodeState& state = nodes_[n];
    const BoundNode& node = query_.nodes[n];
    {
      if (port >= state.consumers.size() ||
          batch.columns.size() != node.output_schemas[port]->size() || !batch.schema) {
        RuntimeError error("emitted a batch that does not match its declared output schema");
        annotate(error, n);
        throw error;
      }
      state.stats.ticks_out += static_cast<int64_t>(batch.size());
      auto& consumers = state.consumers[port];
      if (plan_.sequential) {
        route_sequential(n, port, std::move(batch));
        return;
      }
      for (size_t i = 0; i < consumers.size(); ++i) {
        bool last = i + 1 == consumers.size();
        const Consumer& c = consumers[i];
        if (c.kind == Consumer::Kind::Tap) {
          taps_[c.target].on_batch(batch);
          continue;
        }
        Batch copy = last ? std::move(batch) : batch;
        if (c.kind == Consumer::Kind::Fused) {
          deliver(c.target, c.input, std::move(copy));
        } else {
          post(c.target, {c.input, false, std::move(copy)});
        }
      }
    }
  }

  // Routing in a sequential run. Each tick of `batch` goes through every consumer that
  // takes ticks one at a time (and everything downstream of it) before the next tick
  // starts. The other consumers and taps touch no written state, so when they run does not
  // matter: they get the batch afterwards — and ticks of a node that runs tick by tick
  // are first gathered into batches of --batch-size, so the rest of the graph does not pay
  // per-tick calls.
  void route_sequential(size_t n, size_t port, Batch&& batch) {
    NodeState& state = nodes_[n];
    const auto& consumers = state.consumers[port];
    if (state.slice_port[port]) {
      // One tick and one taker: hand the batch itself over, the common case in a chain.
      if (batch.size() == 1 && !state.batch_port[port] && state.tick_consumers[port] == 1) {
        for (const Consumer& c : consumers) {
          if (c.kind == Consumer::Kind::Fused && plan_.tick_by_tick[c.target]) {
            deliver(c.target, c.input, std::move(batch));
            return;
          }
        }
      }
      for (size_t row = 0; row < batch.size(); ++row) {
        for (const Consumer& c : consumers) {
          if (c.kind == Consumer::Kind::Fused && plan_.tick_by_tick[c.target]) {
            deliver(c.target, c.input,
                    batch.size() == 1 ? Batch(batch) : batch.slice(row, row + 1));
          }
        }
      }
    }
    if (!state.batch_port[port]) return;
    if (!plan_.tick_by_tick[n]) {
      deliver_batch(n, port, std::move(batch));
      return;
    }
    Batch& gathered = state.gathered[port];
    if (gathered.empty()) {
      gathered = std::move(batch);
    } else {
      gathered.append_rows(batch, 0, batch.size());
    }
    if (gathered.size() >= options_.batch_size) flush_gathered(n);
  }

  // Hands a batch to the consumers of a sequential run that take whole batches.
  void deliver_batch(size_t n, size_t port, Batch&& batch) {
    for (const Consumer& c : nodes_[n].consumers[port]) {
      if (c.kind == Consumer::Kind::Tap) {
        taps_[c.target].on_batch(batch);
      } else if (!plan_.tick_by_tick[c.target]) {
        deliver(c.target, c.input, Batch(batch));
      }
    }
  }

  void flush_gathered(size_t n) {
    NodeState& state = nodes_[n];
    for (size_t port = 0; port < state.gathered.size(); ++port) {
      if (state.gathered[port].empty()) continue;
      Batch batch = std::move(state.gathered[port]);
      state.gathered[port] = Batch();
      deliver_batch(n, port, std::move(batch));
    }
  }

  // A sequential run (Plan::sequential) on the calling thread. The sources are interleaved
  // in time order — the next ticks to enter the graph are always the earliest pending ones,
  // ties going to the source declared first — and every tick goes as far through the graph
  // as it can (depth first, consumers in node order) before the next one enters. A source
  // ends right after its last tick.
  void run_sequential() {
    std::vector<size_t> sources;
    for (size_t n = 0; n < query_.nodes.size(); ++n) {
      if (query_.nodes[n].inputs.empty()) sources.push_back(n);
    }
    detail::SourceInterleave interleave(sources);
    auto produce = [&](size_t node, std::deque<std::pair<size_t, Batch>>& into) {
      bool more = false;
      Collector out =
          call_collect(node, [&](Operator& op, OutputSink& sink) { more = op.produce(sink); });
      for (auto& item : out.items) {
        if (options_.ticks_produced) *options_.ticks_produced += item.second.size();
        into.push_back(std::move(item));
      }
      return more;
    };
    auto finish = [&](size_t node) { finish_node(node); };
    while (!failed_) {
      if (options_.cancel && options_.cancel->load()) throw RuntimeError("cancelled");
      auto run = interleave.next(produce, finish);
      if (!run) break;
      route_batch(run->node, run->port, std::move(run->ticks));
    }
  }

  void run_sequential_guarded() {
    try {
      run_sequential();
    } catch (RuntimeError& e) {
      record_failure(e);
    } catch (const std::exception& e) {
      record_failure(RuntimeError(e.what()));
    }
  }

  void post(size_t node, Message message) {
    size_t s = plan_.segment_of[node];
    {
      std::lock_guard lock(segments_[s]->mutex);
      segments_[s]->inbox.push_back(std::move(message));
    }
    schedule(s);
  }

  void deliver(size_t n, size_t input, Batch&& batch) {
    nodes_[n].stats.ticks_in += static_cast<int64_t>(batch.size());
    call(n, [&](Operator& op, OutputSink& out) { op.process(input, std::move(batch), out); });
  }

  bool produce(size_t n) {
    bool more = false;
    int64_t before = nodes_[n].stats.ticks_out;
    call(n, [&](Operator& op, OutputSink& out) { more = op.produce(out); });
    if (options_.ticks_produced) *options_.ticks_produced += nodes_[n].stats.ticks_out - before;
    return more;
  }

  void end_input(size_t n, size_t input) {
    call(n, [&](Operator& op, OutputSink& out) { op.input_finished(input, out); });
    if (--nodes_[n].open_inputs == 0) finish_node(n);
  }

  void finish_node(size_t n) {
    call(n, [&](Operator& op, OutputSink& out) { op.finish(out); });
    if (plan_.sequential) flush_gathered(n);
    nodes_[n].finished = true;
    for (const auto& consumers : nodes_[n].consumers) {
      for (const Consumer& c : consumers) {
        switch (c.kind) {
          case Consumer::Kind::Tap:
            if (taps_[c.target].on_end) taps_[c.target].on_end();
            break;
          case Consumer::Kind::Fused:
            end_input(c.target, c.input);
            break;
          case Consumer::Kind::Remote:
            post(c.target, {c.input, true, Batch()});
            break;
        }
      }
    }
  }

  bool all_finished() const {
    for (const auto& state : nodes_) {
      if (!state.finished) return false;
    }
    return true;
  }

  void check_all_finished() {
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (!nodes_[n].finished) {
        RuntimeError error("internal error: the run ended before this node finished");
        annotate(error, n);
        record_failure(error);
        return;
      }
    }
  }

  void finish_operators() {
    if (!failed_ && !options_.defer_commit) {
      for (size_t n = 0; n < nodes_.size(); ++n) {
        try {
          nodes_[n].op->commit();
        } catch (const std::exception& e) {
          RuntimeError error(e.what());
          annotate(error, n);
          record_failure(error);
          break;
        }
      }
    }
    if (failed_) {
      for (auto& state : nodes_) {
        if (state.op) state.op->abort();
      }
    }
  }

  const Query& query_;
  const Plan& plan_;
  const RunOptions& options_;
  std::vector<OutputTap>& taps_;
  // Before nodes_: operators may point into it until they are destroyed.
  std::unique_ptr<StateStore> state_;
  std::vector<NodeState> nodes_;
  std::vector<std::unique_ptr<SegmentState>> segments_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> throttle_by_demand_{true};
  std::mutex error_mutex_;
  RuntimeError first_error_{""};
};

}  // namespace

RunResult run_query(const Query& query, const Plan& plan, const RunOptions& options,
                    std::vector<OutputTap>& taps) {
  Execution execution(query, plan, options, taps);
  return execution.run();
}

}  // namespace tickflow
