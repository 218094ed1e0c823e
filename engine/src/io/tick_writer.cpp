// Output formats (parse_output_format) and TickWriter, which formats batches as CSV,
// JSON lines or an aligned table. OutputFile is in output_file.cpp and the value
// formatting helpers in value_format.hpp.
#include "tickflow/tick_writer.hpp"

#include "io/value_format.hpp"

#include <fmt/format.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "core/tsan_handoff.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/ep_helpers.hpp"

namespace tickflow {

std::optional<OutputFormat> parse_output_format(std::string_view name) {
  if (name == "csv") return OutputFormat::Csv;
  if (name == "jsonl") return OutputFormat::Jsonl;
  if (name == "table") return OutputFormat::Table;
  return std::nullopt;
}

std::string_view output_format_extension(OutputFormat format) {
  switch (format) {
    case OutputFormat::Csv:
      return "csv";
    case OutputFormat::Jsonl:
      return "jsonl";
    case OutputFormat::Table:
      return "txt";
  }
  return "txt";
}

// ---------------------------------------------------------------- value formatting

// The helpers of value_format.hpp that the writer uses.
using detail::append_display_string;
using detail::csv_max_chars;
using detail::display_width;
using detail::json_max_chars;
using detail::kMaxDoubleChars;
using detail::kMaxIntChars;
using detail::kTimeChars;
using detail::put_bool;
using detail::put_csv_string;
using detail::put_double;
using detail::put_int;
using detail::put_json_double;
using detail::put_json_string;
using detail::put_literal;
using detail::TimeFormatter;

// ---------------------------------------------------------------- TickWriter

struct TickWriter::Impl {
  // One printed column after TIMESTAMP and SYMBOL: a schema field.
  struct OutColumn {
    size_t index;  // in the schema and in Batch::columns
    Type type;
    std::string json_key;  // ,"NAME":
  };

  // What formatting a row changes: the time formatters' cached dates. Rows formatted
  // concurrently each use their own; the text does not depend on which one.
  struct Formatters {
    TimeFormatter timestamp;
    std::vector<TimeFormatter> columns;  // one per OutColumn
  };

  // Rows of one batch formatted by one task of a parallel write.
  struct Part {
    Formatters formatters;
    std::unique_ptr<char[]> text;
    size_t capacity = 0;
    size_t used = 0;
  };

  // Cells of one table column, kept as text until the widths are known.
  struct TableColumn {
    std::string header;
    bool right_aligned = false;
    std::string text;
    std::vector<size_t> ends;  // end offset of each cell in `text`
    size_t width = 0;

    void add(std::string_view cell) {
      text.append(cell);
      ends.push_back(text.size());
      width = std::max(width, display_width(cell));
    }
  };

  static constexpr size_t kChunkBytes = 1 << 20;
  // A batch is formatted in parallel only when each part gets at least this many cells
  // (roughly 0.5 ms of formatting): below that the hand-off costs more than it saves.
  static constexpr size_t kMinCellsPerPart = 8192;

  OutputFormat format;
  SchemaPtr schema;
  OutputFile& out;
  bool has_symbol_column = false;
  std::string symbol;
  std::string symbol_cell;  // the symbol as printed in the current format
  std::vector<OutColumn> columns;
  std::vector<size_t> string_columns;  // Batch::columns indices of the string fields printed
  Formatters formatters;
  std::vector<Part> parts;
  bool finished = false;

  std::unique_ptr<char[]> buffer;
  size_t buffer_used = 0;
  size_t buffer_capacity = 0;

  std::vector<TableColumn> table;

  Impl(OutputFormat format_, SchemaPtr schema_, OutputFile& out_,
       std::optional<std::string> symbol_column)
      : format(format_), schema(std::move(schema_)), out(out_) {
    has_symbol_column = symbol_column.has_value();
    for (size_t i = 0; i < schema->size(); ++i) {
      const Field& field = (*schema)[i];
      // In a run with symbols the run's SYMBOL column replaces a field of that name.
      if (has_symbol_column && field.name == "SYMBOL") continue;
      columns.push_back({i, field.type, fmt::format(",\"{}\":", field.name)});
      if (field.type == Type::String) string_columns.push_back(i);
    }
    formatters.columns.resize(columns.size());
    buffer_capacity = kChunkBytes;
    buffer = std::make_unique_for_overwrite<char[]>(buffer_capacity);
    if (has_symbol_column) set_symbol(std::move(*symbol_column));
    if (format == OutputFormat::Csv) write_csv_header();
    if (format == OutputFormat::Table) start_table();
  }

