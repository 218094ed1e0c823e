// `rolling_stats`: statistics of the last W ticks (or the ticks of the last duration d) of
// numeric fields, for several windows at once, emitted on every tick. Each (group, field)
// owns a PowerTree holding the values of its longest window; each window reads it through
// a SlidingWindow, so a tick costs one merge per window (see docs/design.md, "The power
// tree", and docs/rolling_stats.md).
#include <algorithm>
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
#include "rolling/rolling_stats.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/group_keys.hpp"
#include "tickflow/power_tree.hpp"
#include "tickflow/rows.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps {
namespace {

// The population variance (divides by n) of a window of n ticks from its sample variance
// (n - 1). When the sample variance is exact the result is correctly rounded.
double population_variance(double sample_variance, uint64_t n) {
  if (n == 1) return 0.0;
  return sample_variance * static_cast<double>(n - 1) / static_cast<double>(n);
}

using namespace rolling;

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// Ticks of one group are served in runs of at most this many: each window then loops over
// a run with its state in registers, and the scratch arrays of a run stay in cache.
constexpr size_t kRun = 1024;

class RollingStatsOperator : public Operator {
 public:
  RollingStatsOperator(std::shared_ptr<const Options> options, SchemaPtr output_schema)
      : options_(std::move(options)),
        output_schema_(std::move(output_schema)),
        keys_(options_->key_columns) {
    for (const Window& window : options_->windows) tick_windows_ += window.by_time ? 0 : 1;
    for (auto* buffer : {&values_, &mean_, &var_, &min_, &max_}) buffer->resize(kRun);
    time_starts_.resize(options_->windows.size() - tick_windows_, std::vector<uint64_t>(kRun));
  }

  void process(size_t, Batch&& batch, OutputSink& out) override {
    const size_t rows = batch.size();
    if (rows == 0) return;
    Batch result;
    result.schema = output_schema_;
    result.times = std::move(batch.times);
    result.columns.reserve(output_schema_->size());
    for (auto& column : batch.columns) result.columns.push_back(std::move(column));
    const size_t first_output = result.columns.size();
    outputs_.clear();
    // Without groups the columns grow run by run, each run's rows zeroed just before they
    // are written, while in cache (zeroing whole columns first doubled the memory traffic);
    // with groups a run's rows are scattered, so the columns are sized at once.
    const bool grouped = !options_->key_columns.empty();
    for (size_t c = first_output; c < output_schema_->size(); ++c) {
      const Field& field = (*output_schema_)[c];
      result.columns.emplace_back(field.type);
      Column& column = result.columns.back();
      column.reserve(rows);
      if (grouped) column.resize(rows);
      outputs_.push_back(field.type == Type::Int ? static_cast<void*>(column.ints().data())
                                                 : static_cast<void*>(column.doubles().data()));
    }

    if (!grouped) {
      // One group: its rows are the batch, served in place.
      GroupState& group = group_at(0);
      touched_.push_back(0);
      for (size_t row = 0; row < rows; row += kRun) {
        const size_t n = std::min(kRun, rows - row);
        for (size_t c = first_output; c < result.columns.size(); ++c) {
          result.columns[c].resize(row + n);  // within the reserved capacity: no move
        }
        serve(group, result, nullptr, row, n);
      }
    } else {
      // Rows by group, in input order within each group; each group is then served in runs.
      for (size_t row = 0; row < rows; ++row) {
        const uint32_t id = keys_.id(result, row);
        GroupState& group = group_at(id);
        if (group.rows.empty()) touched_.push_back(id);
        group.rows.push_back(static_cast<uint32_t>(row));
      }
      for (uint32_t id : touched_) {
        GroupState& group = *groups_[id];
        for (size_t i = 0; i < group.rows.size(); i += kRun) {
          serve(group, result, group.rows.data() + i, 0, std::min(kRun, group.rows.size() - i));
        }
      }
    }
    update_held();
    out.emit(0, std::move(result));
  }

  Held held() const override { return {held_ticks_, held_bytes_}; }
  // Standing queries: every tick leaves at once (what is held is window history), so the
  // output has passed what the input has.
  std::optional<int64_t> input_passed(size_t, int64_t time, OutputSink&) override { return time; }

 private:
  struct FieldState {
    PowerTree tree;
    std::vector<TickWindow> ticks;     // per tick window
    std::vector<SlidingWindow> times;  // per time window
  };

