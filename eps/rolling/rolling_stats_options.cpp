// rolling_stats: reading and checking its parameters (see rolling_stats.hpp).
#include <algorithm>
#include <charconv>
#include <set>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "rolling/rolling_stats.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps::rolling {

const std::vector<std::string>& stat_names() {
  static const std::vector<std::string> names = {
      "count", "sum", "mean", "var", "std", "min", "max", "first", "last", "var_pop", "std_pop"};
  return names;
}

bool read_fields(BindContext& ctx, Options& options, std::vector<std::string>& names) {
  const ConfigNode* field = ctx.param("field");
  const ConfigNode* fields = ctx.param("fields");
  if (field && fields) {
    ctx.error(ctx.location("fields"), "give either field or fields, not both");
    return false;
  }
  if (!field && !fields) {
    ctx.error(ctx.node_location(), "rolling_stats needs field: NAME or fields: [NAMES]");
    return false;
  }
  bool ok = true;
  std::set<std::string> seen;
  for (const ConfigNode* item : list_items(field ? field : fields)) {
    const std::string& name = item->text();
    if (!seen.insert(name).second) {
      ctx.error(item->location(), "field " + name + " is listed twice");
      ok = false;
      continue;
    }
    auto index = ctx.require_field(0, name, item->location());
    if (!index) {
      ok = false;
      continue;
    }
    const Type type = (*ctx.input(0).schema)[*index].type;
    if (type != Type::Int && type != Type::Double) {
      ctx.error(item->location(), "field " + name + " is " + std::string(type_name(type)) +
                                      "; rolling_stats needs an int or double field");
      ok = false;
      continue;
    }
    options.fields.push_back({*index, type});
    names.push_back(name);
  }
  return ok;
}

bool read_windows(BindContext& ctx, Options& options) {
  bool ok = true;
  const ConfigNode* ticks = ctx.param("windows");
  const ConfigNode* times = ctx.param("time_windows");
  if (!ticks && !times) {
    ctx.error(ctx.node_location(),
              "rolling_stats needs windows: [tick counts] or time_windows: [durations]");
    return false;
  }
  std::set<uint64_t> seen_ticks;
  for (const ConfigNode* item : list_items(ticks)) {
    const std::string& text = item->text();
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!item->is_scalar() || error != std::errc() || end != text.data() + text.size()) {
      ctx.error(item->location(), "windows: expected a tick count (a positive integer), got '" +
                                      text + "'; durations go in time_windows");
      ok = false;
    } else if (value <= 0) {
      ctx.error(item->location(), "windows: a window must hold at least 1 tick, got " + text);
      ok = false;
    } else if (!seen_ticks.insert(static_cast<uint64_t>(value)).second) {
      ctx.error(item->location(), "windows: window " + text + " is listed twice");
      ok = false;
    } else {
      options.windows.push_back({false, static_cast<uint64_t>(value), 0, std::to_string(value)});
      options.max_tick_window = std::max<uint64_t>(options.max_tick_window, value);
    }
  }
  std::set<int64_t> seen_durations;
  for (const ConfigNode* item : list_items(times)) {
    const std::string& text = item->text();
    const auto duration = item->is_scalar() ? parse_duration(text) : std::nullopt;
    if (!duration) {
      ctx.error(item->location(),
                "time_windows: expected a duration such as 250ms, 5s, 1m, got '" + text + "'");
      ok = false;
    } else if (*duration <= 0) {
      ctx.error(item->location(), "time_windows: a duration must be positive, got " + text);
      ok = false;
    } else if (!seen_durations.insert(*duration).second) {
      ctx.error(item->location(), "time_windows: " + text + " is the same window as another one");
      ok = false;
    } else if (!is_valid_name("X_" + text)) {
      ctx.error(item->location(), "time_windows: write the duration " + text +
                                      " with digits and a unit only (it is part of column names)");
      ok = false;
    } else {
      options.windows.push_back({true, 0, *duration, text});
    }
  }
  if (times && !seen_durations.empty() && !ctx.input(0).time_ordered) {
    ctx.error(ctx.location("time_windows"),
              "time_windows need a time-ordered input, but '" + ctx.input(0).name +
                  "' is not time-ordered (for example after order_by); restore time order "
                  "with update_timestamp first, or use tick windows");
    ok = false;
  }
  return ok;
}

bool read_stats(BindContext& ctx, Options& options) {
  bool ok = true;
  std::set<std::string> seen;
  const auto& names = stat_names();
  for (const ConfigNode* item : list_items(ctx.param("stats"))) {
    const std::string& name = item->text();
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      ctx.error(item->location(),
                "unknown stat '" + name + "'" + did_you_mean(name, names) +
                    "; stats are count sum mean var std var_pop std_pop min max first last");
      ok = false;
    } else if (!seen.insert(name).second) {
      ctx.error(item->location(), "stat " + name + " is listed twice");
      ok = false;
    } else {
      options.stats.push_back(static_cast<Stat>(it - names.begin()));
    }
  }
  if (ok && options.stats.empty()) {
    ctx.error(ctx.location("stats"), "stats: list at least one statistic");
    ok = false;
  }
  return ok;
}

std::string accumulation_bound(const Options& options) {
  std::string ticks, times;
  if (options.max_tick_window > 0) ticks = std::to_string(options.max_tick_window) + " ticks";
  int64_t longest = 0;
  for (const Window& window : options.windows) {
    if (window.by_time && window.duration > longest) {
      longest = window.duration;
      times = window.suffix;
    }
  }
  std::string bound = ticks.empty() ? times : times.empty() ? ticks : ticks + " or " + times;
  if (!options.key_columns.empty()) bound += " per group";
  return bound;
}

}  // namespace tickflow::eps::rolling
