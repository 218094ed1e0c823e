// `rolling_stats`: statistics of the last W ticks (or the ticks of the last duration d) of
// numeric fields, for several windows at once, emitted on every tick. Each (group, field)
// owns a PowerTree holding the values of its longest window; each window reads it through
// a SlidingWindow, so a tick costs one merge per window (see docs/design.md, "The power
// tree", and docs/rolling_stats.md).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/power_tree.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps {
namespace {

enum class Stat { Count, Sum, Mean, Var, Std, Min, Max, First, Last };

const std::vector<std::string>& stat_names() {
  static const std::vector<std::string> names = {"count", "sum", "mean",  "var", "std",
                                                 "min",   "max", "first", "last"};
  return names;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

struct Window {
  bool by_time = false;
  uint64_t ticks = 0;    // tick windows
  int64_t duration = 0;  // time windows, ns
  std::string suffix;    // as spelled in the query: "100", "5m"
};

struct InputField {
  size_t column = 0;
  Type type = Type::Double;
};

struct Options {
  std::vector<InputField> fields;
  std::vector<Window> windows;  // tick windows first, then time windows, each in declared order
  std::vector<Stat> stats;
  std::vector<size_t> key_columns;
  uint32_t base = 10;
  uint64_t max_tick_window = 0;
};

// Group keys as bytes so that any mix of field types can key one hash map (the same
// encoding as head/tail: equal values encode equally, NaN is one group, -0.0 == 0.0).
class GroupKeys {
 public:
  explicit GroupKeys(std::vector<size_t> columns) : columns_(std::move(columns)) {}

  // Dense id (0, 1, ... in order of first appearance) of the group of `row`.
  uint32_t id(const Batch& batch, size_t row) {
    if (columns_.empty()) return 0;
    scratch_.clear();
    for (size_t c : columns_) {
      const Column& column = batch.columns[c];
      switch (column.type()) {
        case Type::Double: {
          double value = column.doubles()[row];
          if (std::isnan(value)) value = std::numeric_limits<double>::quiet_NaN();
          if (value == 0.0) value = 0.0;
          append_bytes(value);
          break;
        }
        case Type::Bool:
          scratch_.push_back(static_cast<char>(column.bools()[row]));
          break;
        case Type::String: {
          const std::string& value = column.strings()[row];
          append_bytes(static_cast<uint64_t>(value.size()));
          scratch_.append(value);
          break;
        }
        default:
          append_bytes(column.ints()[row]);
      }
    }
    auto it = ids_.find(scratch_);
    if (it == ids_.end()) it = ids_.emplace(scratch_, static_cast<uint32_t>(ids_.size())).first;
    return it->second;
  }

 private:
  template <typename T>
  void append_bytes(const T& value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    scratch_.append(bytes, sizeof(T));
  }

  std::vector<size_t> columns_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::string scratch_;
};

// Where one output column's values go while a batch is filled.
struct OutputSlot {
  Stat stat;
  double* doubles = nullptr;
  int64_t* ints = nullptr;
};

class RollingStatsOperator : public Operator {
 public:
  RollingStatsOperator(std::shared_ptr<const Options> options, SchemaPtr output_schema)
      : options_(std::move(options)),
        output_schema_(std::move(output_schema)),
        keys_(options_->key_columns),
        starts_(options_->windows.size()),
        aggregates_(options_->windows.size()) {}

  void process(size_t, Batch&& batch, OutputSink& out) override {
    const size_t rows = batch.size();
    if (rows == 0) return;
    Batch result;
    result.schema = output_schema_;
    result.times = std::move(batch.times);
    result.columns.reserve(output_schema_->size());
    for (auto& column : batch.columns) result.columns.push_back(std::move(column));
    const size_t first_output = result.columns.size();
    slots_.clear();
    for (size_t c = first_output; c < output_schema_->size(); ++c) {
      const Field& field = (*output_schema_)[c];
      result.columns.emplace_back(field.type);
      Column& column = result.columns.back();
      column.resize(rows);
      OutputSlot slot{options_->stats[(c - first_output) % options_->stats.size()]};
      if (field.type == Type::Int) {
        slot.ints = column.ints().data();
      } else {
        slot.doubles = column.doubles().data();
      }
      slots_.push_back(slot);
    }

    for (size_t row = 0; row < rows; ++row) {
      const uint32_t id = keys_.id(result, row);
      if (id >= groups_.size()) groups_.resize(id + 1);
      if (!groups_[id]) groups_[id] = std::make_unique<GroupState>(make_group());
      GroupState& group = *groups_[id];
      if (!group.touched) {
        group.touched = true;
        touched_.push_back(id);
      }
      process_row(group, result, row, result.times[row]);
    }
    update_held();
    out.emit(0, std::move(result));
  }

  Held held() const override { return {held_ticks_, held_bytes_}; }

 private:
  struct FieldState {
    PowerTree tree;
    std::vector<SlidingWindow> windows;
  };

  struct GroupState {
    std::vector<FieldState> fields;
    uint64_t size = 0;  // ticks of this group so far
    // Times of the ticks from position times_begin on, as long as a time window needs them.
    std::deque<int64_t> times;
    uint64_t times_begin = 0;
    std::vector<uint64_t> time_starts;  // per window (tick windows unused)
    int64_t held_ticks = 0;
    int64_t held_bytes = 0;
    bool touched = false;
  };

  GroupState make_group() const {
    GroupState group;
    // Time windows start with room for 1024 ticks and grow with what their duration holds.
    const uint64_t capacity =
        std::max<uint64_t>(options_->max_tick_window, has_time_windows() ? 1024 : 1);
    for (size_t f = 0; f < options_->fields.size(); ++f) {
      FieldState field{PowerTree(capacity, options_->base), {}};
      for (const Window& window : options_->windows) {
        field.windows.emplace_back(sliding_chunk_for(window.by_time ? 1024 : window.ticks));
      }
      group.fields.push_back(std::move(field));
    }
    group.time_starts.assign(options_->windows.size(), 0);
    return group;
  }

  bool has_time_windows() const {
    return !options_->windows.empty() && options_->windows.back().by_time;
  }

  // Moves each time window's start past the ticks at or before t - d and makes sure the
  // trees retain every tick still inside a window.
  void advance_time_windows(GroupState& group, int64_t time) {
    group.times.push_back(time);
    const uint64_t position = group.size;  // of the tick being added
    uint64_t oldest_needed = position;
    for (size_t w = 0; w < options_->windows.size(); ++w) {
      const Window& window = options_->windows[w];
      if (!window.by_time) continue;
      uint64_t& start = group.time_starts[w];
      const int64_t cutoff = time - window.duration;
      while (start < position && group.times[start - group.times_begin] <= cutoff) ++start;
      oldest_needed = std::min(oldest_needed, start);
    }
    while (group.times_begin < oldest_needed) {
      group.times.pop_front();
      ++group.times_begin;
    }
    const uint64_t span = position + 1 - oldest_needed;
    for (FieldState& field : group.fields) {
      if (span > field.tree.capacity()) field.tree.grow(std::max(span, 2 * field.tree.capacity()));
    }
  }

  void process_row(GroupState& group, const Batch& batch, size_t row, int64_t time) {
    if (has_time_windows()) advance_time_windows(group, time);
    const uint64_t end = group.size + 1;
    size_t slot = 0;
    const size_t stat_count = options_->stats.size();
    for (size_t f = 0; f < options_->fields.size(); ++f) {
      const InputField& input = options_->fields[f];
      const Column& column = batch.columns[input.column];
      const double value = input.type == Type::Double ? column.doubles()[row]
                                                      : static_cast<double>(column.ints()[row]);
      FieldState& field = group.fields[f];
      field.tree.append(value);
      // All windows first, then all outputs: the windows' dependency chains are independent,
      // and keeping them next to each other lets the CPU overlap them.
      const size_t window_count = options_->windows.size();
      for (size_t w = 0; w < window_count; ++w) {
        const Window& window = options_->windows[w];
        starts_[w] = window.by_time       ? group.time_starts[w]
                     : end > window.ticks ? end - window.ticks
                                          : 0;
        aggregates_[w] = field.windows[w].advance(field.tree, starts_[w], value);
      }
      for (size_t w = 0; w < window_count; ++w) {
        write_stats(field.tree, aggregates_[w], starts_[w], end, value, row, slot);
        slot += stat_count;
      }
    }
    group.size = end;
  }

  void write_stats(const PowerTree& tree, const BlockAggregate& aggregate, uint64_t start,
                   uint64_t end, double newest, size_t row, size_t first_slot) {
    const uint64_t count = end - start;
    const double n = static_cast<double>(count);
    const double reference = tree.reference();
    for (size_t s = 0; s < options_->stats.size(); ++s) {
      OutputSlot& slot = slots_[first_slot + s];
      double value = 0.0;
      switch (slot.stat) {
        case Stat::Count:
          slot.ints[row] = static_cast<int64_t>(count);
          continue;
        case Stat::Sum:
          value = reference * n + aggregate.mean * n;
          break;
        case Stat::Mean:
          value = reference + aggregate.mean;
          break;
        case Stat::Var:
          value = count >= 2 ? aggregate.m2 / (n - 1.0) : std::numeric_limits<double>::quiet_NaN();
          break;
        case Stat::Std:
          value = count >= 2 ? std::sqrt(aggregate.m2 / (n - 1.0))
                             : std::numeric_limits<double>::quiet_NaN();
          break;
        case Stat::Min:
          value = aggregate.min;
          break;
        case Stat::Max:
          value = aggregate.max;
          break;
        case Stat::First:
          value = tree.value(start);
          break;
        case Stat::Last:
          value = newest;
          break;
      }
      slot.doubles[row] = value;
    }
  }

  // Held ticks and bytes change only for the groups a batch touched.
  void update_held() {
    for (uint32_t id : touched_) {
      GroupState& group = *groups_[id];
      group.touched = false;
      int64_t ticks = 0;
      int64_t bytes = static_cast<int64_t>(group.times.size() * sizeof(int64_t));
      for (const FieldState& field : group.fields) {
        ticks = std::max<int64_t>(ticks, field.tree.size() - field.tree.oldest());
        bytes += field.tree.memory_bytes();
        for (const SlidingWindow& window : field.windows) bytes += window.memory_bytes();
      }
      held_ticks_ += ticks - group.held_ticks;
      held_bytes_ += bytes - group.held_bytes;
      group.held_ticks = ticks;
      group.held_bytes = bytes;
    }
    touched_.clear();
  }

  std::shared_ptr<const Options> options_;
  SchemaPtr output_schema_;
  GroupKeys keys_;
  std::vector<std::unique_ptr<GroupState>> groups_;
  std::vector<uint32_t> touched_;
  std::vector<OutputSlot> slots_;
  std::vector<uint64_t> starts_;            // per window, for the current tick
  std::vector<BlockAggregate> aggregates_;  // per window, for the current tick
  int64_t held_ticks_ = 0;
  int64_t held_bytes_ = 0;
};

// ---------------------------------------------------------------- binding

std::vector<const ConfigNode*> list_items(const ConfigNode* list) {
  std::vector<const ConfigNode*> items;
  if (!list) return items;
  if (list->is_sequence()) {
    for (const auto& item : list->items()) items.push_back(&item);
  } else {
    items.push_back(list);
  }
  return items;
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
      ctx.error(item->location(), "unknown stat '" + name + "'" + did_you_mean(name, names) +
                                      "; stats are count sum mean var std min max first last");
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

bool read_group_by(BindContext& ctx, Options& options) {
  bool ok = true;
  std::set<std::string> seen;
  for (const ConfigNode* item : list_items(ctx.param("group_by"))) {
    if (!seen.insert(item->text()).second) {
      ctx.error(item->location(), "field " + item->text() + " is listed twice in group_by");
      ok = false;
    } else if (item->text() == "TIMESTAMP") {
      ctx.error(item->location(), "group_by cannot use TIMESTAMP");
      ok = false;
    } else if (auto index = ctx.require_field(0, item->text(), item->location())) {
      options.key_columns.push_back(*index);
    } else {
      ok = false;
    }
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

OperatorFactory bind_rolling_stats(BindContext& ctx) {
  auto options = std::make_shared<Options>();
  std::vector<std::string> field_names;
  bool ok = read_fields(ctx, *options, field_names);
  ok = read_windows(ctx, *options) && ok;
  ok = read_stats(ctx, *options) && ok;
  ok = read_group_by(ctx, *options) && ok;
  const int64_t base = ctx.get_int("base");
  if (base < 2 || base > 65536) {
    ctx.error(ctx.location("base"),
              "base must be between 2 and 65536, got " + std::to_string(base));
    ok = false;
  }
  if (!ok) return {};
  options->base = static_cast<uint32_t>(base);

  const Schema& input = *ctx.input(0).schema;
  std::vector<Field> fields = input.fields();
  std::set<std::string> names = {"TIMESTAMP"};
  for (const Field& field : fields) names.insert(field.name);
  for (const std::string& field : field_names) {
    for (const Window& window : options->windows) {
      for (Stat stat : options->stats) {
        std::string name =
            field + "_" + upper(stat_names()[static_cast<size_t>(stat)]) + "_" + window.suffix;
        if (!names.insert(name).second) {
          ctx.error(ctx.location("stats"), "output column " + name +
                                               " clashes with an input field; rename or drop "
                                               "that field first");
          ok = false;
        }
        fields.push_back({std::move(name), stat == Stat::Count ? Type::Int : Type::Double});
      }
    }
  }
  if (!ok) return {};
  SchemaPtr schema = make_schema(std::move(fields));
  ctx.set_output(0, schema, ctx.input(0).time_ordered);
  ctx.set_accumulation(Accumulation::bounded(accumulation_bound(*options)));
  std::shared_ptr<const Options> shared = options;
  return [shared, schema](const RunContext&) {
    return std::make_unique<RollingStatsOperator>(shared, schema);
  };
}

}  // namespace

void register_rolling_stats(Registry& registry) {
  EpDefinition def;
  def.name = "rolling_stats";
  def.doc =
      "Statistics of the last W ticks (windows) or of the ticks with TIMESTAMP in (t - d, t] "
      "(time_windows) of numeric fields, for several windows at once, on every tick. Every "
      "input tick is emitted with its fields plus one column <FIELD>_<STAT>_<W> per field, "
      "window (tick windows, then time windows, each in declared order) and stat (in "
      "declared order), e.g. PRICE_MEAN_100 or PRICE_MAX_5m. A window holds the current tick "
      "and the ticks before it (fewer at the start); var and std are sample statistics (NaN "
      "below 2 ticks); count is int, the others double. Backed by a power tree (aggregates of "
      "aligned blocks of base^k ticks merged with the Chan et al. formula, never by "
      "subtraction): min/max/first/last/count are exact and sum/mean/var/std within 1e-9 "
      "relative of exact; a NaN makes sum/mean/var/std/min/max NaN while it is in a window. "
      "With group_by each group has its own windows and ticks keep input order. See "
      "docs/rolling_stats.md.";
  def.inputs = {"in"};
  def.outputs = {"out"};
  def.params = {
      {"field", ParamType::Field, false, "", "the int or double field (or use fields)"},
      {"fields", ParamType::FieldList, false, "", "several int or double fields"},
      {"windows", ParamType::Any, false, "", "tick counts, e.g. [10, 100, 1000]"},
      {"time_windows", ParamType::Any, false, "",
       "durations, e.g. [1s, 5m]; d holds the ticks with TIMESTAMP in (t - d, t]; needs a "
       "time-ordered input"},
      {"stats", ParamType::FieldList, false, "[min, max, last, mean, var]",
       "from count sum mean var std min max first last"},
      {"group_by", ParamType::FieldList, false, "",
       "fields whose values form groups; one set of windows per group"},
      {"base", ParamType::Int, false, "10", "power tree block growth factor (2..65536)"},
  };
  def.accumulation = "bounded(max window)";
  def.bind = bind_rolling_stats;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
