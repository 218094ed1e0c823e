#include "tickflow/power_tree.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace tickflow {

namespace {

// Block sizes stop below this so that base^k never overflows.
constexpr uint64_t kMaxBlockSize = uint64_t{1} << 62;

}  // namespace

double WindowStats::variance() const {
  if (count < 2) return std::numeric_limits<double>::quiet_NaN();
  return m2 / static_cast<double>(count - 1);
}

double WindowStats::population_variance() const {
  if (count < 1) return std::numeric_limits<double>::quiet_NaN();
  return m2 / static_cast<double>(count);
}

double WindowStats::stddev() const {
  return std::sqrt(variance());
}

// ---------------------------------------------------------------- Ring

template <typename T>
void PowerTree::Ring<T>::push(const T& item) {
  if (items.size() < slots) {
    if (items.size() == items.capacity()) {
      // Grow geometrically but never past `slots`, so a full ring holds exactly its slots.
      items.reserve(std::min<uint64_t>(slots, std::max<uint64_t>(16, 2 * items.size())));
    }
    items.push_back(item);
    cursor = items.size() == slots ? 0 : items.size();
    return;
  }
  items[cursor] = item;
  if (++cursor == slots) cursor = 0;
}

template <typename T>
void PowerTree::Ring<T>::push(const T* items_in, size_t n) {
  while (n > 0 && items.size() < slots) {
    push(*items_in++);
    --n;
  }
  while (n > 0) {
    const size_t take = std::min<uint64_t>(n, slots - cursor);
    std::copy(items_in, items_in + take, items.begin() + static_cast<std::ptrdiff_t>(cursor));
    cursor += take;
    if (cursor == slots) cursor = 0;
    items_in += take;
    n -= take;
  }
}

template <typename T>
void PowerTree::Ring<T>::resize_slots(uint64_t new_slots, uint64_t first_live, uint64_t end) {
  if (new_slots <= slots) return;
  std::vector<T> moved;
  moved.reserve(std::min(end, new_slots));
  moved.resize(std::min(end, new_slots));
  for (uint64_t p = first_live; p < end; ++p) moved[p % new_slots] = at(p);
  items = std::move(moved);
  slots = new_slots;
  cursor = end % new_slots;
}

// ---------------------------------------------------------------- PowerTree

PowerTree::PowerTree(uint64_t capacity, uint32_t base) : capacity_(capacity), base_(base) {
  if (capacity == 0) throw std::invalid_argument("power tree capacity must be at least 1");
  if (base < 2) throw std::invalid_argument("power tree base must be at least 2");
  block_size_.push_back(1);
  while (block_size_.back() <= kMaxBlockSize / base_)
    block_size_.push_back(block_size_.back() * base_);
  levels_.resize(block_size_.size());
  open_.resize(block_size_.size());
  open_blocks_.resize(block_size_.size());
  layout_levels();
}

void PowerTree::layout_levels() {
  const uint64_t first_live = oldest();
  values_.resize_slots(std::max<uint64_t>(capacity_, base_), first_live, size_);
  for (size_t k = 1; k < levels_.size(); ++k) {
    // The complete level-k blocks inside the retained range, plus slack for misalignment.
    const uint64_t block = block_size_[k];
    levels_[k].resize_slots(capacity_ / block + 2, first_live / block, size_ / block);
  }
}

void PowerTree::grow(uint64_t capacity) {
  if (capacity <= capacity_) return;
  retained_from_ = oldest();
  capacity_ = capacity;
  layout_levels();
}

void PowerTree::append(double value) {
  values_.push(value);
  ++size_;
  if (++in_block_ == base_) {
    in_block_ = 0;
    on_block_complete();
  }
}

void PowerTree::append(std::span<const double> values) {
  // In bulk up to each block boundary (the same effect as appending them one by one).
  size_t i = 0;
  while (i < values.size()) {
    const size_t take = std::min<uint64_t>(values.size() - i, uint64_t{base_} - in_block_);
    values_.push(values.data() + i, take);
    size_ += take;
    i += take;
    in_block_ += static_cast<uint32_t>(take);
    if (in_block_ == base_) {
      in_block_ = 0;
      on_block_complete();
    }
  }
}

void PowerTree::on_block_complete() {
  // Level 1 from the raw values in two passes, relative to the block's newest value (a
  // pivot inside the block, so that x - pivot is exact for values within a factor 2 of it
  // and otherwise rounded relative to the block's range): more accurate than adding them
  // one by one, and without a division per value.
  const uint64_t begin = size_ - base_;
  const double pivot = values_.at(size_ - 1);
  double sum = 0.0;
  BlockAggregate block;
  block.count = static_cast<double>(base_);
  // Plain min/max compile to branch-free instructions; a NaN-aware compare compiles to a
  // branch that random data mispredicts every few values. A NaN (or +inf and -inf together)
  // makes the sum NaN, and only then are min and max taken again the NaN-aware way.
  values_.visit_backward(begin, size_, [&](double raw) {
    sum += raw - pivot;
    block.min = BlockAggregate::min_ignoring_nan(block.min, raw);
    block.max = BlockAggregate::max_ignoring_nan(block.max, raw);
  });
  if (std::isnan(sum)) [[unlikely]] {
    block.min = std::numeric_limits<double>::infinity();
    block.max = -block.min;
    values_.visit_backward(begin, size_, [&](double raw) {
      block.min = BlockAggregate::min_propagating_nan(block.min, raw);
      block.max = BlockAggregate::max_propagating_nan(block.max, raw);
    });
  }
  const double mean = sum / block.count;  // relative to the pivot
  values_.visit_backward(begin, size_, [&](double raw) {
    const double deviation = (raw - pivot) - mean;
    block.m2 += deviation * deviation;
  });
  // The pivot and the minimum are both values of the block: their distance is within its
  // range.
  block.offset = (pivot - block.min) + mean;
  levels_[1].push(block);

  // Roll complete blocks up: a level-k block completes when size_ reaches a multiple of base^k.
  // (Counted, not size_ % base^k: a 64-bit division per level costs more than the merge.)
  for (size_t k = 2; k < levels_.size(); ++k) {
    open_[k].merge(block);
    if (++open_blocks_[k] != base_) break;
    open_blocks_[k] = 0;
    block = open_[k];
    open_[k] = BlockAggregate{};
    levels_[k].push(block);
  }
}

