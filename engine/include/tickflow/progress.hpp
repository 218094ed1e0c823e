// How far a run's sources have come, for the progress line of `tickflow run` (% and an
// estimate of the time left).
//
// Contract of SourceProgress
// --------------------------
// - The engine gives each source node of a run a SourceProgress in RunContext::progress
//   when someone watches the run, and null otherwise: a source checks before using it.
// - A source that knows its total before it starts (the bytes of its file, the ticks it
//   will generate, the rows it will read) calls set_total once, before or with its first
//   tick, then raises `done` as it goes, in the same units, up to the total when it ends.
//   A source that cannot know (ticks pushed over HTTP, standard input) leaves the total
//   unset: the run then shows no percentage, only counts.
// - Work shared by several runs (one read of a file whose rows are split by symbol)
//   follows a counter of the shared work: `done` then reads that counter, which must
//   outlive the run, until follow(nullptr).
// - Relaxed atomics: the source's thread writes, a display on another thread reads; no
//   ordering with the ticks is implied.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>

namespace tickflow {

class SourceProgress {
 public:
  void set_total(int64_t total) { total_.store(total, std::memory_order_relaxed); }
  void set_done(int64_t done) { done_.store(done, std::memory_order_relaxed); }
  void add_done(int64_t units) { done_.fetch_add(units, std::memory_order_relaxed); }
  void follow(const std::atomic<int64_t>* shared_done) {
    shared_done_.store(shared_done, std::memory_order_relaxed);
  }

  int64_t total() const { return total_.load(std::memory_order_relaxed); }  // -1: unknown
  int64_t done() const {
    const std::atomic<int64_t>* shared = shared_done_.load(std::memory_order_relaxed);
    return shared ? shared->load(std::memory_order_relaxed) : done_.load(std::memory_order_relaxed);
  }
  // done / total in [0, 1]; nullopt while the total is unknown (a total of 0 is done).
  std::optional<double> fraction() const {
    const int64_t total = this->total();
    if (total < 0) return std::nullopt;
    if (total == 0) return 1.0;
    return std::clamp(static_cast<double>(done()) / static_cast<double>(total), 0.0, 1.0);
  }

 private:
  std::atomic<int64_t> total_{-1};
  std::atomic<int64_t> done_{0};
  std::atomic<const std::atomic<int64_t>*> shared_done_{nullptr};
};

}  // namespace tickflow