  void set_symbol(std::string value) {
    if (!has_symbol_column) return;
    symbol = std::move(value);
    symbol_cell.clear();
    if (format == OutputFormat::Csv) {
      symbol_cell.resize(csv_max_chars(symbol));
      symbol_cell.resize(
          static_cast<size_t>(put_csv_string(symbol_cell.data(), symbol) - symbol_cell.data()));
    } else if (format == OutputFormat::Jsonl) {
      symbol_cell.resize(json_max_chars(symbol));
      symbol_cell.resize(
          static_cast<size_t>(put_json_string(symbol_cell.data(), symbol) - symbol_cell.data()));
      symbol_cell.insert(0, ",\"SYMBOL\":");
    } else {
      append_display_string(symbol_cell, symbol);
    }
  }

  // ---- output buffer

  void flush_buffer() {
    if (buffer_used == 0) return;
    out.write(std::string_view(buffer.get(), buffer_used));
    buffer_used = 0;
  }

  // Guarantees `bytes` writable bytes at buffer_end(); writes full chunks out.
  char* reserve(size_t bytes) {
    if (buffer_used + bytes > buffer_capacity) {
      flush_buffer();
      if (bytes > buffer_capacity) {
        buffer_capacity = bytes;
        buffer = std::make_unique_for_overwrite<char[]>(buffer_capacity);
      }
    }
    return buffer.get() + buffer_used;
  }
  void commit_to(char* end) { buffer_used = static_cast<size_t>(end - buffer.get()); }

  void append(std::string_view text) { commit_to(put_literal(reserve(text.size()), text)); }

  // Bound on the bytes of the fixed-width cells of one row, plus separators.
  size_t fixed_row_bytes(size_t per_cell_overhead) const {
    size_t bytes = kTimeChars + symbol_cell.size() + 16;
    for (const OutColumn& column : columns) {
      bytes += per_cell_overhead + column.json_key.size();
      switch (column.type) {
        case Type::Int:
        case Type::Duration:
          bytes += kMaxIntChars;
          break;
        case Type::Double:
          bytes += kMaxDoubleChars;
          break;
        case Type::Bool:
          bytes += 5;
          break;
        case Type::Time:
          bytes += kTimeChars;
          break;
        case Type::String:
          break;
      }
    }
    return bytes;
  }

  // ---- CSV

  void write_csv_header() {
    std::string header = "TIMESTAMP";
    if (has_symbol_column) header += ",SYMBOL";
    for (const OutColumn& column : columns) {
      header += ',';
      header += (*schema)[column.index].name;
    }
    header += '\n';
    append(header);
  }

  // Bytes row `row` can take at most in CSV or JSON lines, given `fixed` from
  // fixed_bound().
  size_t row_bound(const Batch& batch, size_t row, size_t fixed) const {
    size_t bytes = fixed;
    for (size_t index : string_columns) {
      std::string_view text = batch.columns[index].strings()[row];
      bytes += format == OutputFormat::Csv ? csv_max_chars(text) : json_max_chars(text);
    }
    return bytes;
  }

  // The end of the run of rows from `begin` whose bound stays near `budget` bytes (at
  // least one row), and that bound.
  std::pair<size_t, size_t> run_of_rows(const Batch& batch, size_t begin, size_t fixed,
                                        size_t budget) const {
    const size_t rows = batch.size();
    if (string_columns.empty()) {  // every row has the same bound
      const size_t end = std::min(rows, begin + std::max<size_t>(1, budget / fixed));
      return {end, (end - begin) * fixed};
    }
    size_t end = begin;
    size_t bound = 0;
    do {
      bound += row_bound(batch, end++, fixed);
    } while (end < rows && bound < budget);
    return {end, bound};
  }

  size_t fixed_bound() const {
    static constexpr size_t kJsonExtra = sizeof("{\"TIMESTAMP\":\"\"}");
    return format == OutputFormat::Csv ? fixed_row_bytes(3) : fixed_row_bytes(2) + kJsonExtra;
  }

  // Rows [begin, end) as CSV; the loop is inside so that the column table stays in
  // registers across rows.
  char* put_csv_rows(char* p, const Batch& batch, size_t begin, size_t end, Formatters& f) const {
    for (size_t row = begin; row < end; ++row) p = put_csv_row(p, batch, row, f);
    return p;
  }

  char* put_jsonl_rows(char* p, const Batch& batch, size_t begin, size_t end, Formatters& f) const {
    for (size_t row = begin; row < end; ++row) p = put_jsonl_row(p, batch, row, f);
    return p;
  }

