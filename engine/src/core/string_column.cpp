#include "tickflow/string_column.hpp"

#include <algorithm>
#include <limits>

#include "tickflow/diagnostics.hpp"

namespace tickflow {

StringColumn::Slot StringColumn::make_long_slot(std::string_view value) {
  if (value.size() > std::numeric_limits<uint32_t>::max()) {
    throw RuntimeError("a string of " + std::to_string(value.size()) +
                       " bytes is longer than a field holds (4294967295)");
  }
  Slot slot;
  slot.size = static_cast<uint32_t>(value.size());
  std::memcpy(slot.data, value.data(), 4);
  uint64_t at;
  const char* base = heap_.data();
  if (!heap_.empty() && value.data() >= base &&
      value.data() + value.size() <= base + heap_.size()) {
    // Already in this column's buffer (a value copied from another row): refer to it.
    at = static_cast<uint64_t>(value.data() - base);
  } else {
    at = heap_.size();
    heap_.insert(heap_.end(), value.begin(), value.end());
  }
  std::memcpy(slot.data + 4, &at, 8);
  return slot;
}

void StringColumn::compact() {
  std::vector<char> kept;
  kept.reserve(heap_.size() - std::min(unused_bytes_, heap_.size()));
  for (Slot& slot : slots_) {
    if (slot.size <= kInlineBytes) continue;
    const uint64_t at = kept.size();
    const char* bytes = heap_.data() + offset(slot);
    kept.insert(kept.end(), bytes, bytes + slot.size);
    std::memcpy(slot.data + 4, &at, 8);
  }
  heap_.swap(kept);
  unused_bytes_ = 0;
}

void StringColumn::append_range(const StringColumn& other, size_t begin, size_t end) {
  if (&other == this) {
    // Rows of this column again: their slots (and bytes) stay valid as they are.
    slots_.reserve(slots_.size() + (end - begin));
    for (size_t row = begin; row < end; ++row) slots_.push_back(slots_[row]);
    return;
  }
  if (empty() && begin == 0 && end == other.size()) {
    slots_ = other.slots_;
    heap_ = other.heap_;
    unused_bytes_ = other.unused_bytes_;
    return;
  }
  const size_t base = slots_.size();
  slots_.insert(slots_.end(), other.slots_.begin() + static_cast<std::ptrdiff_t>(begin),
                other.slots_.begin() + static_cast<std::ptrdiff_t>(end));
  for (size_t row = base; row < slots_.size(); ++row) {
    Slot& slot = slots_[row];
    if (slot.size > kInlineBytes) slot = make_long_slot(other.view(slot));
  }
}

void StringColumn::append_moving(StringColumn&& other) {
  if (empty()) {
    swap(other);
    other.clear();
    return;
  }
  const uint64_t shift = heap_.size();
  const size_t base = slots_.size();
  unused_bytes_ += other.unused_bytes_;
  heap_.insert(heap_.end(), other.heap_.begin(), other.heap_.end());
  slots_.insert(slots_.end(), other.slots_.begin(), other.slots_.end());
  if (shift != 0) {
    for (size_t row = base; row < slots_.size(); ++row) {
      Slot& slot = slots_[row];
      if (slot.size <= kInlineBytes) continue;
      const uint64_t at = offset(slot) + shift;
      std::memcpy(slot.data + 4, &at, 8);
    }
  }
  other.clear();
}

}  // namespace tickflow
