// Value formatting for TickWriter: times, integers, doubles (shortest round-trip), bools,
// and strings escaped for CSV (RFC 4180), JSON and terminal table cells. Each put_*
// writes into a buffer the caller has reserved and returns the end. Internal to
// tick_writer.cpp; header-only so the per-cell calls stay inlined.
#pragma once

#include <fmt/compile.h>
#include <fmt/format.h>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "tickflow/time.hpp"

namespace tickflow::detail {

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
// In an output zone (--output-tz, SPEC §17) a time prints as that zone's wall clock followed
// by its offset, "YYYY-MM-DD HH:MM:SS.nnnnnnnnn-05:00"; the offset is looked up once per span
// of the zone's rules, not per tick.
struct TimeFormatter {
  int64_t day = std::numeric_limits<int64_t>::min();
  char date_prefix[11] = {};                                  // "YYYY-MM-DD "
  std::optional<TimeZone> zone;                               // unset: UTC without an offset
  TimeZone::Offset offset{.nanos = 0, .begin = 0, .end = 0};  // empty: looked up first
  char offset_text[6] = {};                                   // "+HH:MM"

  TimeFormatter() = default;
  explicit TimeFormatter(std::optional<TimeZone> output_zone) : zone(output_zone) {}

  // Writes format_time(nanos) (29 characters), or in an output zone the local time and
  // its offset (35); returns the end.
  char* put(char* out, int64_t nanos) {
    if (!zone) return put_utc(out, nanos);
    if (nanos < offset.begin || nanos >= offset.end) look_up_offset(nanos);
    int64_t local;
    if (offset.nanos % (60 * kNanosPerSecond) != 0 ||
        __builtin_add_overflow(nanos, offset.nanos, &local)) {
      // A local mean time of before ~1900 (an offset with seconds, which ±HH:MM cannot
      // say) or a time within a day of the int64 limits: the UTC reading, exactly.
      out = put_utc(out, nanos);
      std::memcpy(out, "+00:00", 6);
      return out + 6;
    }
    out = put_utc(out, local);
    std::memcpy(out, offset_text, 6);
    return out + 6;
  }

  void look_up_offset(int64_t nanos) {
    offset = zone->offset_at(nanos);
    const int64_t minutes = offset.nanos / (60 * kNanosPerSecond);
    const auto magnitude = static_cast<uint32_t>(minutes < 0 ? -minutes : minutes);
    offset_text[0] = minutes < 0 ? '-' : '+';
    put_pair(offset_text + 1, magnitude / 60 % 100);
    offset_text[3] = ':';
    put_pair(offset_text + 4, magnitude % 60);
  }

  char* put_utc(char* out, int64_t nanos) {
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

constexpr size_t kTimeChars = 35;       // with an output zone's "+HH:MM"
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
inline char* put_json_string(char* out, std::string_view s) {
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
inline void append_display_string(std::string& out, std::string_view s) {
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
inline size_t display_width(std::string_view s) {
  size_t width = 0;
  for (char c : s) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

}  // namespace tickflow::detail