  __attribute__((always_inline)) char* put_csv_row(char* p, const Batch& batch, size_t row,
                                                   Formatters& f) const {
    p = f.timestamp.put(p, batch.times[row]);
    if (has_symbol_column) {
      *p++ = ',';
      p = put_literal(p, symbol_cell);
    }
    for (size_t c = 0; c < columns.size(); ++c) {
      const OutColumn& column = columns[c];
      *p++ = ',';
      const Column& values = batch.columns[column.index];
      switch (column.type) {
        case Type::Int:
        case Type::Duration:
          p = put_int(p, values.ints()[row]);
          break;
        case Type::Double:
          p = put_double(p, values.doubles()[row]);
          break;
        case Type::Bool:
          p = put_bool(p, values.bools()[row] != 0);
          break;
        case Type::String:
          p = put_csv_string(p, values.strings()[row]);
          break;
        case Type::Time:
          p = f.columns[c].put(p, values.ints()[row]);
          break;
      }
    }
    *p++ = '\n';
    return p;
  }

  __attribute__((always_inline)) char* put_jsonl_row(char* p, const Batch& batch, size_t row,
                                                     Formatters& f) const {
    p = put_literal(p, "{\"TIMESTAMP\":\"");
    p = f.timestamp.put(p, batch.times[row]);
    *p++ = '"';
    if (has_symbol_column) p = put_literal(p, symbol_cell);
    for (size_t c = 0; c < columns.size(); ++c) {
      const OutColumn& column = columns[c];
      p = put_literal(p, column.json_key);
      const Column& values = batch.columns[column.index];
      switch (column.type) {
        case Type::Int:
        case Type::Duration:
          p = put_int(p, values.ints()[row]);
          break;
        case Type::Double:
          p = put_json_double(p, values.doubles()[row]);
          break;
        case Type::Bool:
          p = put_bool(p, values.bools()[row] != 0);
          break;
        case Type::String:
          p = put_json_string(p, values.strings()[row]);
          break;
        case Type::Time:
          *p++ = '"';
          p = f.columns[c].put(p, values.ints()[row]);
          *p++ = '"';
          break;
      }
    }
    *p++ = '}';
    *p++ = '\n';
    return p;
  }

  char* put_rows(char* p, const Batch& batch, size_t begin, size_t end, Formatters& f) const {
    return format == OutputFormat::Csv ? put_csv_rows(p, batch, begin, end, f)
                                       : put_jsonl_rows(p, batch, begin, end, f);
  }

  // CSV or JSON lines. A large batch is cut into consecutive row ranges formatted
  // concurrently on the run's threads, each into a buffer of its own, then written in
  // order: the bytes are those of formatting the rows one after another, for every
  // --threads and --batch-size. The parts run isolated, so a thread waiting for them
  // runs no unrelated task (the caller may hold a lock such a task would take).
  void write_rows(const Batch& batch) {
    const size_t rows = batch.size();
    const size_t fixed = fixed_bound();
    const size_t cells = rows * (columns.size() + 1);
    const size_t threads = available_threads();
    const size_t part_count =
        threads == 1 ? 1 : std::min({2 * threads, cells / kMinCellsPerPart, rows});
    if (part_count <= 1) {
      // Runs of rows of at most ~64 KB each, so a huge batch never needs a huge buffer.
      static constexpr size_t kRunBytes = 64 << 10;
      for (size_t begin = 0; begin < rows;) {
        const auto [end, bound] = run_of_rows(batch, begin, fixed, kRunBytes);
        commit_to(put_rows(reserve(bound), batch, begin, end, formatters));
        begin = end;
      }
      return;
    }
    while (parts.size() < part_count) parts.push_back(Part{formatters, nullptr, 0, 0});
    detail::TaskHandoff handoff;
    detail::TaskHandoff::before_spawn();
    tbb::this_task_arena::isolate([&] {
      tbb::parallel_for(size_t{0}, part_count, [&](size_t k) {
        detail::TaskHandoff::task_started();
        Part& part = parts[k];
        const size_t begin = rows * k / part_count;
        const size_t end = rows * (k + 1) / part_count;
        size_t bound = (end - begin) * fixed;
        if (!string_columns.empty()) {
          bound = 0;
          for (size_t row = begin; row < end; ++row) bound += row_bound(batch, row, fixed);
        }
        if (bound > part.capacity) {
          part.capacity = std::max(bound, part.capacity * 2);
          part.text = std::make_unique_for_overwrite<char[]>(part.capacity);
        }
        char* p = put_rows(part.text.get(), batch, begin, end, part.formatters);
        part.used = static_cast<size_t>(p - part.text.get());
        handoff.task_finished();
      });
    });
    handoff.after_wait();
    for (size_t k = 0; k < part_count; ++k) {
      const Part& part = parts[k];
      if (buffer_used + part.used <= buffer_capacity) {
        std::memcpy(buffer.get() + buffer_used, part.text.get(), part.used);
        buffer_used += part.used;
      } else {
        flush_buffer();
        out.write(std::string_view(part.text.get(), part.used));
      }
    }
  }

  // ---- table

