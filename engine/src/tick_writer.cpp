#include "tickflow/tick_writer.hpp"

#include "temp_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/compile.h>
#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "tickflow/diagnostics.hpp"
#include "tickflow/time.hpp"

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

// ---------------------------------------------------------------- OutputFile

namespace {

std::string describe_errno(int error) {
  return std::strerror(error);
}

[[noreturn]] void throw_io_error(const std::string& what, const std::string& path, int error) {
  throw RuntimeError(fmt::format("{} '{}': {}", what, path, describe_errno(error)));
}

// Same directory as the target so that rename() stays within one file system and is atomic.
std::string temporary_path_for(const std::string& target) {
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path target_path(target);
  std::string name = target_path.filename().string();
  std::filesystem::path temp =
      target_path.parent_path() / fmt::format(".{}.tmp-{}-{}", name, static_cast<long>(::getpid()),
                                              counter.fetch_add(1, std::memory_order_relaxed));
  return temp.string();
}

constexpr size_t kStdioBufferBytes = 1 << 20;

}  // namespace

std::unique_ptr<OutputFile> OutputFile::open(const std::string& path) {
  if (path == "-") return standard_output();
  std::unique_ptr<OutputFile> out(new OutputFile());
  out->path_ = path;

  struct stat target_stat;
  bool target_exists = ::stat(path.c_str(), &target_stat) == 0;
  if (target_exists && S_ISDIR(target_stat.st_mode)) throw_io_error("cannot write", path, EISDIR);

  if (target_exists && !S_ISREG(target_stat.st_mode)) {
    // A device, pipe or socket (/dev/null, /dev/stdout, a FIFO): renaming a temporary file
    // onto it would replace the special file, so write to it directly.
    out->file_ = std::fopen(path.c_str(), "wb");
    if (!out->file_) throw_io_error("cannot open output", path, errno);
  } else {
    std::string target = path;
    struct stat link_stat;
    if (target_exists && ::lstat(path.c_str(), &link_stat) == 0 && S_ISLNK(link_stat.st_mode)) {
      // Replace the file the link points to, not the link itself.
      std::error_code ec;
      auto resolved = std::filesystem::canonical(path, ec);
      if (!ec) target = resolved.string();
    }
    out->temp_path_ = temporary_path_for(target);
    out->path_ = target;
    int fd = ::open(out->temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) throw_io_error("cannot create output file", path, errno);
    detail::track_temporary_file(out->temp_path_);
    out->file_ = ::fdopen(fd, "wb");
    if (!out->file_) {
      int error = errno;
      ::close(fd);
      ::unlink(out->temp_path_.c_str());
      detail::untrack_temporary_file(out->temp_path_);
      throw_io_error("cannot create output file", path, error);
    }
  }
  std::setvbuf(out->file_, nullptr, _IOFBF, kStdioBufferBytes);
  return out;
}

std::unique_ptr<OutputFile> OutputFile::standard_output() {
  std::unique_ptr<OutputFile> out(new OutputFile());
  out->file_ = stdout;
  out->path_ = "<stdout>";
  out->is_stdout_ = true;
  return out;
}

OutputFile::~OutputFile() {
  if (!done_) abort();
}

void OutputFile::write(std::string_view bytes) {
  if (bytes.empty()) return;
  if (done_ || !file_) throw RuntimeError(fmt::format("write to closed output '{}'", path_));
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    throw_io_error("cannot write", path_, errno);
  }
}

void OutputFile::commit() {
  if (done_) return;
  if (is_stdout_) {
    if (std::fflush(file_) != 0) throw_io_error("cannot write", path_, errno);
    return;  // stdout stays usable; nothing to undo
  }
  std::FILE* file = file_;
  file_ = nullptr;
  bool write_failed = std::fflush(file) != 0 || std::ferror(file);
  int error = errno;
  if (std::fclose(file) != 0 && !write_failed) {
    write_failed = true;
    error = errno;
  }
  if (write_failed) {
    if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
    detail::untrack_temporary_file(temp_path_);
    done_ = true;
    throw_io_error("cannot write", path_, error);
  }
  if (!temp_path_.empty() && std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    error = errno;
    ::unlink(temp_path_.c_str());
    detail::untrack_temporary_file(temp_path_);
    done_ = true;
    throw_io_error("cannot rename output file onto", path_, error);
  }
  detail::untrack_temporary_file(temp_path_);
  done_ = true;
}

void OutputFile::abort() noexcept {
  if (done_) return;
  done_ = true;
  if (is_stdout_) {
    std::fflush(file_);
    return;
  }
  if (file_) std::fclose(file_);
  file_ = nullptr;
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  detail::untrack_temporary_file(temp_path_);
}

