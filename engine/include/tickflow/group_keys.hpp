// Group keys for EPs with `group_by`: the values of some fields of a tick map to a dense
// group id (0, 1, ... in order of first appearance), whatever the mix of field types.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tickflow/batch.hpp"

namespace tickflow {

// Appends value `row` of `column` to `out` as bytes, so that values of any type can key one
// hash map. Equal values encode equally: every NaN is one key and -0.0 == 0.0; strings carry
// a length prefix, so that several encodings concatenated stay apart.
inline void encode_value(const Column& column, size_t row, std::string& out) {
  auto append = [&](const auto& value) {
    char bytes[sizeof(value)];
    std::memcpy(bytes, &value, sizeof(value));
    out.append(bytes, sizeof(value));
  };
  switch (column.type()) {
    case Type::Double: {
      double value = column.doubles()[row];
      if (std::isnan(value)) value = std::numeric_limits<double>::quiet_NaN();
      if (value == 0.0) value = 0.0;
      append(value);
      break;
    }
    case Type::Bool:
      out.push_back(static_cast<char>(column.bools()[row]));
      break;
    case Type::String: {
      const std::string_view value = column.strings()[row];
      append(static_cast<uint64_t>(value.size()));
      out.append(value);
      break;
    }
    default:
      append(column.ints()[row]);
  }
}

// The encoding of the values of `columns` in tick `row` (encode_value of each, in order).
inline void encode_key(const Batch& batch, const std::vector<size_t>& columns, size_t row,
                       std::string& out) {
  out.clear();
  for (size_t c : columns) encode_value(batch.columns[c], row, out);
}

// Dense group ids for the values of `key_columns` (no key columns: every tick is group 0).
// Optionally keeps each group's key values (row g of keys() for group g), for EPs that
// output them. Not thread-safe; one per operator.
class GroupKeys {
 public:
  // `key_schema`: the schema of the key fields, in `key_columns` order, to keep each group's
  // values; null to keep none.
  explicit GroupKeys(std::vector<size_t> key_columns, SchemaPtr key_schema = nullptr)
      : key_columns_(std::move(key_columns)), keep_keys_(key_schema != nullptr) {
    if (keep_keys_) keys_ = Batch(std::move(key_schema));
  }

  bool grouped() const { return !key_columns_.empty(); }
  // Groups seen so far (1 when not grouped).
  size_t group_count() const { return grouped() ? ids_.size() : 1; }

  // The group of tick `row` of `batch`, adding a new group for new values.
  uint32_t id(const Batch& batch, size_t row) {
    if (!grouped()) return 0;
    // One key field of strings or integers (a symbol, an account): looked up by its value
    // instead of by an encoding built for each tick. The ids come from encoded_id() either
    // way, so both paths give every value the same group.
    if (key_columns_.size() == 1) {
      const Column& column = batch.columns[key_columns_[0]];
      switch (column.type()) {
        case Type::String:
          return string_id(batch, row, column.strings()[row]);
        case Type::Double:
        case Type::Bool:
          break;
        default:
          return int_id(batch, row, column.ints()[row]);
      }
    }
    return encoded_id(batch, row);
  }

  // ids[r] = group of tick r of `batch`; returns group_count() afterwards.
  size_t assign(const Batch& batch, std::vector<uint32_t>& ids) {
    ids.assign(batch.size(), 0);
    if (!grouped()) return 1;
    for (size_t r = 0; r < batch.size(); ++r) ids[r] = id(batch, r);
    return ids_.size();
  }

  // Row g: the key values of group g (with a key schema; empty otherwise).
  const Batch& keys() const { return keys_; }

  // Memory held, for Operator::held().
  int64_t bytes() const {
    return static_cast<int64_t>(keys_.bytes() +
                                (ids_.size() + string_keys_.size()) * (sizeof(std::string) + 32) +
                                string_slots_.size() * sizeof(StringSlot) + int_ids_.size() * 32);
  }

