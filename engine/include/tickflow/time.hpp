// Parsing and formatting of times and durations, shared by the YAML loader,
// CSV reader and tick writers so that all of them accept and print the same forms.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace tickflow {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Accepts "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.fraction]]", the ISO-8601 form with 'T',
// an optional 'Z' or +HH:MM / -HH:MM offset, and fractions of 1..9 digits.
// Returns nanoseconds since the epoch (UTC) or nullopt.
std::optional<int64_t> parse_time_text(std::string_view text);

// For an error message about `text`, which did not parse as a time: " (times must lie
// between 1677-09-21 and 2262-04-11 ...)" when it is a date outside what int64
// nanoseconds can hold, else "".
std::string time_range_hint(std::string_view text);

// Like parse_time_text, but also accepts a plain integer of nanoseconds (YAML form, SPEC §2).
std::optional<int64_t> parse_time_or_nanos(std::string_view text);

// True when `name` is "UTC" or an IANA zone the system tz database knows (SPEC §17).
bool is_known_time_zone(std::string_view name);

// A zone of the system tz database for EPs that follow local days (SPEC §17), resolved
// once at bind time; cheap to copy and safe to share between threads. Default: UTC, where
// both conversions are the identity. Results saturate at the int64 limits.
class TimeZone {
 public:
  TimeZone() = default;
  // "UTC" or "" give UTC; nullopt for a name the tz database does not know.
  static std::optional<TimeZone> find(std::string_view name);
  bool is_utc() const { return zone_ == nullptr; }
  // The wall-clock reading of UTC instant t, as nanoseconds since local 1970-01-01 00:00.
  int64_t to_local(int64_t t) const;
  // The UTC instant of wall-clock time `local`: the earlier instant of a repeated time,
  // the end of the gap for a skipped one.
  int64_t to_utc(int64_t local) const;

  // The zone's offset from UTC at instant t, and the UTC instants [begin, end) it holds
  // for, so that a caller converting many nearby instants asks the database once per span.
  struct Offset {
    int64_t nanos = 0;  // local = UTC + nanos
    int64_t begin = std::numeric_limits<int64_t>::min();
    int64_t end = std::numeric_limits<int64_t>::max();
  };
  Offset offset_at(int64_t t) const;
  // A time text or integer nanoseconds as parse_time_or_nanos reads it, except that a time
  // written without 'Z' or an offset is this zone's wall-clock time (SPEC §17).
  std::optional<int64_t> parse(std::string_view text) const;

 private:
  const void* zone_ = nullptr;  // a date::time_zone of the process-wide database
};

// "10ns", "5us", "250ms", "3s", "2m", "1h", "1d"; an optional leading '-'. Nanoseconds or nullopt.
std::optional<int64_t> parse_duration(std::string_view text);
// The inverse: "1m", "250ms", "-3s": the largest unit that divides the duration ("0ns" for 0).
std::string format_duration(int64_t nanos);

// Writes exactly 29 characters "YYYY-MM-DD HH:MM:SS.nnnnnnnnn" to `out` (no terminator).
void format_time(int64_t nanos, char* out);
std::string format_time(int64_t nanos);

// Days since 1970-01-01 for a proleptic Gregorian date, and back.
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);
void civil_from_days(int64_t days, int64_t& year, unsigned& month, unsigned& day);

}  // namespace tickflow