// ---------------------------------------------------------------- value formatting

namespace {

constexpr int64_t kNanosPerDay = 86400 * kNanosPerSecond;

constexpr std::array<char, 200> make_digit_pairs() {
  std::array<char, 200> pairs{};
  for (int i = 0; i < 100; ++i) {
    pairs[2 * i] = static_cast<char>('0' + i / 10);
    pairs[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return pairs;
}
constexpr std::array<char, 200> kDigitPairs = make_digit_pairs();

inline void put_pair(char* out, uint32_t value) {
  std::memcpy(out, &kDigitPairs[2 * value], 2);
}

// Consecutive ticks nearly always share a day, so the calendar part is computed once per day.
struct TimeFormatter {
  int64_t day = std::numeric_limits<int64_t>::min();
  char date_prefix[11] = {};  // "YYYY-MM-DD "

  // Writes the 29 characters of format_time(nanos); returns the end.
  char* put(char* out, int64_t nanos) {
    int64_t days = nanos / kNanosPerDay;
    int64_t rem = nanos % kNanosPerDay;
    if (rem < 0) {
      rem += kNanosPerDay;
      --days;
    }
    if (days != day) {
      char full[29];
      format_time(nanos, full);
      std::memcpy(date_prefix, full, sizeof date_prefix);
      day = days;
    }
    std::memcpy(out, date_prefix, sizeof date_prefix);
    auto secs = static_cast<uint32_t>(rem / kNanosPerSecond);
    auto frac = static_cast<uint32_t>(rem % kNanosPerSecond);
    put_pair(out + 11, secs / 3600);
    out[13] = ':';
    put_pair(out + 14, (secs / 60) % 60);
    out[16] = ':';
    put_pair(out + 17, secs % 60);
    out[19] = '.';
    out[20] = static_cast<char>('0' + frac / 100'000'000);
    frac %= 100'000'000;
    put_pair(out + 21, frac / 1'000'000);
    put_pair(out + 23, (frac / 10'000) % 100);
    put_pair(out + 25, (frac / 100) % 100);
    put_pair(out + 27, frac % 100);
    return out + 29;
  }
};

constexpr size_t kTimeChars = 29;
constexpr size_t kMaxIntChars = 20;     // "-9223372036854775808"
constexpr size_t kMaxDoubleChars = 32;  // "-2.2250738585072014e-308" is 24

inline char* put_unsigned(char* out, uint64_t value) {
  char digits[20];
  char* end = digits + sizeof digits;
  char* p = end;
  while (value >= 100) {
    p -= 2;
    put_pair(p, static_cast<uint32_t>(value % 100));
    value /= 100;
  }
  if (value >= 10) {
    p -= 2;
    put_pair(p, static_cast<uint32_t>(value));
  } else {
    *--p = static_cast<char>('0' + value);
  }
  std::memcpy(out, p, static_cast<size_t>(end - p));
  return out + (end - p);
}

inline char* put_int(char* out, int64_t value) {
  if (value < 0) {
    *out++ = '-';
    return put_unsigned(out, 0 - static_cast<uint64_t>(value));
  }
  return put_unsigned(out, static_cast<uint64_t>(value));
}

inline char* put_literal(char* out, std::string_view text) {
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

// Prices and sizes usually have few decimals. For those the shortest round-trip text is
// found with one multiplication and one division, about a third cheaper than the general
// algorithm; the output is byte-identical to fmt's "{}" (checked by the unit tests).
//
// At scale 10^k with |value| * 10^k < 2^50 the rounding error of the product is below 1/16,
// so round(value * 10^k) is the only k-decimal candidate that can round-trip, and
// candidate / 10^k (both exact, one correctly rounded division) equals what strtod would
// return. A shorter representation is a multiple of it by a power of ten, so stripping
// trailing zeros yields the shortest digits.
inline char* put_short_decimal(char* out, double value, bool& done) {
  static constexpr double kPow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  constexpr double kExactProduct = 0x1p50;
  constexpr double kRoundingShift = 0x1p52;
  done = false;
  double magnitude = std::fabs(value);
  // Outside this range fmt may switch to exponent notation.
  if (!(magnitude >= 1e-3 && magnitude < 1e15)) return out;
  int scale = 9;
  while (magnitude * kPow10[scale] >= kExactProduct) --scale;
  double scaled = magnitude * kPow10[scale];
  double rounded = (scaled + kRoundingShift) - kRoundingShift;
  if (rounded / kPow10[scale] != magnitude) return out;
  auto mantissa = static_cast<uint64_t>(rounded);
  while (scale > 0 && mantissa % 10 == 0) {
    mantissa /= 10;
    --scale;
  }
  done = true;
  if (std::signbit(value)) *out++ = '-';
  if (scale == 0) return put_unsigned(out, mantissa);
  char digits[24];
  auto count = static_cast<int>(put_unsigned(digits, mantissa) - digits);
  if (count <= scale) {
    out = put_literal(out, "0.");
    for (int i = count; i < scale; ++i) *out++ = '0';
    return put_literal(out, std::string_view(digits, static_cast<size_t>(count)));
  }
  out = put_literal(out, std::string_view(digits, static_cast<size_t>(count - scale)));
  *out++ = '.';
  return put_literal(out, std::string_view(digits + count - scale, static_cast<size_t>(scale)));
}

// Shortest round-trip text (fmt's "{}" form); NaN of either sign is plain "nan".
inline char* put_finite_double(char* out, double value) {
  bool done;
  char* end = put_short_decimal(out, value, done);
  if (done) return end;
  return fmt::format_to(out, FMT_COMPILE("{}"), value);
}

inline char* put_double(char* out, double value) {
  if (std::isnan(value)) return put_literal(out, "nan");
  return put_finite_double(out, value);
}

inline char* put_bool(char* out, bool value) {
  return value ? put_literal(out, "true") : put_literal(out, "false");
}

// ---- CSV strings (RFC 4180)

inline bool csv_needs_quotes(std::string_view s) {
  for (char c : s) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') return true;
  }
  return false;
}

inline size_t csv_max_chars(std::string_view s) {
  return 2 * s.size() + 2;
}

inline char* put_csv_string(char* out, std::string_view s) {
  if (!csv_needs_quotes(s)) return put_literal(out, s);
  *out++ = '"';
  for (char c : s) {
    if (c == '"') *out++ = '"';
    *out++ = c;
  }
  *out++ = '"';
  return out;
}

// ---- JSON strings

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid.
inline size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto continuation = [&](size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  unsigned char lead = byte(i);
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(i + 1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(i + 1) || !continuation(i + 2)) return 0;
    unsigned char second = byte(i + 1);
    if (lead == 0xE0 && second < 0xA0) return 0;  // overlong
    if (lead == 0xED && second > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return 0;
    unsigned char second = byte(i + 1);
    if (lead == 0xF0 && second < 0x90) return 0;  // overlong
    if (lead == 0xF4 && second > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Every input byte becomes at most 6 output bytes ("\u00XX" or "\ufffd").
inline size_t json_max_chars(std::string_view s) {
  return 6 * s.size() + 2;
}

// Valid UTF-8 passes through; each byte of an invalid sequence becomes U+FFFD so that
// every line stays valid JSON.
char* put_json_string(char* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  *out++ = '"';
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      *out++ = static_cast<char>(c);
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        out = put_literal(out, "\\ufffd");
        ++i;
      } else {
        out = put_literal(out, s.substr(i, n));
        i += n;
      }
      continue;
    }
    *out++ = '\\';
    switch (c) {
      case '"':
        *out++ = '"';
        break;
      case '\\':
        *out++ = '\\';
        break;
      case '\b':
        *out++ = 'b';
        break;
      case '\f':
        *out++ = 'f';
        break;
      case '\n':
        *out++ = 'n';
        break;
      case '\r':
        *out++ = 'r';
        break;
      case '\t':
        *out++ = 't';
        break;
      default:
        out = put_literal(out, "u00");
        *out++ = kHex[c >> 4];
        *out++ = kHex[c & 0xF];
    }
    ++i;
  }
  *out++ = '"';
  return out;
}

inline char* put_json_double(char* out, double value) {
  if (!std::isfinite(value)) return put_literal(out, "null");
  return put_finite_double(out, value);
}

// ---- table cells

// Terminal text: control characters would break the grid, so they are shown escaped.
void append_display_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7F) {
      out.push_back(ch);
      continue;
    }
    out.push_back('\\');
    switch (c) {
      case '\n':
        out.push_back('n');
        break;
      case '\r':
        out.push_back('r');
        break;
      case '\t':
        out.push_back('t');
        break;
      default:
        out.push_back('x');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
}

// Code points, which is the column count for the scripts a tick stream usually holds.
size_t display_width(std::string_view s) {
  size_t width = 0;
  for (char c : s) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

}  // namespace

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

void TickWriter::finish() {
  if (impl_->finished) return;
  impl_->finished = true;
  if (impl_->format == OutputFormat::Table) impl_->write_table();
  impl_->flush_buffer();
}

}  // namespace tickflow
