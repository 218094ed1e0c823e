// The power tree: exact statistics of the last W values of a stream, for any W up to a
// capacity, without ever subtracting one large sum from another.
//
// Contract of PowerTree
// ---------------------
// - Values are appended one at a time or as a span; position p is the p-th value appended
//   (0-based, never reused). The tree retains the last `capacity()` values.
// - `last(W)` and `range(begin, end)` return the statistics of the last W values, or of the
//   positions [begin, end), for any range inside the retained values. count, min, max,
//   first and last are exact. sum, mean and M2 are exact up to rounding errors that depend
//   only on the values inside the range, never on what came before them (a level shift, a
//   spike that has left, the stream's length): every block aggregate keeps its mean relative
//   to its own pivot (its minimum, a value of the block), and aggregates are merged with the
//   Chan et al. formula, whose terms are all non-negative; no path subtracts one sum from
//   another. Bounds, with n values in the range, R their range and eps = 2^-53: mean within
//   about eps * (|mean| + 4 * levels * R), sum within n times that, M2 within about
//   eps * (4 * levels + sqrt(n)) relative of the exact M2. In practice (tests against exact
//   rational arithmetic, levels from 1e-6 to 1e12 with sign changes, spikes and constant
//   stretches) mean and sum are within 1e-12 of mean|x| (sum|x|) and var within 1e-9
//   relative of exact.
// - NaN propagates: a range that holds a NaN has NaN sum, mean, var, min and max (count,
//   first and last are still exact); once the NaN has left the range, results are as if it
//   had never been there. An infinity gives mean ±inf or NaN and var NaN; min/max stay exact.
// - Variance is never negative, and exactly 0 for a constant range.
//
// Structures and memory (capacity C, base b >= 2, 40 bytes per block aggregate):
// - the last C raw values (8 * C bytes, a ring);
// - for each level k >= 1 with b^k <= C, a ring of the aggregates of the complete aligned
//   blocks [j*b^k, (j+1)*b^k) that lie in the retained range (C / b^k + 1 aggregates);
// - for each level k >= 2, the aggregate of the complete level-(k-1) blocks of the
//   current, incomplete level-k block (its running prefix). Levels beyond the capacity
//   are kept too (a ring of 2 blocks each), so that grow() never needs history it dropped.
// Total about (8 + 40 / (b - 1)) * C bytes: 12.4 bytes per value for base 10 (1.24 GB for
// C = 10^8), 48 bytes per value for base 2. Rings grow with the values actually appended,
// so a tree that has seen few values holds little memory whatever its capacity.
//
// Costs: append is amortized O(1) (one store, and every b values a two-pass aggregate of
// the completed level-1 block plus on average 1/(b-1) merges up the levels). A query of
// any range costs at most about 2 * (b - 1) * levels merges, and a range that ends at the
// newest value at most (b - 1) * levels + levels.
//
// For output on every tick, use SlidingWindow (any moving start) or TickWindow (a fixed tick
// count, a run of ticks at a time), below: they answer each tick with one merge.
//
// Not thread-safe; one tree per stream.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace tickflow {

// The statistics of a set of values, as the power tree reports them.
struct WindowStats {
  int64_t count = 0;
  double sum = 0.0;
  double mean = std::numeric_limits<double>::quiet_NaN();
  double m2 = 0.0;  // sum of squared deviations from the mean
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
  double first = std::numeric_limits<double>::quiet_NaN();
  double last = std::numeric_limits<double>::quiet_NaN();

  // Sample variance (n - 1); NaN below 2 values.
  double variance() const;
  double stddev() const;
  // Population variance (n); NaN for no values, 0 for one.
  double population_variance() const;
};

// Count, mean, M2, min and max of a set of values. The mean is held as `offset` above the
// set's own minimum (its pivot: a value of the set), so that the offset, M2 and every
// rounding error in them are proportional to the set's range, not to its level or to the
// values that came before it. `merge` is the Chan et al. combination of two disjoint sets:
// the difference of their means comes from the pivots (exact when they are within a
// factor 2 of each other, else rounded relative to their distance) and the offsets; every
// term added to M2 is non-negative, so M2 never goes below 0 and never carries error from
// values that are not in the set. An empty aggregate has count 0 and min +inf.
struct BlockAggregate {
  double count = 0.0;
  double offset = 0.0;  // mean - min
  double m2 = 0.0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();

