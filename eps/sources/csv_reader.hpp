// The reading core of the `csv` source: a streaming RFC 4180 record reader, cell
// conversions, type inference and a tick reader that turns records into batches.
// It knows nothing about binding or operators, so it can be tested on in-memory text
// with tiny chunk sizes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/schema.hpp"
#include "tickflow/time.hpp"
#include "tickflow/types.hpp"

namespace tickflow::csv {

// ---------------------------------------------------------------- byte sources

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes into `dst`; returns 0 only at the end of the input.
  // Throws RuntimeError on I/O errors.
  virtual size_t read(char* dst, size_t size) = 0;
};

// Opens `path` for reading; throws RuntimeError naming the path when that fails.
std::unique_ptr<ByteSource> open_file(const std::string& path);
std::unique_ptr<ByteSource> memory_source(std::string data);

// Wraps `source` in a gzip or zstd decoder when its first bytes say so; a name ending in
// .gz or .zst whose bytes are not that format is an error. Truncated or corrupt
// compressed data throws RuntimeError naming `name` when read.
std::unique_ptr<ByteSource> decompress(std::unique_ptr<ByteSource> source, const std::string& name);

// What an input is opened for: sampling the header and types at load time, or reading
// the ticks during the run. Standard input keeps the sampled bytes for the run.
enum class InputUse { Sample, Ticks };
inline constexpr std::string_view kStdinName = "<stdin>";

// Opens a csv input: a file ("-" = standard input), decompressed when it is gzip or zstd.
// `on_read`, when given, is called with the number of bytes read from the file each time
// it is read (before decompression): the progress of a run through the file.
std::unique_ptr<ByteSource> open_input(const std::string& path, InputUse use,
                                       std::function<void(int64_t)> on_read = {});
// The size in bytes of the file `path` opens, or -1 when it has none known in advance
// (standard input, a pipe, a file that cannot be read: opening it reports that).
int64_t input_size(const std::string& path);
// The name errors use for `path`: "<stdin>" for "-".
std::string input_name(const std::string& path);

// ---------------------------------------------------------------- records

// Thrown by a RecordReader of bytes in memory that are not the end of the input, when a
// record (or a line being skipped) runs past them. Not an error: the caller reads on from
// scan_offset() with more bytes.
struct InputPaused {};

inline constexpr size_t kDefaultChunkSize = size_t{1} << 20;

// Splits a byte stream into RFC 4180 records: quoted cells with "" escapes and embedded
// line breaks, LF / CRLF / CR line ends, a UTF-8 byte order mark at the start ignored,
// empty lines skipped. Reads `chunk_size` bytes at a time but keeps a record whole, so a
// record may be any length.
//
// Malformed input (an unterminated quote, text after a closing quote, a NUL byte) makes
// next() throw RuntimeError at the offending byte's file:line:column, at once (without
// reading on); a caller that skips bad rows may call next() again, which resumes at the
// next line.
class RecordReader {
 public:
  RecordReader(std::unique_ptr<ByteSource> source, std::string file_name, char delimiter,
               size_t chunk_size = kDefaultChunkSize);
  // Reads bytes already in memory (a piece of a file), without copying them; `bytes` must
  // outlive the reader. At their end the input ends when `last`; otherwise next() throws
  // InputPaused, leaving scan_offset() at the record the bytes cut.
  RecordReader(std::string_view bytes, bool last, std::string file_name, char delimiter);

  // Reads the next record; false at the end of the input.
  bool next();

  // The cells of the current record, valid until the next call of next().
  size_t size() const { return current_count_; }
  std::string_view cell(size_t i) const {
    const Span& span = current_spans_[i];
    return {(span.escaped ? unescaped_.data() : data_) + span.begin, span.end - span.begin};
  }

