#include "stable_sort.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <numeric>

namespace tickflow::eps {
namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

// Maps a key value to an unsigned integer whose ascending order is the sort order.
uint64_t encode_int(int64_t value, bool descending) {
  const uint64_t encoded = static_cast<uint64_t>(value) ^ kSignBit;
  return descending ? ~encoded : encoded;
}

uint64_t encode_double(double value, bool descending) {
  // NaN last whatever the direction; no finite or infinite value encodes to the maximum.
  if (std::isnan(value)) return ~uint64_t{0};
  if (value == 0.0) value = 0.0;  // -0.0 == 0.0
  const uint64_t bits = std::bit_cast<uint64_t>(value);
  const uint64_t encoded = (bits & kSignBit) ? ~bits : bits | kSignBit;
  return descending ? ~encoded : encoded;
}

class Sorter {
 public:
  Sorter(const Batch& store, const std::vector<SortKey>& keys) : store_(store), keys_(keys) {}

  void sort(RowIndex* rows, size_t n, size_t key) {
    if (n < 2 || key == keys_.size()) return;
    if (n <= kSmall) {
      std::stable_sort(rows, rows + n,
                       [&](RowIndex a, RowIndex b) { return compare_from(a, b, key) < 0; });
      return;
    }
    const SortKey& k = keys_[key];
    if (k.column && store_.columns[*k.column].type() == Type::String) {
      const auto& values = store_.columns[*k.column].strings();
      if (k.descending) {
        std::stable_sort(rows, rows + n,
                         [&](RowIndex a, RowIndex b) { return values[b] < values[a]; });
      } else {
        std::stable_sort(rows, rows + n,
                         [&](RowIndex a, RowIndex b) { return values[a] < values[b]; });
      }
      if (key + 1 == keys_.size()) return;
      for (size_t begin = 0; begin < n;) {
        size_t end = begin + 1;
        while (end < n && values[rows[end]] == values[rows[begin]]) ++end;
        sort(rows + begin, end - begin, key + 1);
        begin = end;
      }
      return;
    }
    std::vector<uint64_t> encoded(n);
    for (size_t i = 0; i < n; ++i) encoded[i] = encode(rows[i], k);
    radix_sort(encoded, rows, n);
    if (key + 1 == keys_.size()) return;
    for (size_t begin = 0; begin < n;) {
      size_t end = begin + 1;
      while (end < n && encoded[end] == encoded[begin]) ++end;
      sort(rows + begin, end - begin, key + 1);
      begin = end;
    }
  }

 private:
  static constexpr size_t kSmall = 64;
  static constexpr int kDigitBits = 11;
  static constexpr size_t kBuckets = size_t{1} << kDigitBits;
  static constexpr int kPasses = (64 + kDigitBits - 1) / kDigitBits;

  uint64_t encode(RowIndex row, const SortKey& k) const {
    if (!k.column) return encode_int(store_.times[row], k.descending);
    const Column& column = store_.columns[*k.column];
    switch (column.type()) {
      case Type::Double:
        return encode_double(column.doubles()[row], k.descending);
      case Type::Bool:
        return k.descending ? 1 - column.bools()[row] : column.bools()[row];
      default:
        return encode_int(column.ints()[row], k.descending);
    }
  }

  int compare_from(RowIndex a, RowIndex b, size_t key) const {
    for (; key < keys_.size(); ++key) {
      const SortKey& k = keys_[key];
      if (k.column && store_.columns[*k.column].type() == Type::String) {
        const auto& values = store_.columns[*k.column].strings();
        const int c = values[a].compare(values[b]);
        if (c != 0) return k.descending ? -c : c;
        continue;
      }
      const uint64_t x = encode(a, k), y = encode(b, k);
      if (x != y) return x < y ? -1 : 1;
    }
    return 0;
  }

