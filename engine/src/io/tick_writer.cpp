// Output formats (parse_output_format) and TickWriter, which formats batches as CSV,
// JSON lines or an aligned table. OutputFile is in output_file.cpp and the value
// formatting helpers in value_format.hpp.
#include "tickflow/tick_writer.hpp"

#include "io/value_format.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cassert>
#include <cstring>

#include "tickflow/diagnostics.hpp"

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
    TimeFormatter time_formatter;
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

  OutputFormat format;
  SchemaPtr schema;
  OutputFile& out;
  bool has_symbol_column = false;
  std::string symbol;
  std::string symbol_cell;  // the symbol as printed in the current format
  std::vector<OutColumn> columns;
  TimeFormatter timestamp_formatter;
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
      columns.push_back({i, field.type, fmt::format(",\"{}\":", field.name), {}});
    }
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

  void write_csv(const Batch& batch) {
    const size_t fixed = fixed_row_bytes(3);
    for (size_t row = 0; row < batch.size(); ++row) {
      size_t row_bytes = fixed;
      for (const OutColumn& column : columns) {
        if (column.type == Type::String) {
          row_bytes += csv_max_chars(batch.columns[column.index].strings()[row]);
        }
      }
      char* p = reserve(row_bytes);
      p = timestamp_formatter.put(p, batch.times[row]);
      if (has_symbol_column) {
        *p++ = ',';
        p = put_literal(p, symbol_cell);
      }
      for (OutColumn& column : columns) {
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
            p = column.time_formatter.put(p, values.ints()[row]);
            break;
        }
      }
      *p++ = '\n';
      commit_to(p);
    }
  }

  // ---- JSON lines

  void write_jsonl(const Batch& batch) {
    static constexpr std::string_view kTimestampKey = "{\"TIMESTAMP\":\"";
    const size_t fixed = fixed_row_bytes(2) + kTimestampKey.size();
    for (size_t row = 0; row < batch.size(); ++row) {
      size_t row_bytes = fixed;
      for (const OutColumn& column : columns) {
        if (column.type == Type::String) {
          row_bytes += json_max_chars(batch.columns[column.index].strings()[row]);
        }
      }
      char* p = reserve(row_bytes);
      p = put_literal(p, kTimestampKey);
      p = timestamp_formatter.put(p, batch.times[row]);
      *p++ = '"';
      if (has_symbol_column) p = put_literal(p, symbol_cell);
      for (OutColumn& column : columns) {
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
            p = column.time_formatter.put(p, values.ints()[row]);
            *p++ = '"';
            break;
        }
      }
      *p++ = '}';
      *p++ = '\n';
      commit_to(p);
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
      table[t++].add(std::string_view(cell, timestamp_formatter.put(cell, batch.times[row])));
      if (has_symbol_column) table[t++].add(symbol_cell);
      for (OutColumn& column : columns) {
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
            end = column.time_formatter.put(cell, values.ints()[row]);
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

void TickWriter::write(const Batch& batch) {
  assert(batch.columns.size() == impl_->schema->size());
  switch (impl_->format) {
    case OutputFormat::Csv:
      impl_->write_csv(batch);
      break;
    case OutputFormat::Jsonl:
      impl_->write_jsonl(batch);
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
