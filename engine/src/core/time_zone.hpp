// IANA time zones from the system tz database (SPEC §17), through the date library's tz.h.
// A zone is looked up by name once (at load or compile time); the returned pointer stays
// valid for the life of the process and may be shared by every thread (the database is
// read-only after its first use).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace date {
class time_zone;
}

namespace tickflow {

// The zone named `name`, or nullptr when the system tz database has none.
const date::time_zone* find_time_zone(std::string_view name);

// True for the names that mean "no zone": empty, "UTC" (the default).
bool is_utc_zone_name(std::string_view name);

// The zone's UTC offset in seconds at UTC instant `seconds` (seconds since the epoch).
int64_t utc_offset_seconds(const date::time_zone& zone, int64_t seconds);

// The UTC instant (seconds) of local time `local_seconds` in `zone`. A local time that
// occurs twice (the hour repeated when clocks go back) gives the earlier instant; one
// that does not exist (skipped when clocks go forward) gives the instant the gap ends.
int64_t local_to_utc_seconds(const date::time_zone& zone, int64_t local_seconds);

// parse_time_or_nanos, reading a time written without an offset ("2024-03-10 09:30") as
// wall-clock time in `zone` (nullptr: UTC) by the rule of local_to_utc_seconds. A 'Z' or
// +HH:MM offset, and integer nanoseconds, are already absolute and stay as they are.
std::optional<int64_t> parse_time_in_zone(std::string_view text, const date::time_zone* zone);

}  // namespace tickflow
