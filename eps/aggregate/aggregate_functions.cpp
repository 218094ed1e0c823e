// Implementations of the aggregation functions (contract in aggregate_functions.hpp).
#include "aggregate/aggregate_functions.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <type_traits>
#include <utility>

#include "tickflow/power_tree.hpp"

namespace tickflow::eps::agg {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------- count, sum of int

class CountState final : public AggState {
 public:
  void resize(size_t groups) override { counts_.resize(groups, 0); }
  void add(const Batch&, size_t begin, size_t end, const uint32_t* groups) override {
    for_group_runs(groups, begin, end, [&](uint32_t g, size_t b, size_t e) {
      counts_[g] += static_cast<int64_t>(e - b);
    });
  }
  void write(uint32_t group, Column& out) override { out.ints().push_back(counts_[group]); }
  void reset(uint32_t group) override { counts_[group] = 0; }
  void remove_oldest(uint32_t group) override { --counts_[group]; }

 private:
  std::vector<int64_t> counts_;
};

class SumIntState final : public AggState {
 public:
  SumIntState(size_t column, bool sliding) : column_(column), sliding_(sliding) {}
  void resize(size_t groups) override {
    sums_.resize(groups, 0);
    if (sliding_) windows_.resize(groups);
  }
  void add(const Batch& batch, size_t begin, size_t end, const uint32_t* groups) override {
    const int64_t* values = batch.columns[column_].ints().data();
    for_group_runs(groups, begin, end, [&](uint32_t g, size_t b, size_t e) {
      // Unsigned: an overflowing sum wraps like two's complement instead of being undefined.
      uint64_t sum = sums_[g];
      for (size_t r = b; r < e; ++r) sum += static_cast<uint64_t>(values[r]);
      sums_[g] = sum;
      if (sliding_) windows_[g].insert(windows_[g].end(), values + b, values + e);
    });
  }
  void write(uint32_t group, Column& out) override {
    out.ints().push_back(static_cast<int64_t>(sums_[group]));
  }
  void reset(uint32_t group) override {
    sums_[group] = 0;
    if (sliding_) windows_[group].clear();
  }
  void remove_oldest(uint32_t group) override {
    sums_[group] -= static_cast<uint64_t>(windows_[group].front());
    windows_[group].pop_front();
  }

 private:
  size_t column_;
  bool sliding_;
  std::vector<uint64_t> sums_;
  std::vector<std::deque<int64_t>> windows_;
};

// ---------------------------------------------------------------- sum/mean/var/std of doubles

class MomentsState final : public AggState {
 public:
  MomentsState(Fn fn, size_t column) : fn_(fn), column_(column) {}
  void resize(size_t groups) override { moments_.resize(groups); }
  void add(const Batch& batch, size_t begin, size_t end, const uint32_t* groups) override {
    const bool variance =
        fn_ == Fn::Var || fn_ == Fn::Std || fn_ == Fn::VarPop || fn_ == Fn::StdPop;
    for_group_runs(groups, begin, end, [&](uint32_t g, size_t b, size_t e) {
      Moments m = moments_[g];
      for_numeric(batch.columns[column_], b, e, [&](size_t, double x) {
        ++m.count;
        m.sum.add(x);
        if (variance) {
          const double delta = x - m.mean;
          m.mean += delta / static_cast<double>(m.count);
          m.m2 += delta * (x - m.mean);
        }
      });
      moments_[g] = m;
    });
  }
  void write(uint32_t group, Column& out) override {
    const Moments& m = moments_[group];
    const double n = static_cast<double>(m.count);
    double result = kNaN;
    switch (fn_) {
      case Fn::Sum:
        result = m.count == 0 ? 0.0 : m.sum.value();
        break;
      case Fn::Mean:
        if (m.count > 0) result = m.sum.divided_by(n);
        break;
      case Fn::Var:
        if (m.count > 1) result = m.m2 / (n - 1.0);
        break;
      case Fn::VarPop:
        if (m.count > 0) result = m.m2 / n;
        break;
      case Fn::StdPop:
        if (m.count > 0) result = std::sqrt(m.m2 / n);
        break;
      default:
        if (m.count > 1) result = std::sqrt(m.m2 / (n - 1.0));
    }
    out.doubles().push_back(result);
  }
  void reset(uint32_t group) override { moments_[group] = Moments{}; }

