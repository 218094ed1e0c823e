// StandingRun (tickflow/standing.hpp): the sequential run of Execution driven step by step
// for a standing query. Ticks enter through the same SourceInterleave as in a batch run,
// with live sources that may be idle; after each step the times every source has passed
// are carried down the graph to the EPs that wait for time (Operator::input_passed).
#include "tickflow/standing.hpp"

#include <algorithm>
#include <limits>

#include "exec/execution.hpp"

namespace tickflow {
namespace detail {

void Execution::start_standing(const LiveFeeds& feeds) {
  live_ = &feeds;
  try {
    setup();
  } catch (const RuntimeError& e) {
    record_failure(e);
  } catch (const std::exception& e) {
    record_failure(RuntimeError(e.what()));
  }
  throw_if_failed();
  std::vector<size_t> sources;
  for (size_t n = 0; n < query_.nodes.size(); ++n) {
    if (query_.nodes[n].inputs.empty()) sources.push_back(n);
  }
  interleave_ = std::make_unique<SourceInterleave>(sources, /*exact=*/plan_.sequential);
  passed_out_.assign(query_.nodes.size(), LiveFeed::kNoTime);
  passed_in_.resize(query_.nodes.size());
  for (size_t n = 0; n < query_.nodes.size(); ++n) {
    passed_in_[n].assign(query_.nodes[n].inputs.size(), LiveFeed::kNoTime);
  }
}

void Execution::throw_if_failed() const {
  if (failed_) throw first_error_;
}

// Hands the graph every tick that may enter now (see SourceInterleave::next).
void Execution::feed_standing() {
  auto produce = [&](size_t node, std::deque<std::pair<size_t, Batch>>& into) {
    bool more = false;
    Collector out =
        call_collect(node, [&](Operator& op, OutputSink& sink) { more = op.produce(sink); });
    for (auto& item : out.items) into.push_back(std::move(item));
    return more;
  };
  auto finish = [&](size_t node) { finish_node(node); };
  auto idle_bound = [&](size_t node) -> std::optional<int64_t> {
    const LiveFeed* feed = live_->find(query_.nodes[node].id);
    if (!feed || feed->closed()) return std::nullopt;
    return feed->passed();
  };
  while (!failed_) {
    auto run = interleave_->next(produce, finish, idle_bound);
    if (!run) break;
    route_batch(run->node, run->port, std::move(run->ticks));
  }
  // Ticks gathered for consumers that take whole batches go now, not when a batch fills.
  for (size_t n = 0; n < nodes_.size() && !failed_; ++n) flush_gathered(n);
}

// Carries the times the sources have passed down the graph, in topological order. A node's
// output has passed what its operator says (Operator::input_passed), or by default, for an
// EP that accumulates nothing, the earliest time its inputs have passed.
void Execution::pass_times() {
  for (size_t n = 0; n < query_.nodes.size() && !failed_; ++n) {
    const BoundNode& node = query_.nodes[n];
    if (node.inputs.empty()) {
      const LiveFeed* feed = live_->find(node.id);
      passed_out_[n] = interleave_->passed(n, feed ? feed->passed() : LiveFeed::kNoTime);
      continue;
    }
    if (nodes_[n].finished) continue;
    // Nodes that run tick by tick for state variables release only as ticks pass, as in
    // a batch run: what a state reader sees must not depend on when time passed.
    const bool told = !(plan_.sequential && plan_.tick_by_tick[n]);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int64_t time = passed_out_[node.inputs[i].first];
      if (time <= passed_in_[n][i]) continue;
      passed_in_[n][i] = time;
      if (!told) continue;
      std::optional<int64_t> promised;
      call(n, [&](Operator& op, OutputSink& out) { promised = op.input_passed(i, time, out); });
      flush_gathered(n);
      if (promised) {
        passed_out_[n] = std::max(passed_out_[n], *promised);
      } else if (node.accumulation.kind == Accumulation::Kind::None) {
        const int64_t earliest = *std::min_element(passed_in_[n].begin(), passed_in_[n].end());
        passed_out_[n] = std::max(passed_out_[n], earliest);
      }
    }
  }
}

void Execution::pump_standing() {
  throw_if_failed();
  try {
    feed_standing();
    if (!failed_) pass_times();
  } catch (RuntimeError& e) {
    record_failure(e);
  } catch (const std::exception& e) {
    record_failure(RuntimeError(e.what()));
  }
  throw_if_failed();
}

RunResult Execution::close_standing() {
  if (!failed_) {
    try {
      // The feeds are closed: every source now runs to its end.
      do {
        feed_standing();
      } while (!failed_ && interleave_->waiting());
    } catch (RuntimeError& e) {
      record_failure(e);
    } catch (const std::exception& e) {
      record_failure(RuntimeError(e.what()));
    }
  }
  return collect_result();
}

std::vector<NodeStats> Execution::node_stats() const {
  std::vector<NodeStats> stats;
  for (const auto& state : nodes_) stats.push_back(state.stats);
  return stats;
}

std::vector<Held> Execution::node_held() const {
  std::vector<Held> held;
  for (const auto& state : nodes_) held.push_back(state.op ? state.op->held() : Held{});
  return held;
}

}  // namespace detail

StandingRun::StandingRun(const Query& query, const Plan& plan, RunOptions options,
                         std::vector<OutputTap> taps, const LiveFeeds& feeds)
    : options_(std::move(options)), taps_(std::move(taps)) {
  options_.one_thread = true;  // direct calls, time-ordered sources: the sequential run
  execution_ = std::make_unique<detail::Execution>(query, plan, options_, taps_);
  execution_->start_standing(feeds);
}

StandingRun::~StandingRun() = default;

void StandingRun::pump() {
  execution_->pump_standing();
}

RunResult StandingRun::close() {
  return execution_->close_standing();
}

std::vector<NodeStats> StandingRun::stats() const {
  return execution_->node_stats();
}

std::vector<Held> StandingRun::held() const {
  return execution_->node_held();
}

}  // namespace tickflow
