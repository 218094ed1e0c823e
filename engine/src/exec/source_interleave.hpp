// The order in which a sequential run (Plan::sequential) lets source ticks enter the graph.
// Internal to executor.cpp.
#pragma once

#include <cstdint>
#include <deque>
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
    for (size_t n : nodes) sources_.push_back(Source{n, {}, 0, false, false});
  }

  // `produce(node, out)` appends (port, batch) pairs to `out` and returns false once the
  // source is exhausted; `finish(node)` ends a source. Returns nullopt when every source
  // has ended.
  template <class Produce, class Finish>
  std::optional<Run> next(Produce&& produce, Finish&& finish) {
    Source* first = nullptr;
    Source* second = nullptr;
    for (Source& source : sources_) {
      while (!source.done && source.batches.empty() && !source.exhausted) {
        source.exhausted = !produce(source.node, source.batches);
        while (!source.batches.empty() && source.batches.front().second.empty()) {
          source.batches.pop_front();
        }
      }
      if (source.done) continue;
      if (source.batches.empty()) {
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
    if (!first) return std::nullopt;
    auto& [port, batch] = first->batches.front();
    const size_t begin = first->offset;
    size_t end = batch.size();
    if (second && exact_) {
      // Sources are scanned in tie-breaking order, so on equal head times `first` is
      // listed before `second` and its ticks at that time go first.
      const int64_t limit = head_time(*second);
      end = begin;
      while (end < batch.size() && batch.times[end] <= limit) ++end;
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

 private:
  struct Source {
    size_t node;
    std::deque<std::pair<size_t, Batch>> batches;  // (port, ticks) produced, not handed out
    size_t offset = 0;                             // ticks of the front batch handed out
    bool exhausted = false;
    bool done = false;
  };

  static int64_t head_time(const Source& source) {
    return source.batches.front().second.times[source.offset];
  }

  std::vector<Source> sources_;
  bool exact_;
};

}  // namespace tickflow::detail
