// Fuzz target: the CSV reader as the csv source uses it — header, type inference, then
// ticks in batches. The first input byte picks the chunk size, the delimiter, on_error and
// whether rows are routed by a symbol column; the rest is the file. Bad data must be a
// located RuntimeError, never a crash or a hang. The file is also read by the parallel
// reader in pieces of a few bytes (bits 5-7 pick their size): it must give the same ticks,
// skipped rows and error as the sequential reader, or the target aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>

#include "sources/csv_parallel.hpp"
#include "sources/csv_reader.hpp"

using namespace tickflow;
using namespace tickflow::csv;

namespace {

struct Outcome {
  std::string ticks;  // every tick's time and cells
  int64_t skipped = 0;
  std::string error;  // message @ location
};

template <class Reader>
Outcome read_ticks(const std::string& file, size_t chunk, char delimiter, const CsvLayout& layout,
                   const TickReaderOptions& options, const ParallelReadOptions& parallel) {
  Outcome out;
  try {
    RecordReader reader(memory_source(file), "fuzz.csv", delimiter, chunk);
    read_header(reader);
    std::unique_ptr<Reader> ticks;
    if constexpr (std::is_same_v<Reader, TickReader>) {
      ticks = std::make_unique<Reader>(reader, layout, options);
    } else {
      ticks = std::make_unique<Reader>(reader, layout, options, parallel);
    }
    // Every call consumes at least one record or ends the input, so this loop ends.
    for (size_t calls = 0; calls <= file.size() + 1; ++calls) {
      Batch batch(layout.schema);
      const bool more = ticks->read(batch, 4);
      for (size_t row = 0; row < batch.size(); ++row) {
        out.ticks += std::to_string(batch.times[row]);
        for (const Column& column : batch.columns) {
          out.ticks += '|';
          std::visit(
              [&](const auto& v) {
                if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
                  out.ticks += v;
                } else {
                  out.ticks += std::to_string(v);
                }
              },
              column.value(row));
        }
        out.ticks += '\n';
      }
      if (!more) break;
    }
    out.skipped = ticks->skipped_rows();
  } catch (const RuntimeError& e) {
    out.error = e.message() + " @ " + e.data_location().to_string();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string file(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t chunk = (flags & 3) == 0 ? 1 : (flags & 3) == 1 ? 7 : kDefaultChunkSize;
  const char delimiter = (flags & 4) ? ';' : ',';
  const bool skip_bad_rows = flags & 8;
  const bool by_symbol = flags & 16;
  try {
    RecordReader sample(memory_source(file), "fuzz.csv", delimiter, chunk);
    const auto header = read_header(sample);
    auto types = infer_column_types(sample, header.size(), 100);
    size_t time_column = 0;
    std::optional<size_t> symbol_column;
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == "TIMESTAMP") time_column = i;
      if (by_symbol && header[i] == "SYMBOL") symbol_column = i;
    }
    if (symbol_column == time_column) symbol_column.reset();
    types[time_column] = Type::Time;
    if (symbol_column) types[*symbol_column] = Type::String;
    const CsvLayout layout = make_layout(header, types, time_column, symbol_column);

    TickReaderOptions options;
    options.skip_bad_rows = skip_bad_rows;
    if (symbol_column) options.symbol = std::string("A");
    const Outcome sequential = read_ticks<TickReader>(file, chunk, delimiter, layout, options, {});
    ParallelReadOptions parallel;
    parallel.parallel = [](size_t parts, const std::function<void(size_t)>& body) {
      for (size_t part = 0; part < parts; ++part) body(part);
    };
    parallel.pieces = 3;
    parallel.piece_bytes = 1 + (flags >> 5) * 40;
    parallel.batch_size = 3;
    const Outcome pieces =
        read_ticks<ParallelTickReader>(file, chunk, delimiter, layout, options, parallel);
    // A failed read gives the ticks before the error in whole batches: compare the error.
    if (sequential.error != pieces.error ||
        (sequential.error.empty() &&
         (sequential.ticks != pieces.ticks || sequential.skipped != pieces.skipped))) {
      std::abort();
    }
  } catch (const RuntimeError&) {
  }
  return 0;
}