 private:
  struct Moments {
    int64_t count = 0;
    CompensatedSum sum;
    double mean = 0.0;  // Welford
    double m2 = 0.0;
  };
  Fn fn_;
  size_t column_;
  std::vector<Moments> moments_;
};

// Sliding windows read a PowerTree per group: a value that leaves the window is never
// subtracted, so a spike leaves no residue behind.
class SlidingTree {
 public:
  explicit SlidingTree(uint64_t window_ticks) : tree_(window_ticks > 0 ? window_ticks : 64) {}
  void append(double value) {
    const uint64_t needed = tree_.size() + 1 - start_;
    if (needed > tree_.capacity()) tree_.grow(std::max(needed, 2 * tree_.capacity()));
    tree_.append(value);
  }
  void remove_oldest() { ++start_; }
  WindowStats stats() const { return tree_.range(start_, tree_.size()); }

 private:
  PowerTree tree_;
  uint64_t start_ = 0;
};

class SlidingMomentsState final : public AggState {
 public:
  SlidingMomentsState(Fn fn, std::vector<size_t> columns, uint64_t window_ticks)
      : fn_(fn), columns_(std::move(columns)), window_ticks_(window_ticks) {}
  void resize(size_t groups) override {
    while (trees_.size() < groups * columns_.size()) trees_.emplace_back(window_ticks_);
  }
  void add(const Batch& batch, size_t begin, size_t end, const uint32_t* groups) override {
    if (fn_ == Fn::Vwap) {
      const Column& price = batch.columns[columns_[0]];
      const Column& size = batch.columns[columns_[1]];
      std::vector<double> sizes;
      for_numeric(size, begin, end, [&](size_t, double s) { sizes.push_back(s); });
      for_numeric(price, begin, end, [&](size_t r, double p) {
        const double s = sizes[r - begin];
        trees_[2 * groups[r]].append(p * s);
        trees_[2 * groups[r] + 1].append(s);
      });
      return;
    }
    for_numeric(batch.columns[columns_[0]], begin, end,
                [&](size_t r, double x) { trees_[groups[r]].append(x); });
  }
  void write(uint32_t group, Column& out) override {
    double result = kNaN;
    if (fn_ == Fn::Vwap) {
      const WindowStats value = trees_[2 * group].stats();
      if (value.count > 0) result = value.sum / trees_[2 * group + 1].stats().sum;
      out.doubles().push_back(result);
      return;
    }
    const WindowStats stats = trees_[group].stats();
    switch (fn_) {
      case Fn::Sum:
        result = stats.count == 0 ? 0.0 : stats.sum;
        break;
      case Fn::Mean:
        if (stats.count > 0) result = stats.mean;
        break;
      case Fn::Var:
        result = stats.variance();
        break;
      case Fn::VarPop:
        result = stats.population_variance();
        break;
      case Fn::StdPop:
        result = std::sqrt(stats.population_variance());
        break;
      default:
        result = stats.stddev();
    }
    out.doubles().push_back(result);
  }
  void reset(uint32_t group) override {
    for (size_t c = 0; c < columns_.size(); ++c) {
      trees_[group * columns_.size() + c] = SlidingTree(window_ticks_);
    }
  }
  void remove_oldest(uint32_t group) override {
    for (size_t c = 0; c < columns_.size(); ++c)
      trees_[group * columns_.size() + c].remove_oldest();
  }

 private:
  Fn fn_;
  std::vector<size_t> columns_;
  uint64_t window_ticks_;
  std::vector<SlidingTree> trees_;  // columns_.size() per group
};

// ---------------------------------------------------------------- vwap

class VwapState final : public AggState {
 public:
  VwapState(size_t price, size_t size) : price_(price), size_(size) {}
  void resize(size_t groups) override { sums_.resize(groups); }
  void add(const Batch& batch, size_t begin, size_t end, const uint32_t* groups) override {
    const Column& size = batch.columns[size_];
    const bool int_size = size.type() != Type::Double;
    for_group_runs(groups, begin, end, [&](uint32_t g, size_t b, size_t e) {
      Sums sums = sums_[g];
      for_numeric(batch.columns[price_], b, e, [&](size_t r, double p) {
        const double s = int_size ? static_cast<double>(size.ints()[r]) : size.doubles()[r];
        ++sums.count;
        sums.value.add_product(p, s);
        sums.volume.add(s);
      });
      sums_[g] = sums;
    });
  }
  void write(uint32_t group, Column& out) override {
    const Sums& sums = sums_[group];
    out.doubles().push_back(sums.count == 0 ? kNaN : sums.value.divided_by(sums.volume.value()));
  }
  void reset(uint32_t group) override { sums_[group] = Sums{}; }

