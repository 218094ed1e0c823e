// The order in which a sequential run (Plan::sequential) lets source ticks enter the graph.
// Internal to executor.cpp.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "tickflow/batch.hpp"

namespace tickflow::detail {

// Interleaves several sources in time order: next() returns the longest run of ticks of
// one source that all come before every other source's next tick, at equal times the
// source listed first going first. Without `exact`, it returns the whole next batch of the
// source whose next tick is earliest: ticks enter in batches, no source gets more than a
// batch ahead of the others (which keeps fan-in EPs from holding much), but a batch may
// reach past another source's next tick — enough when nothing depends on tick passage. A source's
// produce is called only when its produced ticks have all been handed out, so at most one produce
// call's output per source is held; when a source is exhausted and drained, `finish` is called for
// it at once, right after its last tick, before any later tick of another source.
class SourceInterleave {
 public:
  struct Run {
    size_t node = 0;
    size_t port = 0;
    Batch ticks;
  };

  // Source node indices, in the order that breaks ties.
  SourceInterleave(const std::vector<size_t>& nodes, bool exact) : exact_(exact) {
    for (size_t n : nodes) sources_.push_back(Source{n, {}, 0, false, false, false, 0});
  }

  // `produce(node, out)` appends (port, batch) pairs to `out` and returns false once the
  // source is exhausted; `finish(node)` ends a source. Returns nullopt when every source
  // has ended.
  template <class Produce, class Finish>
  std::optional<Run> next(Produce&& produce, Finish&& finish) {
    return next(produce, finish, [](size_t) { return std::optional<int64_t>(); });
  }

  // The same for a standing run, where a live source may have nothing now without being
  // exhausted: `idle_bound(node)` gives the time such a source has passed (it will deliver
  // no tick earlier), or nullopt for a source that is never idle. With `exact`, an idle
  // source bounds the others like a next tick at that time, and next() returns nullopt
  // when the earliest tick must wait for it (see waiting()).
  template <class Produce, class Finish, class IdleBound>
  std::optional<Run> next(Produce&& produce, Finish&& finish, IdleBound&& idle_bound) {
    Source* first = nullptr;
    Source* second = nullptr;
    for (Source& source : sources_) {
      source.idle = false;
      while (!source.done && source.batches.empty() && !source.exhausted) {
        source.exhausted = !produce(source.node, source.batches);
        while (!source.batches.empty() && source.batches.front().second.empty()) {
          source.batches.pop_front();
        }
        if (source.batches.empty() && !source.exhausted) {
          if (auto bound = idle_bound(source.node)) {
            source.idle = true;
            source.bound = *bound;
            break;
          }
        }
      }
      if (source.done || (source.idle && !exact_)) continue;
      if (source.batches.empty() && !source.idle) {
        source.done = true;
        finish(source.node);
        continue;
      }
      if (!first || head_time(source) < head_time(*first)) {
        second = first;
        first = &source;
      } else if (!second || head_time(source) < head_time(*second)) {
        second = &source;
      }
    }
    if (!first || first->idle) return std::nullopt;
    auto& [port, batch] = first->batches.front();
    const size_t begin = first->offset;
    size_t end = batch.size();
    if (second && exact_) {
      // Sources are scanned in tie-breaking order, so on equal head times `first` is
      // listed before `second`. Ticks at `second`'s head time go first only when `first` is
      // listed earlier: ties go by source position, however the ticks came in batches.
      const int64_t limit = head_time(*second);
      const bool ties_go = first < second;
      end = begin;
      while (end < batch.size() &&
             (batch.times[end] < limit || (batch.times[end] == limit && ties_go))) {
        ++end;
      }
    }
    Run run{first->node, port, {}};
    const bool consumed = end == batch.size();
    run.ticks = begin == 0 && consumed ? std::move(batch) : batch.slice(begin, end);
    first->offset = end;
    if (consumed) {
      first->batches.pop_front();
      first->offset = 0;
    }
    return run;
  }

  // After next() returned nullopt: true when a source is only waiting for ticks (a standing
  // run goes on later), false when every source has ended.
  bool waiting() const {
    for (const Source& source : sources_) {
      if (!source.done) return true;
    }
    return false;
  }

  // The time source `node` has passed as far as the graph is concerned: its next tick not
  // yet handed out, else `otherwise` (its feed's time) while it is open, else the end of time.
  int64_t passed(size_t node, int64_t otherwise) const {
    for (const Source& source : sources_) {
      if (source.node != node) continue;
      if (!source.batches.empty()) return head_time(source);
      if (source.done) return std::numeric_limits<int64_t>::max();
      return otherwise;
    }
    return otherwise;
  }

 private:
  struct Source {
    size_t node;
    std::deque<std::pair<size_t, Batch>> batches;  // (port, ticks) produced, not handed out
    size_t offset = 0;                             // ticks of the front batch handed out
    bool exhausted = false;
    bool done = false;
    bool idle = false;  // nothing now, not exhausted (a live source in a standing run)
    int64_t bound = 0;  // when idle: the time it has passed
  };

  static int64_t head_time(const Source& source) {
    return source.idle ? source.bound : source.batches.front().second.times[source.offset];
  }

  std::vector<Source> sources_;
  bool exact_;
};

}  // namespace tickflow::detail