BlockAggregate PowerTree::aggregate(uint64_t begin, uint64_t end) const {
  if (begin > end || end > size_ || begin < oldest()) {
    throw std::out_of_range("power tree range [" + std::to_string(begin) + ", " +
                            std::to_string(end) + ") is outside the retained values [" +
                            std::to_string(oldest()) + ", " + std::to_string(size_) + ")");
  }
  BlockAggregate result;
  const size_t top = levels_.size();
  size_t k = 0;  // invariant: begin is aligned to block_size_[k]
  while (begin < end) {
    // Climb while the next larger aligned block still fits, then come down to one that fits.
    while (k + 1 < top && begin + block_size_[k + 1] <= end && begin % block_size_[k + 1] == 0) ++k;
    while (k > 0 && begin + block_size_[k] > end) --k;
    // A range that runs to the newest value may take the running prefix of the current
    // level-(k+1) block in one merge instead of up to base - 1 level-k blocks.
    if (end == size_ && k + 1 < top && k + 1 >= 2 && begin % block_size_[k + 1] == 0 &&
        open_[k + 1].count > 0) {
      result.merge(open_[k + 1]);
      begin += static_cast<uint64_t>(open_[k + 1].count);
      continue;
    }
    if (k == 0) {
      result.add(values_.at(begin));
      begin += 1;
    } else {
      result.merge(levels_[k].at(begin / block_size_[k]));
      begin += block_size_[k];
    }
  }
  return result;
}

WindowStats PowerTree::stats(const BlockAggregate& aggregate, uint64_t begin, uint64_t end) const {
  WindowStats stats;
  if (end <= begin) return stats;
  stats.count = static_cast<int64_t>(end - begin);
  const double count = static_cast<double>(stats.count);
  stats.mean = aggregate.mean();
  stats.sum = stats.mean * count;
  stats.m2 = std::isfinite(aggregate.min) && std::isfinite(aggregate.max)
                 ? aggregate.m2
                 : std::numeric_limits<double>::quiet_NaN();
  stats.min = aggregate.min;
  stats.max = aggregate.max;
  stats.first = value(begin);
  stats.last = value(end - 1);
  return stats;
}

WindowStats PowerTree::range(uint64_t begin, uint64_t end) const {
  return stats(aggregate(begin, end), begin, end);
}

WindowStats PowerTree::last(uint64_t window) const {
  if (window > capacity_) {
    throw std::out_of_range("window of " + std::to_string(window) +
                            " values exceeds the power tree capacity " + std::to_string(capacity_));
  }
  const uint64_t begin = std::max(oldest(), size_ > window ? size_ - window : 0);
  return range(begin, size_);
}

int64_t PowerTree::memory_bytes() const {
  uint64_t bytes = values_.items.capacity() * sizeof(double);
  for (const auto& level : levels_) bytes += level.items.capacity() * sizeof(BlockAggregate);
  bytes += open_.capacity() * sizeof(BlockAggregate) + block_size_.capacity() * sizeof(uint64_t) +
           levels_.capacity() * sizeof(Ring<BlockAggregate>);
  return static_cast<int64_t>(bytes);
}

// ---------------------------------------------------------------- SlidingWindow

uint64_t sliding_chunk_for(uint64_t window) {
  if (window <= 256) return std::max<uint64_t>(window, 1);
  return std::clamp<uint64_t>(window / 8, 256, 4096);
}

SlidingWindow::SlidingWindow(uint64_t chunk) : chunk_(std::max<uint64_t>(chunk, 1)) {}

void SlidingWindow::restart(uint64_t end) {
  started_ = true;
  split_ = end;
  back_ = BlockAggregate{};
  chunk_begin_ = chunk_end_ = 0;
}

void SlidingWindow::build_chunk(const PowerTree& tree, uint64_t start) {
  chunk_begin_ = start;
  chunk_end_ = std::min(start + chunk_, split_);
  const uint64_t length = chunk_end_ - chunk_begin_;
  if (suffixes_.size() < length) suffixes_.resize(length);
  // One backward pass from the aggregate of everything after the chunk up to the split.
  BlockAggregate suffix = tree.aggregate(chunk_end_, split_);
  uint64_t i = length;
  tree.values_.visit_backward(chunk_begin_, chunk_end_, [&](double raw) {
    suffix.add(raw);
    suffixes_[--i] = suffix;
  });
}

}  // namespace tickflow
