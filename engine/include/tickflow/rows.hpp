// Moving ticks between batches by row: what an EP that holds ticks, selects some of them or
// re-emits them in another order or combination needs (order_by, update_timestamp, joins,
// head/tail, where, the tick-selecting EPs). Public: plugins use the same helpers.
//
// Contract common to all of them: batches given together share one schema (the same
// fields in the same order); a batch's columns may run past its schema (an EP's scratch
// columns), and every column is moved along. Row indexes are RowIndex (32 bits). None of
// them allocates per row; none keeps a reference to its arguments.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/ep.hpp"

namespace tickflow {

// Index of a tick inside a held store. 32 bits keep index sorts cache-friendly; a store
// of more than 4 billion ticks would not fit in memory anyway (append_batch_moving checks).
using RowIndex = uint32_t;

// Appends every tick of `from` (same schema) to `to`, taking its strings' bytes over.
inline void append_batch_moving(Batch& to, Batch&& from) {
  if (from.empty()) return;
  if (to.size() + from.size() > std::numeric_limits<RowIndex>::max()) {
    throw RuntimeError("more than 4294967295 ticks held in one node");
  }
  // Into an empty batch that reserved nothing, take the vectors over instead of copying.
  if (to.empty() && to.times.capacity() == 0 && to.columns.size() == from.columns.size()) {
    to.times = std::move(from.times);
    to.columns = std::move(from.columns);
    return;
  }
  to.times.insert(to.times.end(), from.times.begin(), from.times.end());
  for (size_t c = 0; c < to.columns.size(); ++c) {
    with_value_type(to.columns[c].type(), [&]<class T>() {
      auto& target = to.columns[c].values<T>();
      auto& source = from.columns[c].values<T>();
      if constexpr (std::is_same_v<T, std::string>) {
        target.append_moving(std::move(source));
      } else {
        target.insert(target.end(), source.begin(), source.end());
      }
    });
  }
}

// Appends the ticks `rows[0..n)` of `source` (same schema) to `target`, in that order. With
// Strings are copied (a short one is its 16-byte slot, a long one's bytes are appended);
// `move_strings` no longer changes anything since strings became StringColumn slots, and
// stays so that callers need not change. No exact reserve: growing by resize keeps the
// vectors' geometric growth.
inline void append_rows(Batch& target, Batch& source, const RowIndex* rows, size_t n,
                        [[maybe_unused]] bool move_strings) {
  const size_t base = target.size();
  target.times.resize(base + n);
  for (size_t i = 0; i < n; ++i) target.times[base + i] = source.times[rows[i]];
  for (size_t c = 0; c < source.columns.size(); ++c) {
    with_value_type(source.columns[c].type(), [&]<class T>() {
      auto& from = source.columns[c].values<T>();
      auto& to = target.columns[c].values<T>();
      if constexpr (std::is_same_v<T, std::string>) {
        for (size_t i = 0; i < n; ++i) to.push_back_from(from, rows[i]);
      } else {
        to.resize(base + n);
        for (size_t i = 0; i < n; ++i) to[base + i] = from[rows[i]];
      }
    });
  }
}

// A batch of the ticks `rows[0..n)` of `source`, in that order (see append_rows).
inline Batch gather_rows(Batch& source, const RowIndex* rows, size_t n, bool move_strings) {
  Batch out(source.schema);
  append_rows(out, source, rows, n, move_strings);
  return out;
}

// Keeps the first `rows` ticks of `batch`, every column included.
inline void truncate_rows(Batch& batch, size_t rows) {
  batch.times.resize(rows);
  for (Column& column : batch.columns) column.resize(rows);
}

// Keeps, in place and in order, the ticks r of `batch` with keep(r) true; `kept` is how many
// that is (the caller counted them while deciding). Strings' bytes are never copied. The
// rows kept are listed once (without a branch per row), then every column is compacted
// through that list: one pass over keep() instead of one per column.
template <class Keep>
void keep_rows(Batch& batch, Keep&& keep, size_t kept) {
  const size_t rows = batch.size();
  std::vector<size_t> rows_kept(rows + 1);
  size_t k = 0;
  for (size_t i = 0; i < rows; ++i) {
    rows_kept[k] = i;
    k += keep(i) ? 1 : 0;
  }
  rows_kept.resize(kept);
  auto compact = [&](auto& values) {
    for (size_t j = 0; j < kept; ++j) {
      if constexpr (std::is_same_v<std::decay_t<decltype(values)>, StringColumn>) {
        values.copy_within(j, rows_kept[j]);
      } else {
        values[j] = values[rows_kept[j]];
      }
    }
    values.resize(kept);
  };
  compact(batch.times);
  for (Column& column : batch.columns) {
    with_value_type(column.type(), [&]<class T>() { compact(column.values<T>()); });
  }
}

// A copy of rows [begin, end) of `batch` with all its columns, including columns beyond
// the schema (Batch::slice keeps only the schema's).
inline Batch slice_all_columns(const Batch& batch, size_t begin, size_t end) {
  Batch out;
  out.schema = batch.schema;
  out.times.assign(batch.times.begin() + static_cast<std::ptrdiff_t>(begin),
                   batch.times.begin() + static_cast<std::ptrdiff_t>(end));
  out.columns.reserve(batch.columns.size());
  for (const Column& column : batch.columns) {
    out.columns.emplace_back(column.type());
    out.columns.back().append_range(column, begin, end);
  }
  return out;
}

// The first row at or after `begin` of the non-decreasing `times` with a time above
// `limit` (times.size() when none). Runs of ticks up to a limit are often a few rows long
// (merged inputs that alternate, quotes between two trades): look at the next rows first,
// then gallop, then search the last stretch.
inline size_t end_of_run(const std::vector<int64_t>& times, size_t begin, int64_t limit) {
  const size_t size = times.size();
  size_t end = begin;
  for (size_t k = 0; k < 4 && end < size; ++k, ++end) {
    if (times[end] > limit) return end;
  }
  size_t step = 4;
  while (end + step < size && times[end + step] <= limit) {
    end += step;
    step *= 2;
  }
  const auto last = times.begin() + static_cast<std::ptrdiff_t>(std::min(size, end + step));
  return static_cast<size_t>(
      std::upper_bound(times.begin() + static_cast<std::ptrdiff_t>(end), last, limit) -
      times.begin());
}

// Emits `batch` on `port` as pieces of at most `batch_size` ticks, so that a node releasing
// everything at once still hands its consumers batches of the run's size.
inline void emit_in_batches(Batch&& batch, size_t batch_size, OutputSink& out, size_t port = 0) {
  if (batch.empty()) return;
  if (batch.size() <= batch_size) {
    out.emit(port, std::move(batch));
    return;
  }
  for (size_t begin = 0; begin < batch.size(); begin += batch_size) {
    out.emit(port, batch.slice(begin, std::min(batch.size(), begin + batch_size)));
  }
}

}  // namespace tickflow
