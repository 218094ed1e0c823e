// Row-level helpers for the EPs that hold ticks and re-emit them in another order or
// combination (order_by, update_timestamp, join_by_time, join).
#pragma once

#include <algorithm>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/ep.hpp"

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

// The ticks of `batches` in order as one batch of `schema`, moving strings. Each column is
// sized once, so holding a stream as a list of batches and concatenating at the end copies
// every value once, where appending batch by batch would copy it again on every growth.
inline Batch concat_batches(std::vector<Batch>&& batches, const SchemaPtr& schema) {
  size_t total = 0;
  for (const Batch& b : batches) total += b.size();
  if (total > std::numeric_limits<RowIndex>::max()) {
    throw RuntimeError("more than 4294967295 ticks held in one node");
  }
  Batch out(schema);
  out.reserve(total);
  for (Batch& b : batches) {
    append_batch_moving(out, std::move(b));
    b = Batch();  // release each input batch as soon as it is copied
  }
  batches.clear();
  return out;
}

// A batch of the ticks `rows[0..n)` of `source`, in that order. With `move_strings` the
// strings are moved out of `source` (each row must then be gathered at most once).
inline Batch gather_rows(Batch& source, const RowIndex* rows, size_t n, bool move_strings) {
  Batch out(source.schema);
  out.times.resize(n);
  for (size_t i = 0; i < n; ++i) out.times[i] = source.times[rows[i]];
  for (size_t c = 0; c < source.columns.size(); ++c) {
    Column& from = source.columns[c];
    Column& to = out.columns[c];
    auto gather = [&](auto& target, auto& values) {
      target.resize(n);
      for (size_t i = 0; i < n; ++i) target[i] = values[rows[i]];
    };
    switch (from.type()) {
      case Type::Double:
        gather(to.doubles(), from.doubles());
        break;
      case Type::Bool:
        gather(to.bools(), from.bools());
        break;
      case Type::String:
        to.strings().resize(n);
        for (size_t i = 0; i < n; ++i) {
          to.strings()[i] =
              move_strings ? std::move(from.strings()[rows[i]]) : from.strings()[rows[i]];
        }
        break;
      default:
        gather(to.ints(), from.ints());
    }
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

// Encodes the values of `columns` in tick `row` as bytes, so that any mix of key types can
// key one hash map. Equal values encode equally: every NaN is one key and -0.0 == 0.0; a
// length prefix keeps ("ab", "c") and ("a", "bc") apart.
inline void encode_key(const Batch& batch, const std::vector<size_t>& columns, size_t row,
                       std::string& out) {
  out.clear();
  auto append = [&](const auto& value) {
    char bytes[sizeof(value)];
    std::memcpy(bytes, &value, sizeof(value));
    out.append(bytes, sizeof(value));
  };
  for (size_t c : columns) {
    const Column& column = batch.columns[c];
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
        const std::string& value = column.strings()[row];
        append(static_cast<uint64_t>(value.size()));
        out.append(value);
        break;
      }
      default:
        append(column.ints()[row]);
    }
  }
}

}  // namespace tickflow::eps