  static BlockAggregate of(double value) { return {1.0, 0.0, 0.0, value, value}; }

  void add(double value) { merge(of(value)); }

  void merge(const BlockAggregate& other) {
    if (other.count == 0.0) return;
    if (count == 0.0) {
      *this = other;
      return;
    }
    const double total = count + other.count;
    const double delta = (other.min - min) + (other.offset - offset);
    const double other_share = other.count / total;
    m2 += other.m2 + delta * delta * count * other_share;
    if (other.min < min) {
      // The lower minimum becomes the pivot; the offset moves from that side (a NaN minimum
      // never compares lower, and is taken below).
      offset = other.offset - delta * (count / total);
      min = other.min;
    } else {
      offset += delta * other_share;
      min = min_propagating_nan(min, other.min);
    }
    max = max_propagating_nan(max, other.max);
    count = total;
  }

  static BlockAggregate merged(BlockAggregate a, const BlockAggregate& b) {
    a.merge(b);
    return a;
  }

  // The mean; with an infinite value in the set, +inf, -inf or NaN (both signs, or a NaN)
  // as the exact sum would give. NaN for an empty set.
  double mean() const {
    if (std::isfinite(min) && std::isfinite(max)) [[likely]]
      return min + offset;
    return mean_of_infinite(min, max);
  }
  // Sample variance (n - 1): NaN below 2 values or with an infinite or NaN value.
  double sample_variance() const {
    if (count < 2.0 || !std::isfinite(min) || !std::isfinite(max))
      return std::numeric_limits<double>::quiet_NaN();
    return m2 / (count - 1.0);
  }
  static double mean_of_infinite(double min, double max) {
    if (min == -std::numeric_limits<double>::infinity() &&
        max != std::numeric_limits<double>::infinity())
      return min;
    if (max == std::numeric_limits<double>::infinity() &&
        min != -std::numeric_limits<double>::infinity())
      return max;
    return std::numeric_limits<double>::quiet_NaN();
  }

  static double min_propagating_nan(double a, double b) { return (a < b || a != a) ? a : b; }
  static double max_propagating_nan(double a, double b) { return (a > b || a != a) ? a : b; }
  // Branch-free (minsd/maxsd); a NaN in `a` stays but a NaN in `b` is ignored: for callers
  // that detect NaN some other way.
  static double min_ignoring_nan(double a, double b) { return b < a ? b : a; }
  static double max_ignoring_nan(double a, double b) { return b > a ? b : a; }
};

class PowerTree {
  friend class SlidingWindow;
  friend class TickWindow;

 public:
  // capacity >= 1 values retained; base >= 2.
  explicit PowerTree(uint64_t capacity, uint32_t base = 10);

  void append(double value);
  void append(std::span<const double> values);

  // Values appended so far (the next value's position).
  uint64_t size() const { return size_; }
  uint64_t capacity() const { return capacity_; }
  uint32_t base() const { return base_; }
  // Position of the oldest retained value.
  uint64_t oldest() const {
    const uint64_t by_capacity = size_ > capacity_ ? size_ - capacity_ : 0;
    return by_capacity > retained_from_ ? by_capacity : retained_from_;
  }

  // Statistics of the last `window` values (all of them when fewer were appended);
  // window must be <= capacity().
  WindowStats last(uint64_t window) const;
  // Statistics of positions [begin, end); oldest() <= begin <= end <= size().
  WindowStats range(uint64_t begin, uint64_t end) const;

  // Keeps at least `capacity` values from now on (never shrinks). Time windows use it
  // when more ticks fall into their duration.
  void grow(uint64_t capacity);

  // Bytes held by the tree's structures.
  int64_t memory_bytes() const;

  // ---- for SlidingWindow and other exact consumers of the aggregates

  // The aggregate of [begin, end).
  BlockAggregate aggregate(uint64_t begin, uint64_t end) const;
  // The value at position p (oldest() <= p < size()).
  double value(uint64_t position) const { return values_.at(position); }
  // WindowStats of an aggregate of positions [begin, end).
  WindowStats stats(const BlockAggregate& aggregate, uint64_t begin, uint64_t end) const;

