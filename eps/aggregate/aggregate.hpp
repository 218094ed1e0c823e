// The `aggregate` EP, shared between its binding (aggregate_bind.cpp) and its operator
// (aggregate.cpp). Semantics are documented in docs/aggregate.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "aggregate/aggregate_functions.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/expr.hpp"
#include "tickflow/time.hpp"

namespace tickflow::eps::agg {

// What bind validated; immutable and shared by the operators of every run.
struct Options {
  enum class Bucket { Whole, Time, Ticks, Condition };
  enum class Window { Cumulative, Ticks, Time };

  Bucket bucket = Bucket::Whole;
  int64_t bucket_duration = 0;  // Time
  int64_t bucket_ticks = 0;     // Ticks
  CompiledExprPtr condition;    // Condition: bool
  bool boundary_new = true;     // Condition: the tick where it holds starts the next bucket

  bool stamp_start = false;  // bucket_time: start
  // bucket_time: close (OneTick's stamps): a condition bucket is stamped with the tick that
  // closed it, the bucket still open at the end (condition or partial ticks bucket) with
  // the range end. Otherwise as end.
  bool stamp_close = false;
  bool emit_empty = true;

  bool running = false;
  Window window = Window::Cumulative;
  int64_t window_ticks = 0;
  // {ticks: N, per_group: false}: the window is the last N ticks of the whole stream, each
  // group aggregating its own ticks among them (OneTick's end_condition_per_group=False).
  bool window_per_group = true;
  // exit_ticks: leaving (time windows; OneTick's all_fields='when_ticks_exit_window'): every
  // tick leaving the window emits one output tick at its exit time with the window's
  // aggregates before its removal and the leaving tick's own fields (carried_columns, the
  // input columns appended to the output); arrivals carry the arriving tick's fields.
  bool exit_leaving = false;
  std::vector<size_t> carried_columns;
  SchemaPtr carried_schema;  // their fields
  int64_t window_duration = 0;

  std::vector<size_t> key_columns;
  SchemaPtr key_schema;  // the group_by fields
  std::vector<AggSpec> aggs;
  // Aggregation arguments that are expressions rather than bare fields (sum(PRICE * SIZE)):
  // evaluated per batch into extra columns after the input's, which AggSpec::columns name.
  std::vector<CompiledExprPtr> arguments;
  SchemaPtr output_schema;
  std::optional<int64_t> range_start;
  std::optional<int64_t> range_end;
  // Time buckets of a day or more in a query with a zone follow its local days: bucket
  // bounds are computed on the wall clock (a 1d bucket is 23 or 25 hours at DST changes).
  // UTC otherwise.
  TimeZone bucket_zone;
};

OperatorFactory make_aggregate_factory(std::shared_ptr<const Options> options);

// Reads the `bucket` parameter (absent: Whole) into options' bucket fields, with located
// errors; shared by aggregate and the tick-selecting EPs (first_tick, ...).
bool read_bucket(BindContext& ctx, Options& options);

}  // namespace tickflow::eps::agg