  // 1-based file line where the current record starts.
  int line() const { return record_line_; }
  // Where cell `i` of the current record starts (its opening quote when quoted).
  Location location(size_t i) const;
  // Just past the last cell of the current record.
  Location end_location() const;
  const std::string& file() const { return file_; }
  char delimiter() const { return delimiter_; }

  // Where the next scan starts, in bytes from the start of the source (the record after
  // the current one, or the bad line being skipped), its file line, and whether the rest of
  // that line is to be skipped first (after a malformed record). Reading a piece of a file
  // stops at a byte offset by these.
  int64_t scan_offset() const { return static_cast<int64_t>(discarded_ + record_start_); }
  int scan_line() const { return line_; }
  bool resync_pending() const { return resync_pending_; }
  // Makes the reader continue a file from inside it: the source's first byte is at file
  // line `line` (no byte order mark can follow), with the rest of that line skipped first
  // when `resync_pending`.
  void resume_at(int line, bool resync_pending);

  // What is left of the input: the bytes read but not yet scanned, and the source. The
  // reader has no more records afterwards.
  struct Rest {
    std::unique_ptr<ByteSource> source;
    std::string buffered;
    bool eof = false;
    int line = 1;
    bool resync_pending = false;
  };
  Rest release_rest();

 private:
  enum class Scan { Complete, NeedMore, End, Error };
  struct Span {
    size_t raw_start;  // first byte of the cell in the buffer, the quote included
    size_t begin;      // value bytes [begin, end), quotes excluded
    size_t end;
    bool escaped;  // holds "" pairs that must be collapsed
  };

  Scan scan();
  void add_span(const Span& span) {
    if (span_count_ == spans_.size()) spans_.resize(spans_.size() * 2 + 8);
    spans_[span_count_++] = span;
  }
  void refill();
  void unescape_cells();
  Location locate(size_t record_start, int record_line, size_t offset) const;
  [[noreturn]] void fail_and_resync();
  void resync();  // skips the rest of the line an error was raised in

  std::unique_ptr<ByteSource> source_;
  std::string file_;
  char delimiter_;
  size_t chunk_size_;

  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  const char* data_ = nullptr;  // buffer_, or the bytes of a reader of memory
  bool in_memory_ = false;      // reading bytes given at construction, not source_
  bool pauses_at_end_ = false;  // in memory: the bytes are not the end of the input
  size_t end_ = 0;              // bytes [0, end_) of data_ hold data
  size_t discarded_ = 0;        // bytes of the source dropped from the front of buffer_
  bool eof_ = false;
  bool at_file_start_ = true;

  // Scanner state for the record being read.
  size_t record_start_ = 0;  // first byte of the record being scanned
  int line_ = 1;             // file line of record_start_
  size_t breaks_ = 0;        // line breaks seen so far in the record being scanned
  size_t scan_end_ = 0;      // where the last cell ends (before the line break)
  size_t next_start_ = 0;    // first byte after the record's line break
  size_t error_offset_ = 0;
  std::string error_;
  bool error_swallows_rest_ = false;  // an unterminated quote runs to the end of the input
  bool resync_pending_ = false;       // an error was raised; the next record is on the next line
  std::vector<Span> spans_;           // [0, span_count_) are in use; kept allocated across records
  size_t span_count_ = 0;
  bool spans_escaped_ = false;  // a span of [0, span_count_) holds a "" pair
  uint8_t unquoted_stop_[256];  // bytes that end an unquoted run

  // The current (returned) record.
  size_t current_start_ = 0;
  size_t current_end_ = 0;
  int record_line_ = 0;
  std::vector<Span> current_spans_;
  size_t current_count_ = 0;
  std::string unescaped_;  // values of escaped cells, which cannot point into the buffer
};

// ---------------------------------------------------------------- cells