 private:
  uint32_t encoded_id(const Batch& batch, size_t row) {
    encode_key(batch, key_columns_, row, scratch_);
    // Consecutive ticks of one group are common (bars of one symbol's trades).
    if (has_last_ && scratch_ == last_key_) return last_id_;
    auto it = ids_.find(scratch_);
    if (it == ids_.end()) {
      it = ids_.emplace(scratch_, static_cast<uint32_t>(ids_.size())).first;
      if (keep_keys_) {
        for (size_t k = 0; k < key_columns_.size(); ++k) {
          keys_.columns[k].append_from(batch.columns[key_columns_[k]], row);
        }
        keys_.times.push_back(0);
      }
    }
    last_key_ = scratch_;
    last_id_ = it->second;
    has_last_ = true;
    return it->second;
  }

  // An open-addressing table of the values seen, probed linearly. A value of up to 7 bytes
  // is all in its slot's `prefix` (its bytes and its size), so finding it compares one word.
  uint32_t string_id(const Batch& batch, size_t row, std::string_view value) {
    uint64_t prefix = 0;
    std::memcpy(&prefix, value.data(), std::min<size_t>(value.size(), 7));
    prefix |= static_cast<uint64_t>(std::min<size_t>(value.size(), 255)) << 56;
    const bool whole = value.size() <= 7;
    if (string_slots_.empty()) string_slots_.resize(16);
    const size_t mask = string_slots_.size() - 1;
    for (size_t i = slot_hash(value, prefix) & mask;; i = (i + 1) & mask) {
      const StringSlot& slot = string_slots_[i];
      if (!slot.key) break;
      if (slot.prefix == prefix && (whole || *slot.key == value)) return slot.id;
    }
    const uint32_t id = encoded_id(batch, row);
    string_keys_.emplace_back(value);
    if (2 * string_keys_.size() > string_slots_.size()) {
      std::vector<StringSlot> old(string_slots_.size() * 2);
      old.swap(string_slots_);
      for (const StringSlot& slot : old) {
        if (slot.key) insert_slot(slot);
      }
    }
    insert_slot({prefix, &string_keys_.back(), id});
    return id;
  }

  struct StringSlot {
    uint64_t prefix = 0;               // the first 7 bytes, and the size in the top byte
    const std::string* key = nullptr;  // in string_keys_; null: an empty slot
    uint32_t id = 0;
  };

  static size_t slot_hash(std::string_view value, uint64_t prefix) {
    if (value.size() > 7) return std::hash<std::string_view>{}(value);
    prefix ^= prefix >> 33;  // a mixing step of MurmurHash3's finalizer
    prefix *= 0xff51afd7ed558ccdull;
    return static_cast<size_t>(prefix ^ (prefix >> 33));
  }

  void insert_slot(const StringSlot& slot) {
    const size_t mask = string_slots_.size() - 1;
    size_t i = slot_hash(*slot.key, slot.prefix) & mask;
    while (string_slots_[i].key) i = (i + 1) & mask;
    string_slots_[i] = slot;
  }

  uint32_t int_id(const Batch& batch, size_t row, int64_t value) {
    if (has_last_int_ && last_int_ == value) return last_value_id_;
    auto it = int_ids_.find(value);
    if (it == int_ids_.end()) it = int_ids_.emplace(value, encoded_id(batch, row)).first;
    has_last_int_ = true;
    last_int_ = value;
    last_value_id_ = it->second;
    return it->second;
  }

  std::vector<size_t> key_columns_;
  bool keep_keys_;
  Batch keys_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::string scratch_;
  std::string last_key_;
  uint32_t last_id_ = 0;
  bool has_last_ = false;
  // The single-field paths: each value's group, and for integers the value looked up last.
  std::vector<StringSlot> string_slots_;  // a power of two, at most half full
  std::deque<std::string> string_keys_;   // the values of string_slots_, never moved
  std::unordered_map<int64_t, uint32_t> int_ids_;
  int64_t last_int_ = 0;
  bool has_last_int_ = false;
  uint32_t last_value_id_ = 0;
};

}  // namespace tickflow
