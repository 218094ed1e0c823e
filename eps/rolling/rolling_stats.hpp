// rolling_stats: the options a query binds (read in rolling_stats_options.cpp) and the
// operator that serves them (rolling_stats.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tickflow/ep.hpp"

namespace tickflow::eps::rolling {

enum class Stat { Count, Sum, Mean, Var, Std, Min, Max, First, Last, VarPop, StdPop };

// Lower-case names, indexed by Stat.
const std::vector<std::string>& stat_names();

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

// Each reads its parameters into `options`, reports every problem to ctx and returns false
// when there was any.
bool read_fields(BindContext& ctx, Options& options, std::vector<std::string>& names);
bool read_windows(BindContext& ctx, Options& options);
bool read_stats(BindContext& ctx, Options& options);

// The accumulation bound as explain shows it: "1000 ticks", "5m or 1000 ticks per group".
std::string accumulation_bound(const Options& options);

}  // namespace tickflow::eps::rolling
