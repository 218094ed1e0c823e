// Fuzz target: the CSV reader as the csv source uses it — header, type inference, then
// ticks in batches. The first input byte picks the chunk size, the delimiter, on_error and
// whether rows are routed by a symbol column; the rest is the file. Bad data must be a
// located RuntimeError, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sources/csv_reader.hpp"

using namespace tickflow;
using namespace tickflow::csv;

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

    RecordReader reader(memory_source(file), "fuzz.csv", delimiter, chunk);
    read_header(reader);
    TickReaderOptions options;
    options.skip_bad_rows = skip_bad_rows;
    if (symbol_column) options.symbol = std::string("A");
    TickReader ticks(reader, layout, options);
    Batch batch(layout.schema);
    // Every call consumes at least one record or ends the input, so this loop ends.
    for (size_t calls = 0; calls <= file.size() + 1; ++calls) {
      if (!ticks.read(batch, 4)) break;
      batch.clear();
    }
  } catch (const RuntimeError&) {
  }
  return 0;
}