  void start_table() {
    table.push_back({"TIMESTAMP", false, {}, {}, 0});
    if (has_symbol_column) table.push_back({"SYMBOL", false, {}, {}, 0});
    for (const OutColumn& column : columns) {
      bool numeric =
          column.type == Type::Int || column.type == Type::Double || column.type == Type::Duration;
      table.push_back({(*schema)[column.index].name, numeric, {}, {}, 0});
    }
    for (TableColumn& column : table) column.width = display_width(column.header);
  }

  void add_table_rows(const Batch& batch) {
    char cell[64];
    std::string text;
    for (size_t row = 0; row < batch.size(); ++row) {
      size_t t = 0;
      table[t++].add(std::string_view(cell, formatters.timestamp.put(cell, batch.times[row])));
      if (has_symbol_column) table[t++].add(symbol_cell);
      for (size_t c = 0; c < columns.size(); ++c) {
        const OutColumn& column = columns[c];
        const Column& values = batch.columns[column.index];
        char* end = cell;
        switch (column.type) {
          case Type::Int:
          case Type::Duration:
            end = put_int(cell, values.ints()[row]);
            break;
          case Type::Double:
            end = put_double(cell, values.doubles()[row]);
            break;
          case Type::Bool:
            end = put_bool(cell, values.bools()[row] != 0);
            break;
          case Type::Time:
            end = formatters.columns[c].put(cell, values.ints()[row]);
            break;
          case Type::String:
            text.clear();
            append_display_string(text, values.strings()[row]);
            table[t++].add(text);
            continue;
        }
        table[t++].add(std::string_view(cell, static_cast<size_t>(end - cell)));
      }
    }
  }

  // Columns are two spaces apart; the last column carries no trailing padding.
  void write_table_line(const std::vector<std::string_view>& cells) {
    for (size_t c = 0; c < table.size(); ++c) {
      const TableColumn& column = table[c];
      size_t padding = column.width - display_width(cells[c]);
      bool last = c + 1 == table.size();
      char* p = reserve(cells[c].size() + column.width + 3);
      if (c > 0) p = put_literal(p, "  ");
      if (column.right_aligned) {
        std::memset(p, ' ', padding);
        p += padding;
      }
      p = put_literal(p, cells[c]);
      if (!column.right_aligned && !last) {
        std::memset(p, ' ', padding);
        p += padding;
      }
      if (last) *p++ = '\n';
      commit_to(p);
    }
  }

  void write_table() {
    std::vector<std::string_view> cells(table.size());
    for (size_t c = 0; c < table.size(); ++c) cells[c] = table[c].header;
    write_table_line(cells);
    std::vector<std::string> dashes(table.size());
    for (size_t c = 0; c < table.size(); ++c) {
      dashes[c].assign(table[c].width, '-');
      cells[c] = dashes[c];
    }
    write_table_line(cells);
    size_t rows = table.empty() ? 0 : table[0].ends.size();
    for (size_t row = 0; row < rows; ++row) {
      for (size_t c = 0; c < table.size(); ++c) {
        const TableColumn& column = table[c];
        size_t begin = row == 0 ? 0 : column.ends[row - 1];
        cells[c] = std::string_view(column.text).substr(begin, column.ends[row] - begin);
      }
      write_table_line(cells);
    }
    table.clear();
  }
};

TickWriter::TickWriter(OutputFormat format, SchemaPtr schema, OutputFile& out,
                       std::optional<std::string> symbol_column)
    : impl_(std::make_unique<Impl>(format, std::move(schema), out, std::move(symbol_column))) {}

TickWriter::~TickWriter() = default;

void TickWriter::set_symbol(std::string symbol) {
  impl_->set_symbol(std::move(symbol));
}

std::optional<TimeZone> output_zone(std::string_view output_time_zone) {
  if (output_time_zone.empty()) return std::nullopt;
  return TimeZone::find(output_time_zone);
}

void TickWriter::set_output_zone(const TimeZone& zone) {
  assert(impl_->parts.empty());
  Impl::Formatters& f = impl_->formatters;
  f.timestamp = TimeFormatter(zone);
  for (TimeFormatter& column : f.columns) column = TimeFormatter(zone);
}

void TickWriter::write(const Batch& batch) {
  assert(batch.columns.size() == impl_->schema->size());
  switch (impl_->format) {
    case OutputFormat::Csv:
    case OutputFormat::Jsonl:
      impl_->write_rows(batch);
      break;
    case OutputFormat::Table:
      impl_->add_table_rows(batch);
      break;
  }
}

void TickWriter::flush() {
  if (impl_->format != OutputFormat::Table) impl_->flush_buffer();
}

void TickWriter::finish() {
  if (impl_->finished) return;
  impl_->finished = true;
  if (impl_->format == OutputFormat::Table) impl_->write_table();
  impl_->flush_buffer();
}

}  // namespace tickflow