 private:
  struct Sums {
    int64_t count = 0;
    CompensatedSum value;
    CompensatedSum volume;
  };
  size_t price_, size_;
  std::vector<Sums> sums_;
};

// ---------------------------------------------------------------- min, max

// NaN wins over any number, so that a NaN in a window makes min and max NaN.
template <typename T, bool IsMax, class A, class B>
bool better(const A& a, const B& b) {
  if constexpr (std::is_same_v<T, double>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return IsMax ? b < a : a < b;
}

// The index of the best of values[b, e) (b < e), as a row-by-row fold picks it: the first of
// equal values. For doubles, four running maxima (or minima) hide the compare's latency; the
// first value equal to theirs is the answer (both zeros compare equal, so it is the first
// zero of either sign, as row by row). A run holding a NaN (which wins, but compares false)
// or an infinity (caught by the same check) goes row by row.
template <typename T, bool IsMax>
size_t best_index(const ColumnValues<T>& values, size_t b, size_t e) {
  if constexpr (std::is_same_v<T, double>) {
    const size_t n = e - b;
    if (n >= 8) {
      const double* v = values.data() + b;
      double m[4] = {v[0], v[1], v[2], v[3]};
      double poison[4] = {0.0, 0.0, 0.0, 0.0};
      size_t i = 0;
      for (; i + 4 <= n; i += 4) {
        for (int k = 0; k < 4; ++k) {
          const double x = v[i + k];
          m[k] = (IsMax ? x > m[k] : x < m[k]) ? x : m[k];
          poison[k] += x * 0.0;  // NaN for a NaN or an infinity
        }
      }
      double best = m[0];
      for (int k = 1; k < 4; ++k) best = (IsMax ? m[k] > best : m[k] < best) ? m[k] : best;
      for (; i < n; ++i) {
        best = (IsMax ? v[i] > best : v[i] < best) ? v[i] : best;
        poison[0] += v[i] * 0.0;
      }
      if (poison[0] + poison[1] + poison[2] + poison[3] == 0.0) {
        size_t at = 0;
        while (v[at] != best) ++at;
        return b + at;
      }
    }
  }
  size_t best = b;
  for (size_t r = b + 1; r < e; ++r) {
    if (better<T, IsMax>(values[r], values[best])) best = r;
  }
  return best;
}

template <typename T, bool IsMax>
class ExtremeState final : public AggState {
 public:
  ExtremeState(size_t column, bool sliding) : column_(column), sliding_(sliding) {}
  void resize(size_t groups) override {
    best_.resize(groups, Column::default_of<T>());
    has_.resize(groups, 0);
    if (sliding_) windows_.resize(groups);
  }
  void add(const Batch& batch, size_t begin, size_t end, const uint32_t* groups) override {
    const ColumnValues<T>& values = batch.columns[column_].values<T>();
    if (sliding_) {
      for (size_t r = begin; r < end; ++r) {
        // A monotonic deque: an older value no better than the new one can never be the
        // answer again, since it leaves the window first.
        Window& window = windows_[groups[r]];
        while (!window.values.empty() && !better<T, IsMax>(window.values.back().second, values[r]))
          window.values.pop_back();
        window.values.emplace_back(window.added++, values[r]);
      }
      return;
    }
    for_group_runs(groups, begin, end, [&](uint32_t g, size_t b, size_t e) {
      // The run's best by index, so that a string is copied once per run.
      const size_t best = best_index<T, IsMax>(values, b, e);
      if (!has_[g] || better<T, IsMax>(values[best], best_[g])) {
        best_[g] = values[best];
        has_[g] = 1;
      }
    });
  }
  void write(uint32_t group, Column& out) override {
    if (sliding_) {
      const auto& values = windows_[group].values;
      out.values<T>().push_back(values.empty() ? Column::default_of<T>() : values.front().second);
    } else {
      out.values<T>().push_back(has_[group] ? best_[group] : Column::default_of<T>());
    }
  }
  void reset(uint32_t group) override {
    best_[group] = Column::default_of<T>();
    has_[group] = 0;
    if (sliding_) windows_[group] = Window{};
  }
  void remove_oldest(uint32_t group) override {
    Window& window = windows_[group];
    const uint64_t position = window.removed++;
    if (!window.values.empty() && window.values.front().first == position)
      window.values.pop_front();
  }

 private:
  struct Window {
    std::deque<std::pair<uint64_t, T>> values;  // (position, value), best at the front
    uint64_t added = 0;
    uint64_t removed = 0;
  };
  size_t column_;
  bool sliding_;
  std::vector<T> best_;
  std::vector<uint8_t> has_;
  std::vector<Window> windows_;
};

template <typename T>
using MinState = ExtremeState<T, false>;
template <typename T>
using MaxState = ExtremeState<T, true>;

// ---------------------------------------------------------------- first, last, first_time,
// last_time

template <typename T>
class EdgeState final : public AggState {
 public:
  // column == npos reads TIMESTAMP (first_time, last_time).
  EdgeState(size_t column, bool last, bool sliding)
      : column_(column), last_(last), sliding_(sliding) {}
  void resize(size_t groups) override {
    values_.resize(groups, Column::default_of<T>());
    counts_.resize(groups, 0);
    if (sliding_) windows_.resize(groups);
  }
  void add(const Batch& batch, size_t begin, size_t end, const uint32_t* groups) override {
    if constexpr (std::is_same_v<T, int64_t>) {
      if (column_ == kTimestamp) return add_values(batch.times, begin, end, groups);
    }
    add_values(batch.columns[column_].values<T>(), begin, end, groups);
  }
  void write(uint32_t group, Column& out) override {
    if (sliding_) {
      const std::deque<T>& window = windows_[group];
      out.values<T>().push_back(window.empty() ? Column::default_of<T>()
                                : last_        ? window.back()
                                               : window.front());
    } else {
      out.values<T>().push_back(values_[group]);
    }
  }
  void reset(uint32_t group) override {
    values_[group] = Column::default_of<T>();
    counts_[group] = 0;
    if (sliding_) windows_[group].clear();
  }
  void remove_oldest(uint32_t group) override { windows_[group].pop_front(); }

  static constexpr size_t kTimestamp = static_cast<size_t>(-1);

 private:
  void add_values(const ColumnValues<T>& values, size_t begin, size_t end, const uint32_t* groups) {
    for_group_runs(groups, begin, end, [&](uint32_t g, size_t b, size_t e) {
      if (sliding_) {
        windows_[g].insert(windows_[g].end(), values.begin() + static_cast<ptrdiff_t>(b),
                           values.begin() + static_cast<ptrdiff_t>(e));
      } else if (last_) {
        values_[g] = values[e - 1];
      } else if (counts_[g] == 0) {
        values_[g] = values[b];
      }
      counts_[g] += static_cast<int64_t>(e - b);
    });
  }

  size_t column_;
  bool last_;
  bool sliding_;
  std::vector<T> values_;
  std::vector<int64_t> counts_;
  std::vector<std::deque<T>> windows_;
};

template <template <typename> class State, typename... Args>
std::unique_ptr<AggState> for_type(Type type, Args... args) {
  switch (type) {
    case Type::Double:
      return std::make_unique<State<double>>(args...);
    case Type::Bool:
      return std::make_unique<State<uint8_t>>(args...);
    case Type::String:
      return std::make_unique<State<std::string>>(args...);
    default:
      return std::make_unique<State<int64_t>>(args...);
  }
}

}  // namespace

bool holds_values(Fn fn) {
  return fn == Fn::Median || fn == Fn::Percentile || fn == Fn::DistinctCount;
}

int64_t bytes_per_held_value(const AggSpec& spec) {
  if (spec.fn == Fn::DistinctCount) return 64;  // hash node and key
  return holds_values(spec.fn) ? 8 : 0;
}

std::unique_ptr<AggState> make_agg_state(const AggSpec& spec, Feed feed, uint64_t window_ticks) {
  const bool sliding = feed == Feed::Sliding;
  const size_t column = spec.columns.empty() ? 0 : spec.columns[0];
  const Type type = spec.types.empty() ? Type::Int : spec.types[0];
  switch (spec.fn) {
    case Fn::Count:
      return std::make_unique<CountState>();
    case Fn::Sum:
      if (type == Type::Int) return std::make_unique<SumIntState>(column, sliding);
      [[fallthrough]];
    case Fn::Mean:
    case Fn::Var:
    case Fn::Std:
    case Fn::VarPop:
    case Fn::StdPop:
      if (sliding)
        return std::make_unique<SlidingMomentsState>(spec.fn, spec.columns, window_ticks);
      return std::make_unique<MomentsState>(spec.fn, column);
    case Fn::Vwap:
      if (sliding)
        return std::make_unique<SlidingMomentsState>(spec.fn, spec.columns, window_ticks);
      return std::make_unique<VwapState>(spec.columns[0], spec.columns[1]);
    case Fn::Twap:
      return make_twap_state(column);
    case Fn::Min:
      return for_type<MinState>(type, column, sliding);
    case Fn::Max:
      return for_type<MaxState>(type, column, sliding);
    case Fn::First:
    case Fn::Last:
      return for_type<EdgeState>(type, column, spec.fn == Fn::Last, sliding);
    case Fn::FirstTime:
    case Fn::LastTime:
      return std::make_unique<EdgeState<int64_t>>(EdgeState<int64_t>::kTimestamp,
                                                  spec.fn == Fn::LastTime, sliding);
    case Fn::Median:
    case Fn::Percentile:
      return make_percentile_state(column, spec.p, feed);
    case Fn::DistinctCount:
      return make_distinct_state(column, sliding);
  }
  return nullptr;
}

}  // namespace tickflow::eps::agg
