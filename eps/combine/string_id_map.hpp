// StringIdMap: short strings (symbols, exchange codes, order ids) to dense ids, for the key
// columns of the joins. Open addressing with linear probing; each entry keeps the first 8
// bytes and the length inline, so finding a short key compares two integers without
// following a pointer, and hashing a key of up to 8 bytes is one multiplication.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tickflow::eps {

class StringIdMap {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // The id of `key`, or kNone.
  uint32_t find(std::string_view key) const {
    if (table_.empty()) return kNone;
    const uint64_t prefix = prefix_of(key);
    for (size_t i = hash(key, prefix) & mask_;; i = (i + 1) & mask_) {
      const Entry& e = table_[i];
      if (e.id == kNone) return kNone;
      if (matches(e, key, prefix)) return e.id;
    }
  }

  // The id of `key`; when absent it is added with id `next_id` and `added` is set.
  uint32_t find_or_add(std::string_view key, uint32_t next_id, bool& added) {
    added = false;
    if ((count_ + 1) * 2 > table_.size()) grow();
    const uint64_t prefix = prefix_of(key);
    for (size_t i = hash(key, prefix) & mask_;; i = (i + 1) & mask_) {
      Entry& e = table_[i];
      if (e.id == kNone) {
        e = {prefix, static_cast<uint32_t>(key.size()), next_id,
             key.size() > 8 ? std::string(key) : std::string()};
        ++count_;
        added = true;
        return next_id;
      }
      if (matches(e, key, prefix)) return e.id;
    }
  }

  size_t size() const { return count_; }

 private:
  struct Entry {
    uint64_t prefix = 0;
    uint32_t length = 0;
    uint32_t id = kNone;
    std::string rest;  // the whole key when longer than 8 bytes
  };

  // The first (up to) 8 bytes as an integer, byte i in bits 8i..8i+7, assembled from
  // two overlapping loads in registers: copying a few bytes to memory and reading them
  // back as one word would stall on store forwarding in every lookup.
  static uint64_t prefix_of(std::string_view key) {
    const char* p = key.data();
    const size_t n = key.size();
    if (n >= 8) return load<uint64_t>(p);
    if (n >= 4) return load<uint32_t>(p) | (uint64_t{load<uint32_t>(p + n - 4)} << ((n - 4) * 8));
    if (n >= 2) return load<uint16_t>(p) | (uint64_t{load<uint16_t>(p + n - 2)} << ((n - 2) * 8));
    return n == 1 ? static_cast<unsigned char>(p[0]) : 0;
  }

  template <class T>
  static T load(const char* p) {
    T value;
    std::memcpy(&value, p, sizeof value);
    return value;
  }

  static size_t hash(std::string_view key, uint64_t prefix) {
    if (key.size() > 8) return std::hash<std::string_view>{}(key);
    const uint64_t h = (prefix ^ (uint64_t{key.size()} << 59)) * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(h ^ (h >> 29));
  }

  static bool matches(const Entry& e, std::string_view key, uint64_t prefix) {
    return e.prefix == prefix && e.length == key.size() && (key.size() <= 8 || e.rest == key);
  }

  void grow() {
    std::vector<Entry> old = std::move(table_);
    table_.assign(old.empty() ? 16 : old.size() * 2, Entry{});
    mask_ = table_.size() - 1;
    count_ = 0;
    for (Entry& e : old) {
      if (e.id == kNone) continue;
      for (size_t i = rehash(e) & mask_;; i = (i + 1) & mask_) {
        if (table_[i].id == kNone) {
          table_[i] = std::move(e);
          ++count_;
          break;
        }
      }
    }
  }

  static size_t rehash(const Entry& e) {
    if (e.length > 8) return std::hash<std::string_view>{}(e.rest);
    std::string_view key(reinterpret_cast<const char*>(&e.prefix), e.length);
    return hash(key, e.prefix);
  }

  std::vector<Entry> table_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace tickflow::eps
