#include "order/stable_sort.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <memory>
#include <numeric>

#include "tickflow/ep_helpers.hpp"

namespace tickflow::eps {
namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

// Maps a key value to an unsigned integer whose ascending order is the sort order.
uint64_t encode_int(int64_t value, bool descending) {
  const uint64_t encoded = static_cast<uint64_t>(value) ^ kSignBit;
  return descending ? ~encoded : encoded;
}

uint64_t encode_double(double value, bool descending, bool nan_first) {
  // NaN at one end whatever the direction; no finite or infinite value encodes to the
  // maximum or to zero.
  if (std::isnan(value)) return nan_first ? 0 : ~uint64_t{0};
  if (value == 0.0) value = 0.0;  // -0.0 == 0.0
  const uint64_t bits = std::bit_cast<uint64_t>(value);
  const uint64_t encoded = (bits & kSignBit) ? ~bits : bits | kSignBit;
  return descending ? ~encoded : encoded;
}

constexpr int kDigitBits = 11;
constexpr size_t kBuckets = size_t{1} << kDigitBits;
constexpr int kPasses = (64 + kDigitBits - 1) / kDigitBits;
// Below this many keys one thread sorts: splitting costs more than it saves.
constexpr size_t kParallelFrom = size_t{1} << 18;
constexpr size_t kMaxParts = 8;

// n items split into contiguous parts, one per available thread for large n.
struct Parts {
  size_t n;
  size_t count;
  explicit Parts(size_t items)
      : n(items),
        count(items >= kParallelFrom ? std::clamp<size_t>(available_threads(), 1, kMaxParts) : 1) {}
  std::pair<size_t, size_t> range(size_t part) const {
    return {n * part / count, n * (part + 1) / count};
  }
};

// LSD radix sort of (keys[i], rows[i]) pairs by keys, stable; passes whose digit is the
// same for every key are skipped. Large inputs are split into contiguous parts, one per
// available thread: each part counts its digits, and a part's ticks with digit d go after
// those of earlier parts with digit d, so the result is the same for any number of parts.
// The scratch arrays are first written by the parts' scatters, so their page faults are
// split between the threads too.
void radix_sort_pairs(uint64_t* keys, RowIndex* rows, size_t n) {
  if (n < 2) return;
  const Parts split(n);
  const size_t parts = split.count;

  using Counts = std::array<std::array<uint32_t, kBuckets>, kPasses>;
  std::vector<Counts> counts(parts);
  work_in_parts(parts, [&](size_t part) {
    Counts& count = counts[part];
    for (auto& c : count) c.fill(0);
    const auto [begin, end] = split.range(part);
    for (size_t i = begin; i < end; ++i) {
      uint64_t value = keys[i];
      for (int pass = 0; pass < kPasses; ++pass) {
        ++count[pass][value & (kBuckets - 1)];
        value >>= kDigitBits;
      }
    }
  });
  // Whole-input totals per pass do not depend on the arrangement: they decide the skips.
  Counts total = counts[0];
  for (size_t part = 1; part < parts; ++part) {
    for (int pass = 0; pass < kPasses; ++pass) {
      for (size_t d = 0; d < kBuckets; ++d) total[pass][d] += counts[part][pass][d];
    }
  }
  std::unique_ptr<uint64_t[]> keys_tmp(new uint64_t[n]);
  std::unique_ptr<RowIndex[]> rows_tmp(new RowIndex[n]);
  uint64_t* keys_in = keys;
  uint64_t* keys_out = keys_tmp.get();
  RowIndex* rows_in = rows;
  RowIndex* rows_out = rows_tmp.get();
  std::vector<std::array<uint32_t, kBuckets>> offsets(parts);
  bool counts_current = true;  // counts[part] describe the parts of keys_in
  for (int pass = 0; pass < kPasses; ++pass) {
    const int shift = pass * kDigitBits;
    if (total[pass][(keys_in[0] >> shift) & (kBuckets - 1)] == n) continue;
    if (!counts_current) {
      work_in_parts(parts, [&](size_t part) {
        auto& count = counts[part][pass];
        count.fill(0);
        const auto [begin, end] = split.range(part);
        for (size_t i = begin; i < end; ++i) ++count[(keys_in[i] >> shift) & (kBuckets - 1)];
      });
    }
    uint32_t offset = 0;
    for (size_t d = 0; d < kBuckets; ++d) {
      for (size_t part = 0; part < parts; ++part) {
        offsets[part][d] = offset;
        offset += counts[part][pass][d];
      }
    }
    work_in_parts(parts, [&](size_t part) {
      auto& at = offsets[part];
      const auto [begin, end] = split.range(part);
      for (size_t i = begin; i < end; ++i) {
        const uint32_t to = at[(keys_in[i] >> shift) & (kBuckets - 1)]++;
        keys_out[to] = keys_in[i];
        rows_out[to] = rows_in[i];
      }
    });
    std::swap(keys_in, keys_out);
    std::swap(rows_in, rows_out);
    counts_current = parts == 1;  // one part's counts are the totals of every pass
  }
  if (keys_in != keys) {
    work_in_parts(parts, [&](size_t part) {
      const auto [begin, end] = split.range(part);
      std::copy(keys_in + begin, keys_in + end, keys + begin);
      std::copy(rows_in + begin, rows_in + end, rows + begin);
    });
  }
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
    radix_sort_pairs(encoded.data(), rows, n);
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

  uint64_t encode(RowIndex row, const SortKey& k) const {
    return k.column ? sort_bits(store_.columns[*k.column], row, k.descending, k.nan_first)
                    : sort_bits_of_time(store_.times[row], k.descending);
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

  const Batch& store_;
  const std::vector<SortKey>& keys_;
};

}  // namespace

uint64_t sort_bits(const Column& column, size_t row, bool descending, bool nan_first) {
  switch (column.type()) {
    case Type::Double:
      return encode_double(column.doubles()[row], descending, nan_first);
    case Type::Bool:
      return descending ? 1 - column.bools()[row] : column.bools()[row];
    default:
      return encode_int(column.ints()[row], descending);
  }
}

uint64_t sort_bits_of_time(int64_t time, bool descending) {
  return encode_int(time, descending);
}

void sort_bits_of_column(const Column& column, bool descending, bool nan_first, uint64_t* bits) {
  const size_t n = column.size();
  switch (column.type()) {
    case Type::Double:
      for (size_t row = 0; row < n; ++row) {
        bits[row] = encode_double(column.doubles()[row], descending, nan_first);
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

std::unique_ptr<RowIndex[]> stable_order_of_bits(uint64_t* keys, size_t n) {
  std::unique_ptr<RowIndex[]> order(new RowIndex[n]);
  const Parts split(n);
  const size_t parts = split.count;

  // Relative to the smallest key the high digits of a narrow range are all zero, and the
  // radix sort skips a digit every key shares: prices, say, need one pass less.
  std::vector<uint64_t> lowest(parts, ~uint64_t{0});
  work_in_parts(parts, [&](size_t part) {
    const auto [begin, end] = split.range(part);
    if (begin < end) lowest[part] = *std::min_element(keys + begin, keys + end);
  });
  const uint64_t smallest = *std::min_element(lowest.begin(), lowest.end());
  work_in_parts(parts, [&](size_t part) {
    const auto [begin, end] = split.range(part);
    for (size_t i = begin; i < end; ++i) {
      keys[i] -= smallest;
      order[i] = static_cast<RowIndex>(i);
    }
  });
  radix_sort_pairs(keys, order.get(), n);
  return order;
}

std::vector<RowIndex> stable_order(const Batch& store, const std::vector<SortKey>& keys) {
  std::vector<RowIndex> rows(store.size());
  std::iota(rows.begin(), rows.end(), RowIndex{0});
  Sorter(store, keys).sort(rows.data(), rows.size(), 0);
  return rows;
}

}  // namespace tickflow::eps
