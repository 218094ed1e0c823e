// One symbol's values in the statistics service: a base-10 power tree that keeps the last
// 10^max_k values, and the statistics of the last 10^k values for each k, cached until the
// next append.
//
// Contract of Series
// ------------------
// - append() adds finite values in order; values older than the last 10^max_k are dropped.
// - stats(k) for 1 <= k <= max_k answers over the last min(10^k, held()) values: count,
//   min, max and last exact; mean and M2 merged from block aggregates (Chan et al.), never
//   subtracted, so the accuracy does not depend on values that have left the window.
//   The first call after an append costs O(log n) merges; later calls until the next append
//   return the cached result.
// - Not thread-safe: the service runs every call for one symbol on that symbol's strand.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tickflow/power_tree.hpp"

namespace tickflow::server {

// 10^k as an integer, for 0 <= k <= 18.
uint64_t power_of_ten(int k);

class Series {
 public:
  explicit Series(int max_k);

  void append(std::span<const double> values);

  // Values held: min(values appended, 10^max_k).
  uint64_t held() const;
  // Values appended since the series began (including those dropped).
  uint64_t appended() const { return tree_.size(); }
  int max_k() const { return max_k_; }

  // Statistics of the last min(10^k, held()) values; 1 <= k <= max_k.
  const WindowStats& stats(int k);

  int64_t memory_bytes() const { return tree_.memory_bytes(); }

 private:
  int max_k_;
  PowerTree tree_;
  std::vector<std::optional<WindowStats>> cache_;  // cache_[k - 1]
};

}  // namespace tickflow::server