  // LSD radix sort of (encoded[i], rows[i]) pairs by encoded, stable.
 public:
  void radix_sort(std::vector<uint64_t>& encoded, RowIndex* rows, size_t n) {
    std::vector<std::array<uint32_t, kBuckets>> counts(kPasses);
    for (auto& c : counts) c.fill(0);
    for (size_t i = 0; i < n; ++i) {
      uint64_t value = encoded[i];
      for (int pass = 0; pass < kPasses; ++pass) {
        ++counts[pass][value & (kBuckets - 1)];
        value >>= kDigitBits;
      }
    }
    std::vector<uint64_t> encoded_tmp(n);
    std::vector<RowIndex> rows_tmp(n);
    uint64_t* keys_in = encoded.data();
    uint64_t* keys_out = encoded_tmp.data();
    RowIndex* rows_in = rows;
    RowIndex* rows_out = rows_tmp.data();
    for (int pass = 0; pass < kPasses; ++pass) {
      const int shift = pass * kDigitBits;
      auto& count = counts[pass];
      // A digit shared by every tick would only copy the arrays.
      if (count[(keys_in[0] >> shift) & (kBuckets - 1)] == n) continue;
      uint32_t offset = 0;
      for (auto& c : count) {
        const uint32_t here = c;
        c = offset;
        offset += here;
      }
      for (size_t i = 0; i < n; ++i) {
        const uint32_t at = count[(keys_in[i] >> shift) & (kBuckets - 1)]++;
        keys_out[at] = keys_in[i];
        rows_out[at] = rows_in[i];
      }
      std::swap(keys_in, keys_out);
      std::swap(rows_in, rows_out);
    }
    if (keys_in != encoded.data()) {
      std::copy(keys_in, keys_in + n, encoded.data());
      std::copy(rows_in, rows_in + n, rows);
    }
  }

 private:
  const Batch& store_;
  const std::vector<SortKey>& keys_;
};

}  // namespace

uint64_t sort_bits(const Column& column, size_t row, bool descending) {
  switch (column.type()) {
    case Type::Double:
      return encode_double(column.doubles()[row], descending);
    case Type::Bool:
      return descending ? 1 - column.bools()[row] : column.bools()[row];
    default:
      return encode_int(column.ints()[row], descending);
  }
}

uint64_t sort_bits_of_time(int64_t time, bool descending) {
  return encode_int(time, descending);
}

void sort_bits_of_column(const Column& column, bool descending, uint64_t* bits) {
  const size_t n = column.size();
  switch (column.type()) {
    case Type::Double:
      for (size_t row = 0; row < n; ++row) {
        bits[row] = encode_double(column.doubles()[row], descending);
      }
      break;
    case Type::Bool:
      for (size_t row = 0; row < n; ++row) {
        bits[row] = descending ? 1 - column.bools()[row] : column.bools()[row];
      }
      break;
    default:
      for (size_t row = 0; row < n; ++row) bits[row] = encode_int(column.ints()[row], descending);
  }
}

std::vector<RowIndex> stable_order_of_bits(std::vector<uint64_t>&& encoded) {
  std::vector<RowIndex> rows(encoded.size());
  std::iota(rows.begin(), rows.end(), RowIndex{0});
  if (rows.size() < 2) return rows;
  // Relative to the smallest key the high digits of a narrow range are all zero, and the
  // radix sort skips a digit every key shares: prices, say, need one pass less.
  const uint64_t lowest = *std::min_element(encoded.begin(), encoded.end());
  for (uint64_t& key : encoded) key -= lowest;
  static const Batch kNoStore;
  static const std::vector<SortKey> kNoKeys;
  Sorter(kNoStore, kNoKeys).radix_sort(encoded, rows.data(), rows.size());
  return rows;
}

std::vector<RowIndex> stable_order(const Batch& store, const std::vector<SortKey>& keys) {
  std::vector<RowIndex> rows(store.size());
  std::iota(rows.begin(), rows.end(), RowIndex{0});
  Sorter(store, keys).sort(rows.data(), rows.size(), 0);
  return rows;
}

}  // namespace tickflow::eps
