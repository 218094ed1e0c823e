// The aggregation functions of the `aggregate` EP (count, sum, mean, min, max, first, last,
// var, std, vwap, median, percentile, distinct_count, first_time, last_time).
//
// Contract of AggState
// --------------------
// One AggState holds the state of one aggregation for every group of a run, so that a run of
// ticks is added with one call per aggregation (a tight loop inside, no call per tick).
// - resize(n) makes room for groups [0, n); a new group starts empty.
// - add(batch, begin, end, groups) adds ticks [begin, end) of `batch`; tick r belongs to
//   group groups[r].
// - write(g, out) appends group g's current result to `out` (a column of result_type()).
//   A group without ticks writes the empty-bucket value: count and distinct_count 0, sum 0,
//   first/last/min/max/first_time/last_time the type's default (NaN for doubles), and NaN for
//   mean, var, std, vwap, median and percentile.
// - reset(g) forgets group g's ticks (a new bucket). Cheap for a group that has none.
// - remove_oldest(g) (Feed::Sliding only) forgets the oldest tick group g still holds:
//   windows are first in, first out, so removal is always of the oldest.
//
// Accuracy: count, sum of int, min, max, first, last, distinct_count, median and percentile
// are exact (percentile rounds once per interpolation step). Sums of doubles are compensated
// (Neumaier), var/std use Welford's update; sliding windows over doubles read a PowerTree,
// which never subtracts a value that left the window, so nothing drifts however long the
// stream. A NaN value makes sum, mean, var, std, min, max, vwap, median and percentile NaN
// while it is in the bucket or window.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/types.hpp"

namespace tickflow::eps::agg {

// Neumaier's compensated sum: the error does not grow with the number of values, and a
// sum of a few dozen doubles is almost always the correctly rounded one.
struct CompensatedSum {
  double sum = 0.0;
  double compensation = 0.0;
  void add(double x) {
    const double t = sum + x;
    compensation += std::abs(sum) >= std::abs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  // Adds a * b together with its rounding error (fma gives it exactly), so that a sum of
  // products is as accurate as one computed with exact products.
  void add_product(double a, double b) {
    const double product = a * b;
    add(product);
    if (std::isfinite(product)) compensation += std::fma(a, b, -product);
  }
  // An infinite sum would turn the compensation into NaN; it is the answer as it stands.
  double value() const { return std::isfinite(sum) ? sum + compensation : sum; }
  // (sum + compensation) / divisor with one correction step, so that the quotient is (almost
  // always) the correctly rounded quotient of the exact sum, not of the rounded one.
  double divided_by(double divisor) const {
    double quotient = value() / divisor;
    if (!std::isfinite(quotient) || !std::isfinite(sum)) return quotient;
    const double remainder = std::fma(-quotient, divisor, sum) + compensation;
    return quotient + remainder / divisor;
  }
};

enum class Fn {
  Count,
  Sum,
  Mean,
  Min,
  Max,
  First,
  Last,
  Var,
  Std,
  VarPop,  // population variance (divides by n; OneTick's default "biased" stddev)
  StdPop,
  Vwap,
  Twap,  // time-weighted average over a time bucket (aggregate_twap.cpp)
  Median,
  Percentile,
  DistinctCount,
  FirstTime,
  LastTime
};

// How the state is fed: Bucket (reset between buckets; median/percentile may sort lazily),
// Cumulative (never reset, a result after every tick) or Sliding (remove_oldest is used).
enum class Feed { Bucket, Cumulative, Sliding };

// One entry of `aggs:`, resolved against the input schema.
struct AggSpec {
  std::string output;
  Fn fn = Fn::Count;
  std::vector<size_t> columns;  // input columns, in argument order
  std::vector<Type> types;      // their types
  double p = 0.5;               // percentile; median is 0.5
  Type result_type = Type::Int;
};

class AggState {
 public:
  virtual ~AggState() = default;
  virtual void resize(size_t groups) = 0;
  virtual void add(const Batch& batch, size_t begin, size_t end, const uint32_t* groups) = 0;
  virtual void write(uint32_t group, Column& out) = 0;
  virtual void reset(uint32_t group) = 0;
  virtual void remove_oldest(uint32_t group) { (void)group; }
  // The bounds [start, end) of the bucket that the following add() and write() calls are
  // in (time buckets; for the whole-run bucket the range, else the first and last tick).
  // Only time-weighted functions use them.
  virtual void set_bucket(int64_t start, int64_t end) {
    (void)start;
    (void)end;
  }
};

// The state for `spec`. `window_ticks` (Sliding with a tick window) sizes the power trees;
// 0 means they grow with the window.
std::unique_ptr<AggState> make_agg_state(const AggSpec& spec, Feed feed, uint64_t window_ticks);

// median/percentile (p in [0, 1]) and distinct_count of input column `column`
// (aggregate_value_functions.cpp).
std::unique_ptr<AggState> make_percentile_state(size_t column, double p, Feed feed);
std::unique_ptr<AggState> make_distinct_state(size_t column, bool sliding);
// twap of input column `column` (aggregate_twap.cpp); bucket feed only.
std::unique_ptr<AggState> make_twap_state(size_t column);

// True for the functions that keep their bucket's values (median, percentile,
// distinct_count); their memory grows with the ticks of a bucket.
bool holds_values(Fn fn);

// Bytes one held value costs in such a function (for --stats).
int64_t bytes_per_held_value(const AggSpec& spec);

// Calls f(row, value as double) for rows [begin, end) of an int or double column, with the
// type test outside the loop.
template <typename F>
void for_numeric(const Column& column, size_t begin, size_t end, F&& f) {
  if (column.type() == Type::Double) {
    const double* values = column.doubles().data();
    for (size_t r = begin; r < end; ++r) f(r, values[r]);
  } else {
    const int64_t* values = column.ints().data();
    for (size_t r = begin; r < end; ++r) f(r, static_cast<double>(values[r]));
  }
}

// Calls f(group, run_begin, run_end) for each run of consecutive rows of one group in
// [begin, end), in row order. A state folds a run into a copy of its group's values held in
// registers, instead of a load and a store through memory per row (with time buckets and
// few groups, runs are long); the operations and their order are those of a row-by-row loop.
template <typename F>
void for_group_runs(const uint32_t* groups, size_t begin, size_t end, F&& f) {
  while (begin < end) {
    const uint32_t group = groups[begin];
    size_t run_end = begin + 1;
    while (run_end < end && groups[run_end] == group) ++run_end;
    f(group, begin, run_end);
    begin = run_end;
  }
}

}  // namespace tickflow::eps::agg
