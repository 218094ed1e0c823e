// run_query, and Execution's setup, its run on a oneTBB flow graph of segments (with flow
// control between them) and the calls into operators. The sequential run is in
// executor_sequential.cpp; see execution.hpp.
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <mutex>

#include "exec/execution.hpp"

namespace tickflow::detail {
namespace {

// A source stops producing while any segment it feeds has this many batches queued,
// so fast producers cannot fill memory ahead of slow consumers.
constexpr size_t kMaxQueuedBatches = 8;

}  // namespace

RunResult Execution::run() {
  try {
    setup();
  } catch (const RuntimeError& e) {
    record_failure(e);
  } catch (const std::exception& e) {
    record_failure(RuntimeError(e.what()));
  }
  if (!failed_ && sequential_) {
    run_sequential_guarded();
  } else if (!failed_) {
    auto run_graph = [&] {
      tbb::flow::graph graph;
      for (size_t s = 0; s < segments_.size(); ++s) {
        segments_[s]->node = std::make_unique<SegmentNode>(graph, tbb::flow::serial,
                                                           [this, s](tbb::flow::continue_msg) {
                                                             TaskHandoff::task_started();
                                                             run_segment(s);
                                                             return tbb::flow::continue_msg();
                                                           });
      }
      for (size_t s = 0; s < segments_.size(); ++s) {
        if (plan_.segments[s].is_source) schedule(s);
      }
      graph.wait_for_all();
      handoff_.after_wait();
      while (!failed_ && !all_finished() && resume_stalled()) {
        graph.wait_for_all();
        handoff_.after_wait();
      }
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
  return collect_result();
}

// The end of a run: every node must have finished; commit (or abort) the operators and
// gather the statistics.
RunResult Execution::collect_result() {
  RunResult result;
  result.stats.resize(query_.nodes.size());
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

void Execution::setup() {
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
  size_t source_count = 0;
  for (const BoundNode& node : query_.nodes) source_count += node.inputs.empty();
  if (options_.progress) {
    progress_ =
        std::make_unique<RunProgress::Run>(*options_.progress, options_.symbol, source_count);
  }
  size_t source_index = 0;
  for (size_t n = 0; n < query_.nodes.size(); ++n) {
    const BoundNode& node = query_.nodes[n];
    NodeState& state = nodes_[n];
    SourceProgress* progress = nullptr;
    if (progress_ && node.inputs.empty()) progress = &progress_->source(source_index++);
    state.context = {node.id,      node.ep_location, options_.symbol, options_.batch_size,
                     &query_.info, state_.get(),     live_,           progress};
    state.open_inputs = node.inputs.size();
    state.consumers.resize(node.output_schemas.size());
  }
  for (size_t n = 0; n < query_.nodes.size(); ++n) {
    const BoundNode& node = query_.nodes[n];
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      auto [producer, port] = node.inputs[i];
      // A sequential run calls every node directly, in tick-passage order.
      bool fused = sequential_ || plan_.segment_of[producer] == plan_.segment_of[n];
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
  abandoned_ = std::make_unique<std::atomic<bool>[]>(nodes_.size());
  for (size_t n = 0; n < nodes_.size(); ++n) {
    NodeState& state = nodes_[n];
    abandoned_[n] = false;
    state.readers = std::make_unique<std::atomic<int>[]>(state.consumers.size());
    for (size_t port = 0; port < state.consumers.size(); ++port) {
      state.readers[port] = static_cast<int>(state.consumers[port].size());
    }
    state.input_wanted = std::make_unique<std::atomic<bool>[]>(query_.nodes[n].inputs.size());
    for (size_t i = 0; i < query_.nodes[n].inputs.size(); ++i) state.input_wanted[i] = true;
  }
  if (sequential_) {
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
      stop_unwanted_inputs(n);  // e.g. head with n: 0 wants nothing from the start
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

void Execution::schedule(size_t s) {
  if (!segments_[s]->scheduled.exchange(true)) {
    TaskHandoff::before_spawn();
    segments_[s]->node->try_put(tbb::flow::continue_msg());
  }
}

void Execution::run_segment(size_t s) {
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
  handoff_.task_finished();
}

void Execution::run_segment_body(size_t s, std::deque<Message>& messages) {
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
    if (options_.interrupt && options_.interrupt->load()) {
      record_failure(RuntimeError(kInterruptedMessage));
      return;
    }
    if (plan_.segments[s].is_source && !segment.exhausted && !failed_) {
      // Downstream finished: nothing reads this source any more, so it ends here.
      bool more = false;
      if (!abandoned(head)) {
        if (!downstream_has_room(s)) return;  // a consumer will wake us
        more = produce(head);
      }
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
bool Execution::downstream_has_room(size_t s) {
  const int64_t held_limit = static_cast<int64_t>(std::max<size_t>(4 * options_.batch_size, 4096));
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
void Execution::publish_demand(size_t s) {
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
bool Execution::resume_stalled() {
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

void Execution::route_batch(size_t n, size_t port, Batch&& batch) {
  NodeState& state = nodes_[n];
  const BoundNode& node = query_.nodes[n];
  {
    if (port >= state.consumers.size() ||
        batch.columns.size() != node.output_schemas[port]->size() || !batch.schema) {
      RuntimeError error("emitted a batch that does not match its declared output schema");
      annotate(error, n);
      throw error;
    }
    auto& consumers = state.consumers[port];
    if (consumers.empty()) return;  // an unconnected port: the ticks go nowhere
    state.stats.ticks_out += static_cast<int64_t>(batch.size());
    if (sequential_) {
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
      if (!nodes_[c.target].input_wanted[c.input].load(std::memory_order_relaxed)) continue;
      Batch copy = last ? std::move(batch) : batch;
      if (c.kind == Consumer::Kind::Fused) {
        deliver(c.target, c.input, std::move(copy));
      } else {
        post(c.target, {c.input, false, std::move(copy)});
      }
    }
  }
}

void Execution::post(size_t node, Message message) {
  size_t s = plan_.segment_of[node];
  {
    std::lock_guard lock(segments_[s]->mutex);
    segments_[s]->inbox.push_back(std::move(message));
  }
  schedule(s);
}

void Execution::deliver(size_t n, size_t input, Batch&& batch) {
  // The operator said it ignores every further tick on this input.
  if (!nodes_[n].input_wanted[input].load(std::memory_order_relaxed)) return;
  nodes_[n].stats.ticks_in += static_cast<int64_t>(batch.size());
  call(n, [&](Operator& op, OutputSink& out) { op.process(input, std::move(batch), out); });
}

bool Execution::produce(size_t n) {
  bool more = false;
  int64_t before = nodes_[n].stats.ticks_out;
  call(n, [&](Operator& op, OutputSink& out) { more = op.produce(out); });
  if (options_.ticks_produced) *options_.ticks_produced += nodes_[n].stats.ticks_out - before;
  return more;
}

void Execution::end_input(size_t n, size_t input) {
  call(n, [&](Operator& op, OutputSink& out) { op.input_finished(input, out); });
  if (--nodes_[n].open_inputs == 0) finish_node(n);
}

void Execution::finish_node(size_t n) {
  call(n, [&](Operator& op, OutputSink& out) { op.finish(out); });
  if (sequential_) flush_gathered(n);
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

// After every call of node n: an input its operator no longer wants stops being read.
void Execution::stop_unwanted_inputs(size_t n) {
  NodeState& state = nodes_[n];
  for (size_t i = 0; i < query_.nodes[n].inputs.size(); ++i) {
    if (state.input_wanted[i].load(std::memory_order_relaxed) && !state.op->wants_input(i)) {
      stop_input(n, i);
    }
  }
}

// Input `input` of node n is not read any more. When that was the last reader of the
// producer's last read port, the producer is abandoned: its own inputs stop too (and so on
// upstream), a source is finished instead of asked to produce, and OutputSink::connected
// says false for its ports. Only flags change here, so a consumer may call it from its
// segment while the producer runs in another; the producer's operator still gets
// input_finished and finish, so the run ends as usual.
void Execution::stop_input(size_t n, size_t input) {
  if (!nodes_[n].input_wanted[input].exchange(false)) return;
  auto [producer, port] = query_.nodes[n].inputs[input];
  NodeState& source = nodes_[producer];
  if (source.readers[port].fetch_sub(1) != 1) return;
  for (size_t p = 0; p < source.consumers.size(); ++p) {
    if (source.readers[p].load() > 0) return;
  }
  if (abandoned_[producer].exchange(true)) return;
  for (size_t i = 0; i < query_.nodes[producer].inputs.size(); ++i) stop_input(producer, i);
}

void Execution::check_all_finished() {
  for (size_t n = 0; n < nodes_.size(); ++n) {
    if (!nodes_[n].finished) {
      RuntimeError error("internal error: the run ended before this node finished");
      annotate(error, n);
      record_failure(error);
      return;
    }
  }
}

void Execution::finish_operators() {
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

}  // namespace tickflow::detail

namespace tickflow {

RunResult run_query(const Query& query, const Plan& plan, const RunOptions& options,
                    std::vector<OutputTap>& taps) {
  detail::Execution execution(query, plan, options, taps);
  return execution.run();
}

}  // namespace tickflow
