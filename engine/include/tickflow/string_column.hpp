// The values of a String column (Column::strings()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickflow {

// The strings of one column. Each value is a 16-byte slot: its length, then either the
// string itself when it has at most 12 bytes, or its first 4 bytes and the offset of all
// its bytes in the column's byte buffer. Short strings (symbols, venues, sides, most ids)
// never leave their slot: copying, comparing or hashing one touches 16 bytes and follows
// no pointer, where a std::string costs 32 bytes and a branch on where its bytes are.
//
// Contract:
// - Values are read as std::string_view. A view stays valid until the column changes
//   (an append may move the byte buffer); copy it into a std::string to keep it longer.
// - Values are written whole: push_back, set, or copied from another column
//   (push_back_from, set_from, append_range), which copies the bytes of a long string.
//   A long value that already lies in this column's buffer is referred to, not copied.
// - Bytes past a short string's length are zero, so two short strings are equal exactly
//   when their slots are (equal() compares two 8-byte words).
// - Writing over a long value (set, set_from, copy_within) leaves its bytes unused in the
//   buffer; when they reach half of it, the buffer is rebuilt (views are then invalid, as
//   after any change). keep_range and shrinking leave bytes until clear().
class StringColumn {
 public:
  static constexpr size_t kInlineBytes = 12;
  struct Slot {
    uint32_t size = 0;
    // The string (size <= 12, zero-padded), or its first 4 bytes and then the 8-byte
    // offset of its bytes in the column's buffer.
    char data[kInlineBytes] = {};
  };
  static_assert(sizeof(Slot) == 16, "a string slot is 16 bytes");

  StringColumn() = default;
  StringColumn(std::initializer_list<std::string_view> values) {
    reserve(values.size());
    for (std::string_view value : values) push_back(value);
  }

  size_t size() const { return slots_.size(); }
  bool empty() const { return slots_.empty(); }

  // Const, so that `column[i] = value` (which would assign a temporary view) does not
  // compile: write with set().
  const std::string_view operator[](size_t row) const { return view(slots_[row]); }
  const std::string_view back() const { return view(slots_.back()); }