  struct GroupState {
    std::vector<FieldState> fields;
    uint64_t size = 0;  // ticks of this group so far
    // Times of the ticks from position times_begin on, as long as a time window needs them.
    std::deque<int64_t> times;
    uint64_t times_begin = 0;
    std::vector<uint64_t> time_starts;  // per time window, of the latest tick
    std::vector<uint32_t> rows;         // of the current batch
    int64_t held_ticks = 0;
    int64_t held_bytes = 0;
  };

  GroupState& group_at(uint32_t id) {
    if (id >= groups_.size()) groups_.resize(id + 1);
    if (!groups_[id]) {
      groups_[id] = std::make_unique<GroupState>(make_group());
    }
    return *groups_[id];
  }

  GroupState make_group() const {
    GroupState group;
    // A run is appended before it is served, so the tree retains a run beyond the longest
    // window. Time windows start with room for 1024 ticks and grow with their duration.
    const uint64_t capacity =
        std::max<uint64_t>(options_->max_tick_window, has_time_windows() ? 1024 : 1) + kRun;
    for (size_t f = 0; f < options_->fields.size(); ++f) {
      FieldState field{PowerTree(capacity, options_->base), {}, {}};
      for (const Window& window : options_->windows) {
        if (window.by_time) {
          field.times.emplace_back(sliding_chunk_for(1024));
        } else {
          field.ticks.emplace_back(window.ticks);
        }
      }
      group.fields.push_back(std::move(field));
    }
    group.time_starts.assign(options_->windows.size() - tick_windows_, 0);
    return group;
  }

  bool has_time_windows() const { return tick_windows_ < options_->windows.size(); }

  // For each of the n ticks from the group's next position on, the start of each time
  // window (the first position with TIMESTAMP > t - d) into time_starts_; makes sure the
  // trees retain every tick still inside a window while the run is served.
  void advance_time_windows(GroupState& group, const Batch& batch, const uint32_t* rows,
                            size_t row0, size_t n) {
    uint64_t oldest_of_run = 0;  // starts only move forward: the run's first tick needs most
    for (size_t i = 0; i < n; ++i) {
      const int64_t time = batch.times[rows ? rows[i] : row0 + i];
      group.times.push_back(time);
      const uint64_t position = group.size + i;
      uint64_t oldest_needed = position;
      for (size_t t = 0; t < group.time_starts.size(); ++t) {
        uint64_t& start = group.time_starts[t];
        const int64_t cutoff = time - options_->windows[tick_windows_ + t].duration;
        while (start < position && group.times[start - group.times_begin] <= cutoff) ++start;
        oldest_needed = std::min(oldest_needed, start);
        time_starts_[t][i] = start;
      }
      if (i == 0) oldest_of_run = oldest_needed;
      while (group.times_begin < oldest_needed) {
        group.times.pop_front();
        ++group.times_begin;
      }
    }
    const uint64_t span = group.size + n - oldest_of_run;
    for (FieldState& field : group.fields) {
      if (span > field.tree.capacity()) field.tree.grow(std::max(span, 2 * field.tree.capacity()));
    }
  }

  // Serves n ticks of one group: rows[i] (or row0 + i when rows is null) of the batch.
  void serve(GroupState& group, Batch& batch, const uint32_t* rows, size_t row0, size_t n) {
    if (has_time_windows()) advance_time_windows(group, batch, rows, row0, n);
    const size_t stat_count = options_->stats.size();
    const size_t window_count = options_->windows.size();
    for (size_t f = 0; f < options_->fields.size(); ++f) {
      const InputField& input = options_->fields[f];
      const Column& column = batch.columns[input.column];
      const double* values = values_.data();
      if (!rows && input.type == Type::Double) {
        values = column.doubles().data() + row0;
      } else {
        for (size_t i = 0; i < n; ++i) {
          const size_t row = rows ? rows[i] : row0 + i;
          values_[i] = input.type == Type::Double ? column.doubles()[row]
                                                  : static_cast<double>(column.ints()[row]);
        }
      }
      FieldState& field = group.fields[f];
      field.tree.append(std::span<const double>(values, n));
      for (size_t w = 0; w < window_count; ++w) {
        const size_t slot = (f * window_count + w) * stat_count;
        // Mean, var, min and max go straight into their columns when the rows are
        // contiguous and the stat is wanted; anything else goes through scratch.
        double* direct[4] = {mean_.data(), var_.data(), min_.data(), max_.data()};
        bool in_place[4] = {false, false, false, false};
        if (!rows) {
          for (size_t s = 0; s < stat_count; ++s) {
            const int k = core_index(options_->stats[s]);
            if (k < 0) continue;
            direct[k] = static_cast<double*>(outputs_[slot + s]) + row0;
            in_place[k] = true;
          }
        }
        if (w < tick_windows_) {
          field.ticks[w].run(field.tree, group.size, n, values, direct[0], direct[1], direct[2],
                             direct[3]);
        } else {
          serve_time_window(field, w - tick_windows_, group.size, n, values, direct);
        }
        for (size_t s = 0; s < stat_count; ++s) {
          write_stat(options_->stats[s], outputs_[slot + s], rows, row0, n, direct, in_place,
                     field.tree, w, group.size, values);
        }
      }
    }
    group.size += n;
  }

