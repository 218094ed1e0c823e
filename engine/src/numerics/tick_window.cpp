// TickWindow: the run-at-a-time path of a fixed tick window (see power_tree.hpp).
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>

#include "tickflow/power_tree.hpp"

namespace tickflow {

namespace {

// Tables of 1/k come in power-of-two sizes, each built once per process and shared by
// every window that fits it. Beyond the largest (8 MB) windows divide instead: at that
// size a division per tick is a small share of the cache misses they cause anyway.
constexpr int kMinTableBits = 12;
constexpr int kMaxTableBits = 20;

const double* reciprocal_table(int bits) {
  static std::array<std::once_flag, kMaxTableBits + 1> once;
  static std::array<std::unique_ptr<double[]>, kMaxTableBits + 1> tables;
  std::call_once(once[bits], [bits] {
    const uint64_t size = uint64_t{1} << bits;
    auto table = std::make_unique<double[]>(size);
    // 1/0 would be inf, and M2 * inf is NaN only when M2 is 0; NaN makes "variance of one
    // value" NaN whatever M2 holds.
    table[0] = std::numeric_limits<double>::quiet_NaN();
    for (uint64_t k = 1; k < size; ++k) table[k] = 1.0 / static_cast<double>(k);
    tables[bits] = std::move(table);
  });
  return tables[bits].get();
}

double min_nan(double a, double b) {
  return BlockAggregate::min_propagating_nan(a, b);
}
double max_nan(double a, double b) {
  return BlockAggregate::max_propagating_nan(a, b);
}

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TickWindow::TickWindow(uint64_t window)
    : window_(std::max<uint64_t>(window, 1)), chunk_(sliding_chunk_for(window_)) {
  // Counts reach W (a full back, a full window); the table needs index W.
  const int bits = std::max(kMinTableBits, static_cast<int>(std::bit_width(window_)));
  const int used = std::min(bits, kMaxTableBits);
  table_ = reciprocal_table(used);
  table_size_ = uint64_t{1} << used;
}

void TickWindow::restart(uint64_t position, double value) {
  valid_ = true;
  split_ = position;
  // Inside every window the back and the chunks serve until the next restart. A NaN or an
  // infinite pivot would make every shifted value NaN; such a value shows in min and max
  // (and in the sums wherever it is in the window), so 0 serves instead.
  pivot_ = std::isfinite(value) ? value : 0.0;
  back_count_ = 0;
  back_sum_ = back_m2_ = 0.0;
  back_min_ = kInf;
  back_max_ = -kInf;
  chunk_begin_ = chunk_end_ = position;
  suffixes_.resize(std::max<size_t>(suffixes_.size(), 1));
  suffixes_[0] = Suffix{0.0, 0.0, kInf, -kInf};
}

void TickWindow::build_chunk(const PowerTree& tree, uint64_t start) {
  chunk_begin_ = start;
  chunk_end_ = std::min(start + chunk_, split_);
  const uint64_t length = chunk_end_ - chunk_begin_;
  if (suffixes_.size() < length + 1) suffixes_.resize(length + 1);
  // A NaN-aware min is a branch that random data mispredicts; plain min is not. A NaN (or
  // +inf with -inf) makes the running sum NaN, and only then is the chunk filled again
  // NaN-aware.
  if (std::isnan(fill_chunk<false>(tree))) [[unlikely]]
    fill_chunk<true>(tree);
  suffixes_[length] = Suffix{0.0, 0.0, kInf, -kInf};
}

// Suffixes backward from the aggregate of everything after the chunk up to the split;
// returns the final running sum.
template <bool kNaN>
double TickWindow::fill_chunk(const PowerTree& tree) {
  const BlockAggregate after = tree.aggregate(chunk_end_, split_);
  const double pivot = pivot_;
  uint64_t count = split_ - chunk_end_;
  // The aggregate's mean relative to the pivot: the pivot and the aggregate's minimum are
  // both in the window, so their distance is within its range.
  double mean = 0.0;
  if (count > 0) {
    mean = std::isfinite(after.min) && std::isfinite(after.max) ? (after.min - pivot) + after.offset
                                                                : after.mean() - pivot;
  }
  double sum = mean * static_cast<double>(count);
  double m2 = after.m2, lo = after.min, hi = after.max;
  uint64_t i = chunk_end_ - chunk_begin_;
  tree.values_.visit_backward(chunk_begin_, chunk_end_, [&](double raw) {
    const double shifted = raw - pivot;
    sum += shifted;
    const double next_mean = sum * reciprocal(++count);
    m2 += (shifted - mean) * (shifted - next_mean);
    mean = next_mean;
    lo = kNaN ? min_nan(lo, raw) : BlockAggregate::min_ignoring_nan(lo, raw);
    hi = kNaN ? max_nan(hi, raw) : BlockAggregate::max_ignoring_nan(hi, raw);
    suffixes_[--i] = Suffix{mean, m2, lo, hi};
  });
  return sum;
}

template <bool kFull>
void TickWindow::serve_any(uint64_t end, size_t n, const double* values, double* mean, double* var,
                           double* min, double* max) {
  // As in build_chunk: branch-free min and max unless the back holds a NaN; a NaN met on
  // the way shows in the sum, and the rows are then served again NaN-aware.
  if (!std::isnan(back_sum_)) {
    const uint64_t count = back_count_;
    const double sum = back_sum_, m2 = back_m2_, lo = back_min_, hi = back_max_;
    serve<kFull, false>(end, n, values, mean, var, min, max);
    if (!std::isnan(back_sum_)) [[likely]]
      return;
    back_count_ = count;
    back_sum_ = sum;
    back_m2_ = m2;
    back_min_ = lo;
    back_max_ = hi;
  }
  serve<kFull, true>(end, n, values, mean, var, min, max);
}

// Rows whose windows all start at the same kind of place: kFull, the window holds W values
// and its start moves with the row; otherwise (the first W - 1 values of the stream) it
// starts at 0 and grows. The front suffix for every row is in the current chunk.
template <bool kFull, bool kNaN>
void TickWindow::serve(uint64_t end, size_t n, const double* values, double* mean_out,
                       double* var_out, double* min_out, double* max_out) {
  const double pivot = pivot_;
  const uint64_t start = kFull ? end - window_ : 0;
  const Suffix* front = &suffixes_[start - chunk_begin_];
  const double inverse_window = reciprocal(window_);
  const double inverse_window_1 = reciprocal(window_ - 1);
  uint64_t count = back_count_;
  double sum = back_sum_, m2 = back_m2_, lo = back_min_, hi = back_max_;
  double mean = count > 0 ? sum * reciprocal(count) : 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double raw = values[i];
    const double shifted = raw - pivot;
    sum += shifted;
    ++count;
    const double next_mean = sum * reciprocal(count);
    m2 += (shifted - mean) * (shifted - next_mean);
    mean = next_mean;
    lo = kNaN ? min_nan(lo, raw) : BlockAggregate::min_ignoring_nan(lo, raw);
    hi = kNaN ? max_nan(hi, raw) : BlockAggregate::max_ignoring_nan(hi, raw);

    // Chan merge with the back as base: an empty front (weight 0) leaves it unchanged.
    const uint64_t total = kFull ? window_ : end + i;
    const double inverse_total = kFull ? inverse_window : reciprocal(total);
    const double back_count = static_cast<double>(count);
    const Suffix& f = front[kFull ? i : 0];
    const double front_weight = static_cast<double>(total - count) * inverse_total;
    const double delta = f.mean - mean;
    const double merged_mean = mean + delta * front_weight;
    const double merged_m2 = m2 + f.m2 + delta * delta * back_count * front_weight;
    mean_out[i] = pivot + merged_mean;
    var_out[i] = merged_m2 * (kFull ? inverse_window_1 : reciprocal(total - 1));
    // A NaN in the front stays (first argument); the back has none unless kNaN.
    min_out[i] = kNaN ? min_nan(f.min, lo) : BlockAggregate::min_ignoring_nan(f.min, lo);
    max_out[i] = kNaN ? max_nan(f.max, hi) : BlockAggregate::max_ignoring_nan(f.max, hi);
  }
  back_count_ = count;
  back_sum_ = sum;
  back_m2_ = m2;
  back_min_ = lo;
  back_max_ = hi;
}

void TickWindow::run(const PowerTree& tree, uint64_t first, size_t n, const double* values,
                     double* mean, double* var, double* min, double* max) {
  size_t i = 0;
  while (i < n) {
    const uint64_t end = first + i + 1;  // one past the row's position
    const uint64_t start = end > window_ ? end - window_ : 0;
    // The back would hold values that left the window: the newest value starts a new back
    // (and is the new pivot), the rest of the window is front.
    if (!valid_ || start > split_) restart(end - 1, values[i]);
    if (start < split_ && (start < chunk_begin_ || start >= chunk_end_)) build_chunk(tree, start);
    size_t rows;
    if (end < window_) {
      rows = std::min<uint64_t>(n - i, window_ - end);
      serve_any<false>(end, rows, values + i, mean + i, var + i, min + i, max + i);
    } else {
      // Up to the chunk's end, or through start == split_ when the chunk reaches the split.
      const uint64_t limit = chunk_end_ == split_ ? split_ + 1 : chunk_end_;
      rows = std::min<uint64_t>(n - i, limit - start);
      serve_any<true>(end, rows, values + i, mean + i, var + i, min + i, max + i);
    }
    i += rows;
  }
}

}  // namespace tickflow
