// The sequential run of Execution, on the calling thread by direct calls: for a plan with
// tick passage (Plan::sequential) ticks pass the marked nodes one at a time and the sources
// interleave tick by tick; for RunOptions::one_thread the same machinery moves whole
// batches. See execution.hpp.
#include <deque>
#include <utility>

#include "exec/execution.hpp"
#include "exec/source_interleave.hpp"

namespace tickflow::detail {

// Routing in a sequential run. Each tick of `batch` goes through every consumer that
// takes ticks one at a time (and everything downstream of it) before the next tick
// starts. The other consumers and taps touch no written state, so when they run does not
// matter: they get the batch afterwards — and ticks of a node that runs tick by tick
// are first gathered into batches of --batch-size, so the rest of the graph does not pay
// per-tick calls.
void Execution::route_sequential(size_t n, size_t port, Batch&& batch) {
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
          deliver(c.target, c.input, batch.size() == 1 ? Batch(batch) : batch.slice(row, row + 1));
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

// Hands a batch to the consumers of a sequential run that take whole batches: taps first,
// then the nodes, the last of which gets the batch itself and the others copies.
void Execution::deliver_batch(size_t n, size_t port, Batch&& batch) {
  const auto& consumers = nodes_[n].consumers[port];
  size_t last = consumers.size();
  for (size_t i = 0; i < consumers.size(); ++i) {
    const Consumer& c = consumers[i];
    if (c.kind == Consumer::Kind::Tap) {
      taps_[c.target].on_batch(batch);
    } else if (!plan_.tick_by_tick[c.target]) {
      last = i;
    }
  }
  for (size_t i = 0; i < consumers.size(); ++i) {
    const Consumer& c = consumers[i];
    if (c.kind == Consumer::Kind::Fused && !plan_.tick_by_tick[c.target]) {
      deliver(c.target, c.input, i == last ? std::move(batch) : Batch(batch));
    }
  }
}

void Execution::flush_gathered(size_t n) {
  NodeState& state = nodes_[n];
  for (size_t port = 0; port < state.gathered.size(); ++port) {
    if (state.gathered[port].empty()) continue;
    Batch batch = std::move(state.gathered[port]);
    state.gathered[port] = Batch();
    deliver_batch(n, port, std::move(batch));
  }
}

// A sequential run on the calling thread. The sources are interleaved in time order — the
// next ticks to enter the graph are always the earliest pending ones, ties going to the
// source declared first (for one_thread runs: the next batch of the source whose next tick
// is earliest) — and every tick goes as far through the graph as it can (depth first,
// consumers in node order) before the next one enters. A source ends right after its last
// tick.
void Execution::run_sequential() {
  std::vector<size_t> sources;
  for (size_t n = 0; n < query_.nodes.size(); ++n) {
    if (query_.nodes[n].inputs.empty()) sources.push_back(n);
  }
  SourceInterleave interleave(sources, /*exact=*/plan_.sequential);
  auto produce = [&](size_t node, std::deque<std::pair<size_t, Batch>>& into) {
    if (abandoned(node)) return false;  // downstream finished: the source ends here
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
    if (options_.interrupt && options_.interrupt->load()) throw RuntimeError(kInterruptedMessage);
    auto run = interleave.next(produce, finish);
    if (!run) break;
    route_batch(run->node, run->port, std::move(run->ticks));
  }
}

void Execution::run_sequential_guarded() {
  try {
    run_sequential();
  } catch (RuntimeError& e) {
    record_failure(e);
  } catch (const std::exception& e) {
    record_failure(RuntimeError(e.what()));
  }
}

}  // namespace tickflow::detail
