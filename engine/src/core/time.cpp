#include "tickflow/time.hpp"

#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

namespace tickflow {

// Howard Hinnant's civil calendar algorithms (public domain), valid for the whole int64 ns range.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& year, unsigned& month, unsigned& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2);
}

namespace {

void put2(char* out, unsigned v) {
  out[0] = static_cast<char>('0' + v / 10);
  out[1] = static_cast<char>('0' + v % 10);
}

bool digits(std::string_view s, size_t pos, size_t n, unsigned& value) {
  if (pos + n > s.size()) return false;
  value = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

void format_time(int64_t nanos, char* out) {
  int64_t days = nanos / (86400 * kNanosPerSecond);
  int64_t rem = nanos % (86400 * kNanosPerSecond);
  if (rem < 0) {
    rem += 86400 * kNanosPerSecond;
    --days;
  }
  int64_t year;
  unsigned month, day;
  civil_from_days(days, year, month, day);
  unsigned secs = static_cast<unsigned>(rem / kNanosPerSecond);
  unsigned frac = static_cast<unsigned>(rem % kNanosPerSecond);
  // Years outside 0..9999 are clamped into four digits' shape by printing modulo; such
  // times only arise from extreme int64 values and still print deterministically.
  unsigned y = static_cast<unsigned>(((year % 10000) + 10000) % 10000);
  out[0] = static_cast<char>('0' + y / 1000);
  out[1] = static_cast<char>('0' + (y / 100) % 10);
  put2(out + 2, y % 100);
  out[4] = '-';
  put2(out + 5, month);
  out[7] = '-';
  put2(out + 8, day);
  out[10] = ' ';
  put2(out + 11, secs / 3600);
  out[13] = ':';
  put2(out + 14, (secs / 60) % 60);
  out[16] = ':';
  put2(out + 17, secs % 60);
  out[19] = '.';
  for (int i = 28; i >= 20; --i) {
    out[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
}

std::string format_duration(int64_t nanos) {
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86'400'000'000'000, "d"}, {3'600'000'000'000, "h"}, {60'000'000'000, "m"},
      {1'000'000'000, "s"},      {1'000'000, "ms"},        {1'000, "us"}};
  if (nanos != 0) {
    for (auto [size, unit] : kUnits) {
      if (nanos % size == 0) return std::to_string(nanos / size) + unit;
    }
  }
  return std::to_string(nanos) + "ns";
}

std::string format_time(int64_t nanos) {
  std::string s(29, ' ');
  format_time(nanos, s.data());
  return s;
}

std::optional<int64_t> parse_time_text(std::string_view s) {
  unsigned year, month, day;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || s[7] != '-' ||
      !digits(s, 5, 2, month) || !digits(s, 8, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  // Computed in 128 bits; a time outside int64 nanoseconds (1677-09-21 00:12:43.145224192
  // to 2262-04-11 23:47:16.854775807) does not parse, instead of wrapping around to a date
  // in another century.
  __int128 nanos =
      static_cast<__int128>(days_from_civil(year, month, day)) * 86400 * kNanosPerSecond;
  auto fit = [](__int128 v) -> std::optional<int64_t> {
    if (v < std::numeric_limits<int64_t>::min() || v > std::numeric_limits<int64_t>::max())
      return std::nullopt;
    return static_cast<int64_t>(v);
  };
  size_t pos = 10;
  if (pos == s.size()) return fit(nanos);
  if (s[pos] != ' ' && s[pos] != 'T') return std::nullopt;
  ++pos;
  unsigned hh, mm, ss = 0;
  if (!digits(s, pos, 2, hh) || pos + 2 >= s.size() || s[pos + 2] != ':' ||
      !digits(s, pos + 3, 2, mm)) {
    return std::nullopt;
  }
  pos += 5;
  if (pos < s.size() && s[pos] == ':') {
    if (!digits(s, pos + 1, 2, ss)) return std::nullopt;
    pos += 3;
  }
  if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  nanos += (static_cast<int64_t>(hh) * 3600 + mm * 60 + ss) * kNanosPerSecond;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    int64_t frac = 0;
    size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 9) frac = frac * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (size_t i = n; i < 9; ++i) frac *= 10;
    nanos += frac;
  }
  if (pos == s.size()) return fit(nanos);
  if (s[pos] == 'Z' && pos + 1 == s.size()) return fit(nanos);
  if (s[pos] == '+' || s[pos] == '-') {
    int sign = s[pos] == '+' ? 1 : -1;
    unsigned oh, om = 0;
    if (!digits(s, pos + 1, 2, oh)) return std::nullopt;
    size_t p = pos + 3;
    if (p < s.size() && s[p] == ':') ++p;
    if (p < s.size()) {
      if (!digits(s, p, 2, om)) return std::nullopt;
      p += 2;
    }
    if (p != s.size() || oh > 23 || om > 59) return std::nullopt;
    return fit(nanos - sign * (static_cast<int64_t>(oh) * 3600 + om * 60) * kNanosPerSecond);
  }
  return std::nullopt;
}

std::string time_range_hint(std::string_view text) {
  unsigned year;
  if (!digits(text, 0, 4, year) || text.size() < 5 || text[4] != '-') return "";
  if (year > 1677 && year < 2262) return "";
  return " (times must lie between 1677-09-21 00:12:43.145224192 and 2262-04-11 "
         "23:47:16.854775807, the range of int64 nanoseconds)";
}

std::optional<int64_t> parse_time_or_nanos(std::string_view text) {
  if (auto t = parse_time_text(text)) return t;
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec == std::errc() && p == end && !text.empty()) return v;
  return std::nullopt;
}

std::optional<int64_t> parse_duration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) return std::nullopt;  // "--5s"
  }
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p == s.data()) return std::nullopt;
  std::string_view unit(p, static_cast<size_t>(end - p));
  int64_t scale;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us")
    scale = 1'000;
  else if (unit == "ms")
    scale = 1'000'000;
  else if (unit == "s")
    scale = kNanosPerSecond;
  else if (unit == "m")
    scale = 60 * kNanosPerSecond;
  else if (unit == "h")
    scale = 3600 * kNanosPerSecond;
  else if (unit == "d")
    scale = 86400 * kNanosPerSecond;
  else
    return std::nullopt;
  int64_t result;
  if (__builtin_mul_overflow(v, scale, &result)) return std::nullopt;
  if (negative && result == std::numeric_limits<int64_t>::min()) return std::nullopt;
  return negative ? -result : result;
}

}  // namespace tickflow