  void serve_time_window(FieldState& field, size_t t, uint64_t first, size_t n,
                         const double* values, double* const* out) {
    for (size_t i = 0; i < n; ++i) {
      const uint64_t start = time_starts_[t][i];
      const uint64_t end = first + i + 1;
      const BlockAggregate aggregate = field.times[t].advance(field.tree, start, end, values[i]);
      out[0][i] = aggregate.mean();
      out[1][i] = aggregate.sample_variance();
      out[2][i] = aggregate.min;
      out[3][i] = aggregate.max;
    }
  }

  // Where mean, var, min and max sit in the per-window outputs; -1 for derived stats.
  static int core_index(Stat stat) {
    switch (stat) {
      case Stat::Mean:
        return 0;
      case Stat::Var:
        return 1;
      case Stat::Min:
        return 2;
      case Stat::Max:
        return 3;
      default:
        return -1;
    }
  }

  uint64_t window_start(size_t w, uint64_t first, size_t i) const {
    if (w >= tick_windows_) return time_starts_[w - tick_windows_][i];
    const uint64_t end = first + i + 1;
    const uint64_t ticks = options_->windows[w].ticks;
    return end > ticks ? end - ticks : 0;
  }

  // One output column for n rows: the switch runs once per column and run, not per value.
  void write_stat(Stat stat, void* column, const uint32_t* rows, size_t row0, size_t n,
                  double* const* core, const bool* in_place, const PowerTree& tree, size_t w,
                  uint64_t first, const double* values) const {
    auto fill = [&](auto* out, auto value_at) {
      if (rows) {
        for (size_t i = 0; i < n; ++i) out[rows[i]] = value_at(i);
      } else {
        for (size_t i = 0; i < n; ++i) out[row0 + i] = value_at(i);
      }
    };
    double* doubles = static_cast<double*>(column);
    const int k = core_index(stat);
    if (k >= 0) {
      if (!in_place[k]) fill(doubles, [&](size_t i) { return core[k][i]; });
      return;
    }
    auto count_at = [&](size_t i) { return first + i + 1 - window_start(w, first, i); };
    switch (stat) {
      case Stat::Count:
        fill(static_cast<int64_t*>(column),
             [&](size_t i) { return static_cast<int64_t>(count_at(i)); });
        break;
      case Stat::Sum:
        fill(doubles, [&](size_t i) { return core[0][i] * static_cast<double>(count_at(i)); });
        break;
      case Stat::Std:
        fill(doubles, [&](size_t i) { return std::sqrt(core[1][i]); });
        break;
      case Stat::VarPop:
        fill(doubles, [&](size_t i) { return population_variance(core[1][i], count_at(i)); });
        break;
      case Stat::StdPop:
        fill(doubles,
             [&](size_t i) { return std::sqrt(population_variance(core[1][i], count_at(i))); });
        break;
      case Stat::First:
        fill(doubles, [&](size_t i) { return tree.value(window_start(w, first, i)); });
        break;
      case Stat::Last:
        fill(doubles, [&](size_t i) { return values[i]; });
        break;
      default:
        break;
    }
  }