 private:
  // A ring of per-position entries that grows with use up to `slots` entries, so memory
  // follows the values actually appended. Entry p lives at p % slots; entries arrive in
  // position order, so appending needs no division.
  template <typename T>
  struct Ring {
    std::vector<T> items;
    uint64_t slots = 0;
    uint64_t cursor = 0;  // slot of the next entry once the ring is full

    void push(const T& item);
    void push(const T* items_in, size_t n);  // the same as n single pushes
    const T& at(uint64_t position) const { return items[position % slots]; }
    // Calls visit(entry) for positions end-1 down to begin (all retained).
    template <typename Visit>
    void visit_backward(uint64_t begin, uint64_t end, Visit&& visit) const {
      if (begin == end) return;
      uint64_t slot = (end - 1) % slots;
      for (uint64_t n = end - begin; n-- > 0;) {
        visit(items[slot]);
        slot = slot == 0 ? slots - 1 : slot - 1;
      }
    }
    void resize_slots(uint64_t new_slots, uint64_t first_live, uint64_t end);
  };

  void on_block_complete();
  void layout_levels();

  uint64_t capacity_;
  uint32_t base_;
  uint64_t size_ = 0;
  uint32_t in_block_ = 0;       // size_ % base_
  uint64_t retained_from_ = 0;  // values before it were dropped before a grow()

  Ring<double> values_;  // max(capacity_, base_) slots
  // block_size_[k] = base^k; levels_[k] for k >= 1 holds complete level-k blocks by index.
  std::vector<uint64_t> block_size_;
  std::vector<Ring<BlockAggregate>> levels_;
  // open_[k] (k >= 2): the complete level-(k-1) blocks of the current level-k block.
  std::vector<BlockAggregate> open_;
  std::vector<uint32_t> open_blocks_;  // open_blocks_[k]: level-(k-1) blocks merged into open_[k]
};

// Statistics of a window [start, end of stream) that moves forward, answered on every
// tick with one merge: the window is split at a point `split` into a front [start, split)
// and a back [split, size) where the back is a running aggregate of the values appended
// since the split, and the front is read from a precomputed chunk of suffix aggregates
// (suffix[i] = aggregate of [i, split)). A chunk covers up to `chunk` positions; it is
// built by one backward pass over the raw values, starting from the tree's aggregate of
// everything after the chunk. When start passes split, the split moves to the newest
// value. Each value is thus added once to the back and once to a chunk: amortized O(1)
// per tick plus one tree query per chunk, and memory of `chunk` aggregates.
//
// Call `advance` once after each append to the tree with the window's start
// (non-decreasing; oldest() <= start < size()).
class SlidingWindow {
 public:
  explicit SlidingWindow(uint64_t chunk);

  // The aggregate of [start, end); `end` is one past the value just appended to the window
  // (the tree may already hold values after it), `newest` that value (passing it saves a
  // lookup in the tree's ring).
  BlockAggregate advance(const PowerTree& tree, uint64_t start, uint64_t end, double newest) {
    if (!started_ || start > split_) [[unlikely]] {
      // The back would hold values that left the window: everything in the window becomes
      // front, served from chunks.
      restart(end);
    } else {
      // Updated in a local: reading the member right after its field-by-field store would
      // stall on store forwarding when the compiler loads two fields at once.
      BlockAggregate back = back_;
      back.add(newest);
      back_ = back;
      if (start == split_) return back;
      if (start < chunk_end_) [[likely]] {
        return BlockAggregate::merged(suffixes_[start - chunk_begin_], back);
      }
    }
    if (start == split_) return back_;
    if (start >= chunk_end_) build_chunk(tree, start);
    return BlockAggregate::merged(suffixes_[start - chunk_begin_], back_);
  }
  BlockAggregate advance(const PowerTree& tree, uint64_t start) {
    return advance(tree, start, tree.size(), tree.value(tree.size() - 1));
  }

  int64_t memory_bytes() const {
    return static_cast<int64_t>(suffixes_.capacity() * sizeof(BlockAggregate));
  }