// Cell conversions. Numbers, bools and times may be surrounded by spaces; an empty
// cell is handled by the caller (it is the type's default).
bool parse_int_cell(std::string_view text, int64_t& value);
bool parse_double_cell(std::string_view text, double& value);     // nan, inf, -inf included
bool parse_bool_cell(std::string_view text, bool& value);         // true/false, any case; 1/0
bool parse_duration_cell(std::string_view text, int64_t& value);  // ns integer or "250ms"

enum class TimeFormat { Auto, Iso, Nanos, Micros, Millis, Seconds };
std::optional<TimeFormat> parse_time_format(std::string_view name);  // auto|iso|ns|us|ms|s
std::string_view time_format_name(TimeFormat format);

// Parses time cells in one format. Consecutive ticks usually share a date, so the
// date of the last "YYYY-MM-DD hh:mm:ss" text is cached.
class TimeParser {
 public:
  // A time text without an offset is a wall-clock time of `zone` (SPEC §17: the query's
  // `tz:`); integer times and texts with 'Z' or an offset are absolute.
  explicit TimeParser(TimeFormat format, TimeZone zone = {}) : format_(format), zone_(zone) {}
  std::optional<int64_t> parse(std::string_view text);

 private:
  std::optional<int64_t> parse_text(std::string_view text);
  std::optional<int64_t> parse_number(std::string_view text, int fraction_digits);
  // The UTC instant of wall-clock time `local` in zone_.
  std::optional<int64_t> local_to_utc(int64_t local);

  TimeFormat format_;
  TimeZone zone_;
  char cached_date_[10] = {};
  int64_t cached_day_nanos_ = 0;
  bool has_cached_date_ = false;
  // Local times in [unique_begin_, unique_end_) map to UTC by subtracting offset_: the
  // middle of one span of the zone's rules, a day away from any change (where a local time
  // can be repeated or skipped), so the database is asked about once per span.
  int64_t unique_begin_ = 0;
  int64_t unique_end_ = 0;
  int64_t offset_ = 0;
};

// Infers column types from sample cells (SPEC §4): int if every value is an int64,
// else double, else bool if every value is true/false, else string. Empty cells do
// not vote; a column without any value is a string.
class TypeVote {
 public:
  void add(std::string_view cell);
  Type result() const;

 private:
  bool any_ = false;
  bool maybe_int_ = true;
  bool maybe_double_ = true;
  bool maybe_bool_ = true;
};

// A cell for an error message: quoted, non-printable bytes escaped, long text shortened.
std::string describe_cell(std::string_view text);

// ---------------------------------------------------------------- layout

// Reads the header record and checks that every name is a valid, unique field name.
// Throws RuntimeError at the offending cell, or naming the file when it is empty.
std::vector<std::string> read_header(RecordReader& reader);

// Infers the type of each of `column_count` columns from up to `max_rows` records.
// Rows with the wrong number of cells are left out, and sampling stops quietly at
// malformed input: the run reports both with their location.
std::vector<Type> infer_column_types(RecordReader& reader, size_t column_count, size_t max_rows);

// What each column of the file becomes.
struct CsvLayout {
  enum class Role : uint8_t { Time, Symbol, Field };
  struct Column {
    std::string name;
    Role role = Role::Field;
    Type type = Type::String;
    size_t field = 0;       // index in `schema` for Role::Field
    bool inferred = false;  // the type was guessed from sample rows, not given
  };
  // A time_column of kNoTimeColumn: the ticks get TickReaderOptions::missing_time.
  static constexpr size_t kNoTimeColumn = static_cast<size_t>(-1);
  std::vector<std::string> header;
  std::vector<Column> columns;
  size_t time_column = 0;
  std::optional<size_t> symbol_column;  // filtered on and dropped from the schema
  SchemaPtr schema;
};

// Builds the layout: the time column becomes TIMESTAMP, the symbol column (if any) is
// dropped, every other column is a field in file order with types[i]. `inferred[i]`
// (optional) marks guessed types, which error messages then point out.
CsvLayout make_layout(const std::vector<std::string>& header, const std::vector<Type>& types,
                      size_t time_column, std::optional<size_t> symbol_column,
                      const std::vector<bool>& inferred = {});

