// Stable multi-key sorting of held ticks, shared by order_by and update_timestamp.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/rows.hpp"

namespace tickflow::eps {

struct SortKey {
  std::optional<size_t> column;  // nullopt: TIMESTAMP (Batch::times)
  bool descending = false;
  bool nan_first = false;  // doubles: NaN before every number (else after), either direction
};

// The order of the ticks of `store` sorted by `keys` (the first key decides, later keys
// break its ties; ties on every key keep arrival order). Numbers compare by value, strings
// bytewise (UTF-8 byte order equals code point order), false < true. NaN sorts after
// every number in both directions (before every number with nan_first), and all NaNs are
// equal; -0.0 equals 0.0.
//
// Fixed-width keys are turned into order-preserving 64-bit integers and LSD-radix sorted
// (stable by construction, passes whose digit is the same for every tick are skipped);
// strings use std::stable_sort. Ties of one key are refined by the next key run by run.
std::vector<RowIndex> stable_order(const Batch& store, const std::vector<SortKey>& keys);

// The same for one fixed-width key whose values the caller has already turned into
// order-preserving bits (sort_bits / sort_bits_of_time), e.g. straight from the batches it
// holds, without a store: the stable order of `encoded`.
uint64_t sort_bits(const Column& column, size_t row, bool descending,
                   bool nan_first);  // not strings
uint64_t sort_bits_of_time(int64_t time, bool descending);
void sort_bits_of_column(const Column& column, bool descending, bool nan_first,
                         uint64_t* bits);  // not strings
// The stable order of n keys already turned into bits (sort_bits_of_column,
// sort_bits_of_time): order[i] is the index of the i-th in sort order. `keys` is used as
// scratch. A large input is sorted by the available threads together (work_in_parts).
std::unique_ptr<RowIndex[]> stable_order_of_bits(uint64_t* keys, size_t n);

}  // namespace tickflow::eps
