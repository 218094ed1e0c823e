// Cell conversions, type inference, layout and TickReader of the `csv` source. The
// byte sources and the RFC 4180 record scanner (RecordReader) are in csv_records.cpp.
#include "sources/csv_reader.hpp"

#include <fast_float/fast_float.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "tickflow/time.hpp"

namespace tickflow::csv {

// ---------------------------------------------------------------- cells

namespace {

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool equals_ignoring_case(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// from_chars does not take a leading '+', which spreadsheets sometimes write.
bool strip_plus(std::string_view& text) {
  if (!text.empty() && text[0] == '+') {
    text.remove_prefix(1);
    if (text.empty() || text[0] == '-') return false;
  }
  return !text.empty();
}

// Compares the 10 bytes of a "YYYY-MM-DD" date without a library call per tick.
bool same_date(const char* a, const char* b) {
  uint64_t a8, b8;
  uint16_t a2, b2;
  std::memcpy(&a8, a, 8);
  std::memcpy(&b8, b, 8);
  std::memcpy(&a2, a + 8, 2);
  std::memcpy(&b2, b + 8, 2);
  return a8 == b8 && a2 == b2;
}

bool two_digits(const char* p, unsigned& value) {
  if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') return false;
  value = static_cast<unsigned>((p[0] - '0') * 10 + (p[1] - '0'));
  return true;
}

}  // namespace

bool parse_int_cell(std::string_view text, int64_t& value) {
  text = trim_spaces(text);
  if (!strip_plus(text)) return false;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && p == end;
}

bool parse_double_cell(std::string_view text, double& value) {
  text = trim_spaces(text);
  if (!strip_plus(text)) return false;
  const char* end = text.data() + text.size();
  auto [p, ec] = fast_float::from_chars(text.data(), end, value);
  return ec == std::errc() && p == end;
}

bool parse_bool_cell(std::string_view text, bool& value) {
  text = trim_spaces(text);
  if (equals_ignoring_case(text, "true") || text == "1") {
    value = true;
    return true;
  }
  if (equals_ignoring_case(text, "false") || text == "0") {
    value = false;
    return true;
  }
  return false;
}

bool parse_duration_cell(std::string_view text, int64_t& value) {
  if (parse_int_cell(text, value)) return true;
  if (auto d = parse_duration(trim_spaces(text))) {
    value = *d;
    return true;
  }
  return false;
}

std::optional<TimeFormat> parse_time_format(std::string_view name) {
  for (TimeFormat f : {TimeFormat::Auto, TimeFormat::Iso, TimeFormat::Nanos, TimeFormat::Micros,
                       TimeFormat::Millis, TimeFormat::Seconds}) {
    if (time_format_name(f) == name) return f;
  }
  return std::nullopt;
}

std::string_view time_format_name(TimeFormat format) {
  switch (format) {
    case TimeFormat::Auto:
      return "auto";
    case TimeFormat::Iso:
      return "iso";
    case TimeFormat::Nanos:
      return "ns";
    case TimeFormat::Micros:
      return "us";
    case TimeFormat::Millis:
      return "ms";
    case TimeFormat::Seconds:
      return "s";
  }
  return "?";
}

std::optional<int64_t> TimeParser::parse(std::string_view text) {
  text = trim_spaces(text);
  switch (format_) {
    case TimeFormat::Auto:
      // A date always has '-' at index 4, which no integer has.
      if (text.size() >= 10 && text[4] == '-') return parse_text(text);
      return parse_number(text, 0);
    case TimeFormat::Iso:
      return parse_text(text);
    case TimeFormat::Nanos:
      return parse_number(text, 0);
    case TimeFormat::Micros:
      return parse_number(text, 3);
    case TimeFormat::Millis:
      return parse_number(text, 6);
    case TimeFormat::Seconds:
      return parse_number(text, 9);
  }
  return std::nullopt;
}

std::optional<int64_t> TimeParser::local_to_utc(int64_t local) {
  if (local < unique_begin_ || local >= unique_end_) {
    const int64_t utc = zone_.to_utc(local);
    const TimeZone::Offset span = zone_.offset_at(utc);
    constexpr int64_t kDay = 86400 * kNanosPerSecond;
    offset_ = span.nanos;
    // Saturating: the first and last spans reach the int64 limits.
    const auto add = [](int64_t a, int64_t b) {
      int64_t sum;
      if (!__builtin_add_overflow(a, b, &sum)) return sum;
      return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
    };
    unique_begin_ = add(add(span.begin, offset_), kDay);
    unique_end_ = add(add(span.end, offset_), -kDay);
    if (local < unique_begin_ || local >= unique_end_) return utc;  // near a change
  }
  int64_t utc;
  if (__builtin_sub_overflow(local, offset_, &utc)) return std::nullopt;
  return utc;
}

// Fast path for "YYYY-MM-DD hh:mm:ss[.fffffffff]"; every other form goes to the shared
// parser, so both accept and compute exactly the same.
std::optional<int64_t> TimeParser::parse_text(std::string_view s) {
  const auto slow = [&] { return zone_.is_utc() ? parse_time_text(s) : zone_.parse(s); };
  if (s.size() < 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':') {
    return slow();
  }
  unsigned hours, minutes, seconds;
  if (!two_digits(s.data() + 11, hours) || !two_digits(s.data() + 14, minutes) ||
      !two_digits(s.data() + 17, seconds)) {
    return slow();
  }
  int64_t fraction = 0;
  if (s.size() > 19) {
    const size_t digits = s.size() - 20;
    if (s[19] != '.' || digits < 1 || digits > 9) return slow();
    for (size_t i = 20; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return slow();
      fraction = fraction * 10 + (s[i] - '0');
    }
    for (size_t i = digits; i < 9; ++i) fraction *= 10;
  }
  if (hours > 23 || minutes > 59 || seconds > 60) return std::nullopt;
  if (!has_cached_date_ || !same_date(s.data(), cached_date_)) {
    auto day = parse_time_text(s.substr(0, 10));
    if (!day) return slow();  // 1677-09-21: only its midnight is out of range
    std::memcpy(cached_date_, s.data(), 10);
    cached_day_nanos_ = *day;
    has_cached_date_ = true;
  }
  // 2262-04-11 is representable only until 23:47:16.854775807.
  int64_t nanos;
  if (__builtin_add_overflow(
          cached_day_nanos_,
          (int64_t{hours} * 3600 + minutes * 60 + seconds) * kNanosPerSecond + fraction, &nanos))
    return zone_.is_utc() ? std::nullopt : slow();
  return zone_.is_utc() ? nanos : local_to_utc(nanos);
}

// An integer count of units with up to `fraction_digits` decimals (digits beyond
// nanosecond precision are truncated).
std::optional<int64_t> TimeParser::parse_number(std::string_view text, int fraction_digits) {
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  const char* p = text.data();
  const char* end = p + text.size();
  if (p == end || *p < '0' || *p > '9') return std::nullopt;
  int64_t whole = 0;
  auto [after, ec] = std::from_chars(p, end, whole);
  if (ec != std::errc()) return std::nullopt;
  p = after;
  int64_t fraction = 0;
  if (p != end && *p == '.' && fraction_digits > 0) {
    ++p;
    int digits = 0;
    for (; p != end && *p >= '0' && *p <= '9'; ++p, ++digits) {
      if (digits < fraction_digits) fraction = fraction * 10 + (*p - '0');
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < fraction_digits; ++i) fraction *= 10;
  }
  if (p != end) return std::nullopt;
  int64_t scale = 1;
  for (int i = 0; i < fraction_digits; ++i) scale *= 10;
  int64_t result;
  if (__builtin_mul_overflow(whole, scale, &result) ||
      __builtin_add_overflow(result, fraction, &result)) {
    return std::nullopt;
  }
  return negative ? -result : result;
}

void TypeVote::add(std::string_view cell) {
  cell = trim_spaces(cell);
  if (cell.empty()) return;
  any_ = true;
  int64_t i;
  double d;
  if (maybe_int_ && !parse_int_cell(cell, i)) maybe_int_ = false;
  if (!maybe_int_ && maybe_double_ && !parse_double_cell(cell, d)) maybe_double_ = false;
  if (maybe_bool_ && !(equals_ignoring_case(cell, "true") || equals_ignoring_case(cell, "false"))) {
    maybe_bool_ = false;
  }
}

Type TypeVote::result() const {
  if (!any_) return Type::String;
  if (maybe_int_) return Type::Int;
  if (maybe_double_) return Type::Double;
  if (maybe_bool_) return Type::Bool;
  return Type::String;
}

std::string describe_cell(std::string_view text) {
  constexpr size_t kShown = 60;
  std::string out = "'";
  const size_t shown = std::min(text.size(), kShown);
  for (size_t i = 0; i < shown;) {
    const auto c = static_cast<unsigned char>(text[i]);
    // Length of a well-formed UTF-8 sequence starting here, 0 when it is not one.
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    for (size_t k = 1; k < length; ++k) {
      if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
        length = 0;
      }
    }
    if (length == 1 && c >= 0x20 && c != 0x7F) {
      out += static_cast<char>(c);
    } else if (length > 1) {
      out.append(text.substr(i, length));
      i += length;
      continue;
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : "";
      if (c != '\n' && c != '\r' && c != '\t') {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
      }
    }
    ++i;
  }
  out += "'";
  if (text.size() > kShown) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

// ---------------------------------------------------------------- layout

std::vector<std::string> read_header(RecordReader& reader) {
  if (!reader.next()) {
    throw RuntimeError(reader.file() + " is empty: a CSV file needs a header line",
                       Location{reader.file()});
  }
  std::vector<std::string> names;
  std::unordered_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < reader.size(); ++i) {
    const std::string_view name = reader.cell(i);
    if (!is_valid_name(name)) {
      throw RuntimeError("column name " + describe_cell(name) +
                             " in the header is not a valid field name (letters, digits and "
                             "'_', not starting with a digit)",
                         reader.location(i));
    }
    if (auto [it, inserted] = seen.emplace(name, i); !inserted) {
      throw RuntimeError("duplicate column name '" + std::string(name) +
                             "' in the header (also column " + std::to_string(it->second + 1) + ")",
                         reader.location(i));
    }
  }
  for (size_t i = 0; i < reader.size(); ++i) names.emplace_back(reader.cell(i));
  return names;
}

std::vector<Type> infer_column_types(RecordReader& reader, size_t column_count, size_t max_rows) {
  std::vector<TypeVote> votes(column_count);
  try {
    for (size_t row = 0; row < max_rows && reader.next(); ++row) {
      if (reader.size() != column_count) continue;
      for (size_t i = 0; i < column_count; ++i) votes[i].add(reader.cell(i));
    }
  } catch (const RuntimeError&) {
    // Malformed input is reported by the run, with the node and symbol.
  }
  std::vector<Type> types;
  types.reserve(column_count);
  for (const auto& vote : votes) types.push_back(vote.result());
  return types;
}

CsvLayout make_layout(const std::vector<std::string>& header, const std::vector<Type>& types,
                      size_t time_column, std::optional<size_t> symbol_column,
                      const std::vector<bool>& inferred) {
  CsvLayout layout;
  layout.header = header;
  layout.time_column = time_column;
  layout.symbol_column = symbol_column;
  std::vector<Field> fields;
  for (size_t i = 0; i < header.size(); ++i) {
    CsvLayout::Column column{header[i], CsvLayout::Role::Field, types[i], 0,
                             i < inferred.size() && inferred[i]};
    if (i == time_column) {
      column.role = CsvLayout::Role::Time;
      column.type = Type::Time;
    } else if (symbol_column && i == *symbol_column) {
      column.role = CsvLayout::Role::Symbol;
      column.type = Type::String;
    } else {
      column.field = fields.size();
      fields.push_back({header[i], types[i]});
    }
    layout.columns.push_back(std::move(column));
  }
  layout.schema = make_schema(std::move(fields));
  return layout;
}

// ---------------------------------------------------------------- ticks

namespace {

std::string cells_word(size_t n) {
  return std::to_string(n) + (n == 1 ? " cell" : " cells");
}

}  // namespace

TickReader::TickReader(RecordReader& reader, const CsvLayout& layout, TickReaderOptions options)
    : reader_(reader),
      layout_(layout),
      options_(std::move(options)),
      time_parser_(options_.time_format, options_.time_zone),
      field_time_parser_(TimeFormat::Auto, options_.time_zone) {}

UnskippableError time_order_error(int64_t time, int64_t previous, size_t previous_line,
                                  bool same_symbol, Location where) {
  UnskippableError error("timestamp " + format_time(time) +
                             " is earlier than the previous tick's " + format_time(previous) +
                             " (line " + std::to_string(previous_line) + ")" +
                             (same_symbol ? " of the same symbol" : "") +
                             "; CSV input must be in time order and is never reordered",
                         std::move(where));
  error.tick_time = time;
  return error;
}

std::optional<CheckedTime> TickReader::last_checked() const {
  if (!previous_time_) return std::nullopt;
  return CheckedTime{*previous_time_, previous_line_, {}};
}

bool TickReader::read(Batch& batch, size_t max_ticks) {
  if (done_) return false;
  size_t produced = 0;
  while (produced < max_ticks) {
    if (options_.stop_at_offset >= 0 && reader_.scan_offset() >= options_.stop_at_offset) {
      done_ = true;
      return false;
    }
    Row row;
    try {
      if (!reader_.next()) {
        done_ = true;
        return false;
      }
      row = convert_row(batch);
    } catch (const UnskippableError&) {
      throw;
    } catch (const RuntimeError&) {
      if (!options_.skip_bad_rows) throw;
      ++skipped_rows_;
      // Undo the cells of the bad row that were already appended.
      Batch& target = routed_target_ ? *routed_target_ : batch;
      for (auto& column : target.columns) {
        if (column.size() > target.times.size()) column.resize(target.times.size());
      }
      continue;
    }
    if (row == Row::Tick) ++produced;
    if (row == Row::Stop) {
      done_ = true;
      stopped_by_range_ = true;
      return false;
    }
  }
  return true;
}

TickReader::Row TickReader::convert_row(Batch& batch) {
  const size_t columns = layout_.header.size();
  if (reader_.size() != columns) {
    const std::string message =
        "row has " + cells_word(reader_.size()) + " but the header has " + cells_word(columns);
    if (reader_.size() > columns) throw RuntimeError(message, reader_.location(columns));
    throw RuntimeError(message, reader_.end_location());
  }
  if (options_.symbol && reader_.cell(*layout_.symbol_column) != *options_.symbol) {
    return Row::Filtered;
  }
  routed_target_ = nullptr;
  Batch* target = &batch;
  if (options_.route_by_symbol) {
    target = options_.route_by_symbol(reader_.cell(*layout_.symbol_column));
    if (!target) return Row::Filtered;
    routed_target_ = target;
  }

  row_time_.reset();
  const size_t time_cell = layout_.time_column;
  const bool has_time = time_cell != CsvLayout::kNoTimeColumn;
  const std::string_view time_text = has_time ? reader_.cell(time_cell) : std::string_view();
  const auto time = has_time ? time_parser_.parse(time_text) : options_.missing_time;
  if (!time) {
    const auto& name = layout_.header[time_cell];
    if (time_text.find_first_not_of(" \t") == std::string_view::npos) {
      throw RuntimeError("empty time value in time column " + name, reader_.location(time_cell));
    }
    throw RuntimeError("bad time value " + describe_cell(time_text) + " in time column " + name +
                           " (time_format: " + std::string(time_format_name(options_.time_format)) +
                           ")" + time_range_hint(trim_spaces(time_text)),
                       reader_.location(time_cell));
  }
  std::optional<int64_t>* previous_time = &previous_time_;
  size_t* previous_line = &previous_line_;
  std::optional<int64_t> routed_previous;
  if (options_.route_by_symbol) {
    auto it = previous_by_symbol_.find(std::string(reader_.cell(*layout_.symbol_column)));
    if (it != previous_by_symbol_.end()) routed_previous = it->second.first;
    previous_time = &routed_previous;
    previous_line = it != previous_by_symbol_.end() ? &it->second.second : &previous_line_;
  }
  const auto time_location = [&] {
    return has_time ? reader_.location(time_cell) : reader_.location(0);
  };
  if (*previous_time && *time < **previous_time) {
    throw time_order_error(*time, **previous_time, *previous_line,
                           static_cast<bool>(options_.route_by_symbol), time_location());
  }
  if (options_.route_by_symbol) {
    previous_by_symbol_[std::string(reader_.cell(*layout_.symbol_column))] = {
        *time, static_cast<size_t>(reader_.line())};
  } else {
    if (!previous_time_) {
      first_checked_ = CheckedTime{*time, static_cast<size_t>(reader_.line()), time_location()};
    }
    previous_time_ = time;
    previous_line_ = static_cast<size_t>(reader_.line());
  }
  if (options_.range_start && *time < *options_.range_start) return Row::Filtered;
  if (options_.range_end && *time >= *options_.range_end) {
    // Another symbol's rows may still follow in a shared file.
    return options_.route_by_symbol ? Row::Filtered : Row::Stop;
  }

  row_time_ = time;
  for (size_t i = 0; i < columns; ++i) {
    const auto& column = layout_.columns[i];
    if (column.role == CsvLayout::Role::Field)
      convert_field(column, i, target->columns[column.field]);
  }
  target->times.push_back(*time);
  return Row::Tick;
}

void TickReader::convert_field(const CsvLayout::Column& column, size_t cell, Column& out) {
  std::string_view text = reader_.cell(cell);
  if (column.type == Type::String) {
    out.strings().emplace_back(text);
    return;
  }
  text = trim_spaces(text);
  if (text.empty()) {
    out.append_default();
    return;
  }
  switch (column.type) {
    case Type::Int: {
      int64_t value;
      if (!parse_int_cell(text, value)) bad_value("int", cell);
      out.ints().push_back(value);
      return;
    }
    case Type::Double: {
      double value;
      if (!parse_double_cell(text, value)) bad_value("double", cell);
      out.doubles().push_back(value);
      return;
    }
    case Type::Bool: {
      bool value;
      if (!parse_bool_cell(text, value)) bad_value("bool", cell);
      out.bools().push_back(value ? 1 : 0);
      return;
    }
    case Type::Time: {
      auto value = field_time_parser_.parse(text);
      if (!value) bad_value("time", cell);
      out.ints().push_back(*value);
      return;
    }
    case Type::Duration: {
      int64_t value;
      if (!parse_duration_cell(text, value)) bad_value("duration", cell);
      out.ints().push_back(value);
      return;
    }
    case Type::String:
      return;
  }
}

void TickReader::bad_value(std::string_view what, size_t cell) const {
  const auto& column = layout_.columns[cell];
  std::string message = "bad " + std::string(what) + " value " + describe_cell(reader_.cell(cell)) +
                        " in field " + column.name;
  if (column.inferred) {
    message += " (the type was inferred from the first rows; give it with fields: {" + column.name +
               ": ...})";
  }
  RuntimeError error(std::move(message), reader_.location(cell));
  error.tick_time = row_time_;
  throw error;
}

}  // namespace tickflow::csv
