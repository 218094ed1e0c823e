#include "load/query_time.hpp"

#include <optional>

#include "core/time_zone.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow::detail {
namespace {

// `KEY:` or its override: a zone name the tz database knows, as the query records it
// ("UTC" for the names meaning UTC). nullopt when neither is set or the value is reported.
std::optional<std::string> read_zone_setting(const ConfigNode& root, const std::string& key,
                                             const std::optional<std::string>& override_name,
                                             const std::string& file, Diagnostics& diags) {
  std::string name;
  Location where{file, 1, 1};
  const ConfigNode* node = root.find(key);
  if (override_name) {
    name = *override_name;  // the command line or Python checked its form
  } else if (node && !node->is_null()) {
    where = node->location();
    if (!node->is_scalar() || node->text().empty()) {
      diags.error(where, "'" + key + ":' must be a time zone name such as America/New_York");
      return std::nullopt;
    }
    name = node->text();
  } else {
    return std::nullopt;
  }
  if (!is_known_time_zone(name)) {
    diags.error(where, "unknown time zone '" + name + "' in " + key +
                           " (expected an IANA name from the system tz database, such as "
                           "America/New_York or UTC)");
    return std::nullopt;
  }
  return is_utc_zone_name(name) ? std::string("UTC") : name;
}

void read_range_override(const std::optional<std::string>& text, const char* option,
                         const date::time_zone* zone, const std::string& file,
                         std::optional<int64_t>& bound, Diagnostics& diags) {
  if (!text) return;
  if (auto t = parse_time_in_zone(*text, zone)) {
    bound = t;
  } else {
    // The command line checked the form; what fails here is a time out of range.
    diags.error({file, 1, 1},
                std::string(option) + ": not a time: '" + *text + "'" + time_range_hint(*text));
  }
}

void read_range(const ConfigNode& root, const QueryOverrides& overrides, const std::string& file,
                const date::time_zone* zone, QueryInfo& info, Diagnostics& diags) {
  const ConfigNode* range = root.find("range");
  if (range && !range->is_null()) {
    if (!range->is_mapping()) {
      diags.error(range->location(), "'range:' must be {start: TIME, end: TIME}");
    } else {
      for (const auto& e : range->entries()) {
        if (e.key != "start" && e.key != "end") {
          diags.error(e.key_location, "unknown key '" + e.key + "' in range" +
                                          did_you_mean(e.key, {"start", "end"}));
          continue;
        }
        auto t = e.value.is_scalar() ? parse_time_in_zone(e.value.text(), zone) : std::nullopt;
        if (!t) {
          diags.error(e.value.location(),
                      "expected a time such as \"2024-01-02 09:30:00\", found '" + e.value.text() +
                          "'" + time_range_hint(e.value.text()));
          continue;
        }
        (e.key == "start" ? info.range_start : info.range_end) = t;
      }
    }
  }
  read_range_override(overrides.start_text, "--start", zone, file, info.range_start, diags);
  read_range_override(overrides.end_text, "--end", zone, file, info.range_end, diags);
  if (overrides.start) info.range_start = overrides.start;
  if (overrides.end) info.range_end = overrides.end;
  if (info.range_start && info.range_end && *info.range_end < *info.range_start) {
    diags.error(range ? range->location() : Location{file, 1, 1},
                "the range ends before it starts");
  }
}

}  // namespace

void read_query_time(const ConfigNode& root, const QueryOverrides& overrides,
                     const std::string& file, QueryInfo& info, Diagnostics& diags) {
  if (auto zone = read_zone_setting(root, "tz", overrides.time_zone, file, diags)) {
    info.time_zone = *zone;
  }
  if (auto zone = read_zone_setting(root, "output_tz", overrides.output_time_zone, file, diags)) {
    info.output_time_zone = *zone;
  }
  const date::time_zone* zone =
      is_utc_zone_name(info.time_zone) ? nullptr : find_time_zone(info.time_zone);
  read_range(root, overrides, file, zone, info, diags);
}

}  // namespace tickflow::detail