 private:
  void restart(uint64_t end);
  void build_chunk(const PowerTree& tree, uint64_t start);

  uint64_t chunk_;
  uint64_t split_ = 0;
  BlockAggregate back_;  // [split_, tree.size())
  uint64_t chunk_begin_ = 0;
  uint64_t chunk_end_ = 0;                // chunk_begin_ == chunk_end_: no chunk
  std::vector<BlockAggregate> suffixes_;  // suffixes_[i] = [chunk_begin_ + i, split_)
  bool started_ = false;
};

// A window of the last W values (a fixed tick count), answered for a run of consecutive
// positions at once: the per-tick output path of rolling_stats. Same split as
// SlidingWindow (a back running forward from the split, a chunk of front suffixes built
// backward from a tree query), but
// - every division is a product with a reciprocal from a shared table (1/k for the counts
//   a window of W can hold; counts of a full window are W, so the merge needs no division);
// - the back and the chunk keep a running sum of shifted values rather than a running
//   mean: the loop-carried dependency is one addition, the means (sum * 1/k) and the M2
//   terms ((x - mean_before) * (x - mean_after), Welford's, non-negative) come off it;
// - the back is never empty: after a restart the split is the newest value, so the merge
//   uses the back as its base and an empty front is a suffix of weight 0 (no branch);
// - values are shifted by one pivot, the value at the split: every window the back and the
//   chunk serve contains it, so each shifted value, and its rounding, is bounded by the
//   range of the window it is used in, whatever the stream held before;
// - a run is cut only where the chunk or the split changes, so the inner loop is straight.
// Memory: `chunk + 1` suffixes of 32 bytes.
class TickWindow {
 public:
  explicit TickWindow(uint64_t window);

  // For i < n, the statistics of the window that ends with position first + i (the
  // min(W, first + i + 1) positions up to and including it): mean, sample variance (NaN below 2
  // values), min and max. `values` are the values at those positions. The tree must already hold
  // position first + n - 1 and still retain first + i + 1 - W for every i (capacity >= W + n).
  void run(const PowerTree& tree, uint64_t first, size_t n, const double* values, double* mean,
           double* var, double* min, double* max);

  uint64_t window() const { return window_; }
  int64_t memory_bytes() const {
    return static_cast<int64_t>(suffixes_.capacity() * sizeof(Suffix));
  }

 private:
  struct Suffix {
    double mean;  // relative to the pivot
    double m2;
    double min;
    double max;
  };

  void restart(uint64_t position, double value);
  void build_chunk(const PowerTree& tree, uint64_t start);
  template <bool kNaN>
  double fill_chunk(const PowerTree& tree);
  template <bool kFull>
  void serve_any(uint64_t end, size_t n, const double* values, double* mean, double* var,
                 double* min, double* max);
  template <bool kFull, bool kNaN>
  void serve(uint64_t end, size_t n, const double* values, double* mean, double* var, double* min,
             double* max);
  double reciprocal(uint64_t k) const { return k < table_size_ ? table_[k] : 1.0 / k; }

  uint64_t window_;
  uint64_t chunk_;
  const double* table_;  // table_[k] = 1/k (table_[0] = NaN), shared by all windows
  uint64_t table_size_;
  bool valid_ = false;
  uint64_t split_ = 0;
  double pivot_ = 0.0;  // the value at split_
  // The back [split_, next position): count, sum of shifted values, M2, min, max.
  uint64_t back_count_ = 0;
  double back_sum_ = 0.0;
  double back_m2_ = 0.0;
  double back_min_ = 0.0;
  double back_max_ = 0.0;
  uint64_t chunk_begin_ = 0;
  uint64_t chunk_end_ = 0;
  // suffixes_[i] = [chunk_begin_ + i, split_); when chunk_end_ == split_ one more entry,
  // the empty suffix, serves start == split_.
  std::vector<Suffix> suffixes_;
};

// A chunk length for a window of `window` ticks: the whole window when it is short, else a
// fraction of it, so that chunk memory stays below the window's raw values and the tree
// query per chunk stays a small share of the chunk's work.
uint64_t sliding_chunk_for(uint64_t window);

}  // namespace tickflow
