#include "core/time_zone.hpp"

#include <date/tz.h>

#include <limits>
#include <stdexcept>
#include <string>

#include "tickflow/time.hpp"

namespace tickflow {

bool is_utc_zone_name(std::string_view name) {
  return name.empty() || name == "UTC";
}

const date::time_zone* find_time_zone(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    // locate_zone throws std::runtime_error for an unknown name; the caller reports it.
    return nullptr;
  }
}

bool is_known_time_zone(std::string_view name) {
  return is_utc_zone_name(name) || find_time_zone(name) != nullptr;
}

std::optional<TimeZone> TimeZone::find(std::string_view name) {
  TimeZone zone;
  if (is_utc_zone_name(name)) return zone;
  const date::time_zone* found = find_time_zone(name);
  if (!found) return std::nullopt;
  zone.zone_ = found;
  return zone;
}

namespace {

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

int64_t floor_div_seconds(int64_t nanos) {
  const int64_t q = nanos / kNanosPerSecond;
  return (nanos % kNanosPerSecond < 0) ? q - 1 : q;
}

// The UTC instant of wall-clock nanoseconds `local` by the rule of local_to_utc_seconds: a
// skipped local time moves to the end of the gap exactly, without its fraction. nullopt
// when the instant does not fit int64 nanoseconds.
std::optional<int64_t> local_nanos_to_utc(const date::time_zone& zone, int64_t local) {
  const int64_t local_seconds = floor_div_seconds(local);
  const int64_t utc_seconds = local_to_utc_seconds(zone, local_seconds);
  const bool skipped = utc_seconds + utc_offset_seconds(zone, utc_seconds) != local_seconds;
  const int64_t fraction = skipped ? 0 : local - local_seconds * kNanosPerSecond;
  int64_t nanos;
  if (__builtin_mul_overflow(utc_seconds, kNanosPerSecond, &nanos) ||
      __builtin_add_overflow(nanos, fraction, &nanos)) {
    return std::nullopt;
  }
  return nanos;
}

}  // namespace

int64_t TimeZone::to_local(int64_t t) const {
  if (!zone_) return t;
  const auto& zone = *static_cast<const date::time_zone*>(zone_);
  // The offset is at most a day, so offset * 1e9 cannot overflow.
  return saturating_add(t, utc_offset_seconds(zone, floor_div_seconds(t)) * kNanosPerSecond);
}

int64_t TimeZone::to_utc(int64_t local) const {
  if (!zone_) return local;
  if (auto t = local_nanos_to_utc(*static_cast<const date::time_zone*>(zone_), local)) return *t;
  return local < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
}

TimeZone::Offset TimeZone::offset_at(int64_t t) const {
  Offset offset;
  if (!zone_) return offset;
  const auto& zone = *static_cast<const date::time_zone*>(zone_);
  const date::sys_info info =
      zone.get_info(date::sys_seconds{std::chrono::seconds{floor_div_seconds(t)}});
  offset.nanos = info.offset.count() * kNanosPerSecond;
  // The database's first and last spans reach far beyond what int64 nanoseconds hold.
  const auto to_nanos = [](int64_t seconds) {
    int64_t nanos;
    if (!__builtin_mul_overflow(seconds, kNanosPerSecond, &nanos)) return nanos;
    return seconds < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  };
  offset.begin = to_nanos(info.begin.time_since_epoch().count());
  offset.end = to_nanos(info.end.time_since_epoch().count());
  return offset;
}

int64_t utc_offset_seconds(const date::time_zone& zone, int64_t seconds) {
  const date::sys_seconds instant{std::chrono::seconds{seconds}};
  return zone.get_info(instant).offset.count();
}

int64_t local_to_utc_seconds(const date::time_zone& zone, int64_t local_seconds) {
  const date::local_seconds local{std::chrono::seconds{local_seconds}};
  // choose::earliest: the earlier of two instants for an ambiguous time, the end of the
  // gap for a nonexistent one (no exception either way).
  return zone.to_sys(local, date::choose::earliest).time_since_epoch().count();
}

namespace {

// True when a time text ends in 'Z' or an offset: a sign after the date part (the date's
// own dashes are at most at position 7 of "YYYY-MM-DD").
bool has_utc_offset(std::string_view text) {
  if (!text.empty() && (text.back() == 'Z' || text.back() == 'z')) return true;
  return text.size() > 10 && text.find_first_of("+-", 10) != std::string_view::npos;
}

bool is_plain_integer(std::string_view text) {
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) text.remove_prefix(1);
  if (text.empty()) return false;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return false;
  }
  return true;
}

}  // namespace

std::optional<int64_t> parse_time_in_zone(std::string_view text, const date::time_zone* zone) {
  std::optional<int64_t> t = parse_time_or_nanos(text);
  if (!t || !zone || is_plain_integer(text) || has_utc_offset(text)) return t;
  // Parsed as if UTC: that is the wall-clock reading; move it by the zone's offset.
  return local_nanos_to_utc(*zone, *t);
}

std::optional<int64_t> TimeZone::parse(std::string_view text) const {
  return parse_time_in_zone(text, static_cast<const date::time_zone*>(zone_));
}

}  // namespace tickflow
