// Row-level helpers for the EPs that hold ticks and re-emit them in another order or
// combination (order_by, update_timestamp, join_by_time, join).
#pragma once

#include <algorithm>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/group_keys.hpp"

namespace tickflow::eps {

// Index of a tick inside a held store. 32 bits keep index sorts cache-friendly; a store
// of more than 4 billion ticks would not fit in memory anyway (append_batch_moving checks).
using RowIndex = uint32_t;

// Appends every tick of `from` (same schema) to `to`, moving strings instead of copying.
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
    Column& target = to.columns[c];
    Column& source = from.columns[c];
    switch (target.type()) {
      case Type::Double:
        target.doubles().insert(target.doubles().end(), source.doubles().begin(),
                                source.doubles().end());
        break;
      case Type::Bool:
        target.bools().insert(target.bools().end(), source.bools().begin(), source.bools().end());
        break;
      case Type::String:
        target.strings().insert(target.strings().end(),
                                std::make_move_iterator(source.strings().begin()),
                                std::make_move_iterator(source.strings().end()));
        break;
      default:
        target.ints().insert(target.ints().end(), source.ints().begin(), source.ints().end());
    }
  }
}

// Appends the ticks `rows[0..n)` of `source` (same schema) to `target`, in that order. With
// `move_strings` the strings are moved out of `source` (each row must then be taken at most
// once). No exact reserve: growing by resize keeps the vectors' geometric growth.
inline void append_rows(Batch& target, Batch& source, const RowIndex* rows, size_t n,
                        bool move_strings) {
  const size_t base = target.size();
  target.times.resize(base + n);
  for (size_t i = 0; i < n; ++i) target.times[base + i] = source.times[rows[i]];
  for (size_t c = 0; c < source.columns.size(); ++c) {
    with_value_type(source.columns[c].type(), [&]<class T>() {
      auto& from = source.columns[c].values<T>();
      auto& to = target.columns[c].values<T>();
      to.resize(base + n);
      if (std::is_same_v<T, std::string> && move_strings) {
        for (size_t i = 0; i < n; ++i) to[base + i] = std::move(from[rows[i]]);
      } else {
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

}  // namespace tickflow::eps