// ---------------------------------------------------------------- ticks

struct TickReaderOptions {
  TimeFormat time_format = TimeFormat::Auto;
  // Keep only rows whose symbol column equals this (layout.symbol_column must be set).
  std::optional<std::string> symbol;
  // Skip and count rows that are malformed or do not convert, instead of failing.
  // Out-of-order timestamps fail even then: skipping them would hide an unsorted file,
  // and one far-future typo would silently swallow every row after it.
  bool skip_bad_rows = false;
  std::optional<int64_t> range_start;  // [start, end)
  std::optional<int64_t> range_end;
  // Reading a shared file once for every symbol: each row goes to the batch this returns
  // for its symbol cell, or is dropped when it returns nullptr (layout.symbol_column must
  // be set). Time order and the range end then apply per symbol, so a file sorted by
  // symbol, then time, is as valid as one sorted by time.
  std::function<Batch*(std::string_view symbol)> route_by_symbol;
  // The time of every tick when the layout has no time column (a push request's receipt
  // time, SPEC §13).
  int64_t missing_time = 0;
  // The query's zone: times without an offset (the time column and time fields) are read
  // in it.
  TimeZone time_zone;
  // Reading one piece of a file (ParallelTickReader): stop, without reading it, at the
  // first record whose scan starts at or after this byte offset of the reader's source.
  int64_t stop_at_offset = -1;
};

// Errors that skip mode (skip_bad_rows) must not swallow.
class UnskippableError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

// A tick time that went through the time-order check: the row's line and the place the
// error for it points at.
struct CheckedTime {
  int64_t time = 0;
  size_t line = 0;
  Location location;
};

// The error for a tick earlier than the previous one (of the same symbol when routed):
// CSV input is never reordered, and this is never skipped.
UnskippableError time_order_error(int64_t time, int64_t previous, size_t previous_line,
                                  bool same_symbol, Location where);

// Turns the data records of a reader (positioned after the header) into batches.
class TickReader {
 public:
  TickReader(RecordReader& reader, const CsvLayout& layout, TickReaderOptions options);

  // Appends at most `max_ticks` ticks to `batch` (built on layout.schema); returns false
  // once the input (or the range) is exhausted. Throws RuntimeError for bad data.
  bool read(Batch& batch, size_t max_ticks);
  int64_t skipped_rows() const { return skipped_rows_; }

  // Without route_by_symbol: the first and the last tick time that went through the
  // time-order check, so that a piece of a file read on its own can be checked against the
  // piece before it.
  const std::optional<CheckedTime>& first_checked() const { return first_checked_; }
  std::optional<CheckedTime> last_checked() const;
  // True when reading stopped at the range's end (not at the end of the input).
  bool stopped_by_range() const { return stopped_by_range_; }

 private:
  enum class Row { Tick, Filtered, Stop };
  Row convert_row(Batch& batch);
  void convert_field(const CsvLayout::Column& column, size_t cell, Column& out);
  [[noreturn]] void bad_value(std::string_view what, size_t cell) const;

  RecordReader& reader_;
  const CsvLayout& layout_;
  TickReaderOptions options_;
  TimeParser time_parser_;
  TimeParser field_time_parser_;
  std::optional<int64_t> previous_time_;
  size_t previous_line_ = 0;
  // With route_by_symbol: the previous time and line per symbol.
  std::unordered_map<std::string, std::pair<int64_t, size_t>> previous_by_symbol_;
  Batch* routed_target_ = nullptr;   // the batch the current row goes to, when routed
  std::optional<int64_t> row_time_;  // of the row being converted, for error reports
  int64_t skipped_rows_ = 0;
  bool done_ = false;
  bool stopped_by_range_ = false;
  std::optional<CheckedTime> first_checked_;
};

}  // namespace tickflow::csv