  void push_back(std::string_view value) {
    Slot slot = make_slot(value);
    slots_.push_back(slot);
  }
  void emplace_back(std::string_view value) { push_back(value); }
  // Appends `value` n times (a long value's bytes are stored once).
  void append_repeated(std::string_view value, size_t n) {
    if (n == 0) return;
    const Slot slot = make_slot(value);
    slots_.insert(slots_.end(), n, slot);
  }
  void set(size_t row, std::string_view value) {
    const uint32_t old_size = slots_[row].size;
    slots_[row] = make_slot(value);
    overwritten(old_size);
  }
  // Appends row `row` of `other` (16 bytes copied for a short string).
  void push_back_from(const StringColumn& other, size_t row) {
    const Slot& slot = other.slots_[row];
    if (slot.size <= kInlineBytes) {
      slots_.push_back(slot);
    } else {
      push_back(other[row]);
    }
  }
  // Row `row` of this column takes the value of row `from_row` of `other`.
  void set_from(size_t row, const StringColumn& other, size_t from_row) {
    const Slot& slot = other.slots_[from_row];
    const uint32_t old_size = slots_[row].size;
    if (slot.size <= kInlineBytes || &other == this) {
      slots_[row] = slot;
    } else {
      slots_[row] = make_slot(other[from_row]);
    }
    overwritten(old_size);
  }
  // Row `to` takes the value of row `from` of this column (no bytes copied).
  void copy_within(size_t to, size_t from) {
    const uint32_t old_size = slots_[to].size;
    slots_[to] = slots_[from];
    overwritten(old_size);
  }
  // Keeps rows [begin, end) only (their bytes stay where they are).
  void keep_range(size_t begin, size_t end) {
    slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(end), slots_.end());
    slots_.erase(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(begin));
  }
  // Appends rows [begin, end) of `other`.
  void append_range(const StringColumn& other, size_t begin, size_t end);
  // Appends every value of `other`, which is left empty (its buffer is taken over when
  // this column is empty).
  void append_moving(StringColumn&& other);

  void resize(size_t n) { slots_.resize(n); }  // new values are ""
  void reserve(size_t n) { slots_.reserve(n); }
  void clear() {
    slots_.clear();
    heap_.clear();
    unused_bytes_ = 0;
  }
  void shrink_to_fit() {
    slots_.shrink_to_fit();
    heap_.shrink_to_fit();
  }
  void swap(StringColumn& other) noexcept {
    slots_.swap(other.slots_);
    heap_.swap(other.heap_);
    std::swap(unused_bytes_, other.unused_bytes_);
  }

  // Whether row `row` of this column equals row `other_row` of `other`.
  bool equal(size_t row, const StringColumn& other, size_t other_row) const {
    const Slot& a = slots_[row];
    const Slot& b = other.slots_[other_row];
    if (head(a) != head(b)) return false;  // length or first four bytes differ
    if (a.size <= kInlineBytes) return tail(a) == tail(b);
    return std::memcmp(heap_.data() + offset(a), other.heap_.data() + offset(b), a.size) == 0;
  }
  // Equal values in the same order.
  friend bool operator==(const StringColumn& a, const StringColumn& b) {
    if (a.size() != b.size()) return false;
    for (size_t row = 0; row < a.size(); ++row) {
      if (!a.equal(row, b, row)) return false;
    }
    return true;
  }
  friend bool operator==(const StringColumn& a, const std::vector<std::string>& b) {
    if (a.size() != b.size()) return false;
    for (size_t row = 0; row < a.size(); ++row) {
      if (a[row] != b[row]) return false;
    }
    return true;
  }
  // Bytes of the values: their slots and the bytes of long strings in the buffer.
  size_t bytes() const { return slots_.size() * sizeof(Slot) + heap_.size(); }
  // The slots, for code that compares or hashes short strings a word at a time.
  const Slot* slots() const { return slots_.data(); }

  class const_iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::string_view;
    const_iterator() = default;
    const_iterator(const StringColumn* column, size_t row) : column_(column), row_(row) {}
    const std::string_view operator*() const { return (*column_)[row_]; }
    const std::string_view operator[](difference_type k) const {
      return (*column_)[row_ + static_cast<size_t>(k)];
    }
    const_iterator& operator++() { return ++row_, *this; }
    const_iterator operator++(int) { return {column_, row_++}; }
    const_iterator& operator--() { return --row_, *this; }
    const_iterator operator--(int) { return {column_, row_--}; }
    const_iterator& operator+=(difference_type k) {
      row_ = static_cast<size_t>(static_cast<difference_type>(row_) + k);
      return *this;
    }
    const_iterator& operator-=(difference_type k) { return *this += -k; }
    friend const_iterator operator+(const_iterator it, difference_type k) { return it += k; }
    friend const_iterator operator+(difference_type k, const_iterator it) { return it += k; }
    friend const_iterator operator-(const_iterator it, difference_type k) { return it -= k; }
    friend difference_type operator-(const const_iterator& a, const const_iterator& b) {
      return static_cast<difference_type>(a.row_) - static_cast<difference_type>(b.row_);
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) {
      return a.row_ == b.row_;
    }
    friend auto operator<=>(const const_iterator& a, const const_iterator& b) {
      return a.row_ <=> b.row_;
    }

   private:
    const StringColumn* column_ = nullptr;
    size_t row_ = 0;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, slots_.size()}; }

 private:
  static uint64_t head(const Slot& slot) {
    uint64_t word;
    std::memcpy(&word, &slot, 8);
    return word;
  }
  static uint64_t tail(const Slot& slot) {
    uint64_t word;
    std::memcpy(&word, slot.data + 4, 8);
    return word;
  }
  static uint64_t offset(const Slot& slot) { return tail(slot); }
  std::string_view view(const Slot& slot) const {
    if (slot.size <= kInlineBytes) return {slot.data, slot.size};
    return {heap_.data() + offset(slot), slot.size};
  }
  Slot make_slot(std::string_view value) {
    Slot slot;
    if (value.size() <= kInlineBytes) {
      slot.size = static_cast<uint32_t>(value.size());
      if (!value.empty()) std::memcpy(slot.data, value.data(), value.size());
      return slot;
    }
    return make_long_slot(value);
  }
  Slot make_long_slot(std::string_view value);
  // After a value of `old_size` bytes was written over: a long value's bytes may now be
  // unused. Once they are more than half the buffer (and 4 KB), the buffer is rebuilt from
  // the values still there, so that a column written over and over (a join's latest values
  // per key) stays the size of what it holds.
  void overwritten(uint32_t old_size) {
    if (old_size <= kInlineBytes) return;
    unused_bytes_ += old_size;
    if (unused_bytes_ > 4096 && 2 * unused_bytes_ > heap_.size()) compact();
  }
  void compact();

  std::vector<Slot> slots_;
  std::vector<char> heap_;
  size_t unused_bytes_ = 0;  // bytes of heap_ written over (an estimate: values may share)
};

}  // namespace tickflow