  // Held ticks and bytes change only for the groups a batch touched.
  void update_held() {
    for (uint32_t id : touched_) {
      GroupState& group = *groups_[id];
      group.rows.clear();
      // The ticks the windows hold; the trees retain up to a run more (their bytes count).
      uint64_t needed = std::min(group.size, options_->max_tick_window);
      for (uint64_t start : group.time_starts) needed = std::max(needed, group.size - start);
      const int64_t ticks = static_cast<int64_t>(needed);
      int64_t bytes = static_cast<int64_t>(group.times.size() * sizeof(int64_t));
      for (const FieldState& field : group.fields) {
        bytes += field.tree.memory_bytes();
        for (const TickWindow& window : field.ticks) bytes += window.memory_bytes();
        for (const SlidingWindow& window : field.times) bytes += window.memory_bytes();
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
  size_t tick_windows_ = 0;  // windows [0, tick_windows_) count ticks, the rest time
  std::vector<std::unique_ptr<GroupState>> groups_;
  std::vector<uint32_t> touched_;
  std::vector<void*> outputs_;  // per output column: its doubles or ints
  // Scratch of one run: gathered values, and mean/var/min/max of one window.
  std::vector<double> values_, mean_, var_, min_, max_;
  std::vector<std::vector<uint64_t>> time_starts_;  // per time window, per tick of the run
  int64_t held_ticks_ = 0;
  int64_t held_bytes_ = 0;
};

// ---------------------------------------------------------------- binding

OperatorFactory bind_rolling_stats(BindContext& ctx) {
  auto options = std::make_shared<Options>();
  std::vector<std::string> field_names;
  bool ok = read_fields(ctx, *options, field_names);
  ok = read_windows(ctx, *options) && ok;
  ok = read_stats(ctx, *options) && ok;
  ok = read_key_fields(ctx, options->key_columns) && ok;
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

// Shown by `tickflow eps rolling_stats` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample rolling_stats_example() {
  return {
      .query = R"~(# Mean and max price over the last 2 trades and the last minute, per symbol.
tickflow: 1
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
      - {TIMESTAMP: "2024-01-02 09:31:10", SYMBOL: AAPL, PRICE: 185.0, SIZE: 500}
      - {TIMESTAMP: "2024-01-02 09:31:30", SYMBOL: MSFT, PRICE: 371.0, SIZE: 100}
  stats:
    ep: rolling_stats
    in: trades
    field: PRICE
    windows: [2]
    time_windows: [1m]
    stats: [mean, max]
    group_by: [SYMBOL]
)~",
      .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE,PRICE_MEAN_2,PRICE_MAX_2,PRICE_MEAN_1m,PRICE_MAX_1m
2024-01-02 09:30:00.000000000,AAPL,185.25,100,185.25,185.25,185.25,185.25
2024-01-02 09:30:20.000000000,MSFT,370.5,300,370.5,370.5,370.5,370.5
2024-01-02 09:30:40.000000000,AAPL,185.5,200,185.375,185.5,185.375,185.5
2024-01-02 09:31:10.000000000,AAPL,185,500,185.25,185.5,185.25,185.5
2024-01-02 09:31:30.000000000,MSFT,371,100,370.75,371,371,371
)~"};
}

}  // namespace

void register_rolling_stats(Registry& registry) {
  EpDefinition def;
  def.name = "rolling_stats";
  def.example = rolling_stats_example();
  def.doc =
      "Statistics of the last W ticks (windows) or of the ticks with TIMESTAMP in (t - d, t] "
      "(time_windows) of numeric fields, for several windows at once, on every tick. Every "
      "input tick is emitted with its fields plus one column <FIELD>_<STAT>_<W> per field, "
      "window (tick windows, then time windows, each in declared order) and stat (in "
      "declared order), e.g. PRICE_MEAN_100 or PRICE_MAX_5m. A window holds the current tick "
      "and the ticks before it (fewer at the start); var and std are sample statistics (NaN "
      "below 2 ticks), var_pop and std_pop population ones (0 for one tick); count is int, the "
      "others double. Backed by a power tree (aggregates of "
      "aligned blocks of base^k ticks merged with the Chan et al. formula, never by "
      "subtraction): min/max/first/last/count are exact and sum/mean/var/std within 1e-9 "
      "relative of exact; a NaN makes sum/mean/var/std/min/max NaN while it is in a window. "
      "With group_by each group has its own windows and ticks keep input order. See "
      "docs/rolling_stats.md.";
  def.inputs = {"in"};
  def.outputs = {"out"};
  def.params = {
      {.name = "field", .type = ParamType::Field, .doc = "the int or double field (or use fields)"},
      {.name = "fields", .type = ParamType::FieldList, .doc = "several int or double fields"},
      {.name = "windows", .type = ParamType::Any, .doc = "tick counts, e.g. [10, 100, 1000]"},
      {.name = "time_windows",
       .type = ParamType::Any,
       .doc = "durations, e.g. [1s, 5m]; d holds the ticks with TIMESTAMP in (t - d, t]; needs a "
              "time-ordered input"},
      {.name = "stats",
       .type = ParamType::FieldList,
       .default_value = "[min, max, last, mean, var]",
       .doc = "from count sum mean var std min max first last"},
      {.name = "group_by",
       .type = ParamType::FieldList,
       .doc = "fields whose values form groups; one set of windows per group"},
      {.name = "base",
       .type = ParamType::Int,
       .default_value = "10",
       .doc = "power tree block growth factor (2..65536)"},
  };
  def.accumulation = "bounded(max window)";
  def.bind = bind_rolling_stats;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
