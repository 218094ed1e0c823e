// `first_tick`, `last_tick`, `high_tick`, `low_tick` (OneTick's FIRST_TICK, LAST_TICK,
// HIGH_TICK, LOW_TICK): the first / last n ticks of each bucket, or the n with the highest /
// lowest value of a field, per group. Unlike head and tail they take aggregate's buckets and
// release the selected ticks when the bucket ends — so a node after them that reads a state
// variable sees every update the bucket's ticks made upstream. Ticks keep their TIMESTAMP
// and fields and leave in arrival order. The EP holds the ticks of the open bucket.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aggregate/aggregate.hpp"
#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/group_keys.hpp"
#include "tickflow/rows.hpp"

namespace tickflow::eps {
namespace {

using agg::Options;

enum class Pick { First, Last, High, Low };

struct SelectOptions {
  Pick pick = Pick::First;
  size_t n = 1;
  std::optional<size_t> field;  // High, Low
  std::vector<size_t> key_columns;
  Options bucket;  // only the bucket fields and the range are used
};

constexpr int64_t kNanosPerDay = 86'400'000'000'000;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}

class SelectTicksOperator : public Operator {
 public:
  SelectTicksOperator(std::shared_ptr<const SelectOptions> options, SchemaPtr schema,
                      const RunContext& run)
      : options_(std::move(options)),
        held_(schema),
        groups_(options_->key_columns),
        symbol_(run.symbol),
        state_reader_(run.state) {
    if (options_->bucket.condition) condition_state_ = options_->bucket.condition->make_state();
  }

  void process(size_t, Batch&& batch, OutputSink& out) override {
    if (batch.empty()) return;
    const Options& b = options_->bucket;
    const uint8_t* boundary = nullptr;
    if (b.bucket == Options::Bucket::Condition) {
      b.condition->evaluate(batch, *condition_state_, condition_values_, {symbol_, state_reader_});
      boundary = condition_values_.bools().data();
    }
    for (size_t row = 0; row < batch.size(); ++row) {
      const int64_t t = batch.times[row];
      switch (b.bucket) {
        case Options::Bucket::Time: {
          // Buckets of a day or more count on the wall clock of the query's zone
          // (b.bucket_zone, UTC otherwise), as aggregate's do.
          const int64_t local = b.bucket_zone.to_local(t);
          if (!origin_) {
            origin_ = b.range_start ? b.bucket_zone.to_local(*b.range_start)
                                    : floor_div(local, kNanosPerDay) * kNanosPerDay;
          }
          int64_t index = floor_div(local - *origin_, b.bucket_duration);
          // A wall clock going back at a DST change never reopens a closed bucket.
          if (started_ && index < bucket_index_) index = bucket_index_;
          if (!held_.empty() && index != bucket_index_) close(out);
          bucket_index_ = index;
          started_ = true;
          break;
        }
        case Options::Bucket::Condition:
          if (boundary[row] && b.boundary_new && !held_.empty()) close(out);
          break;
        default:
          break;
      }
      add(batch, row);
      if ((b.bucket == Options::Bucket::Ticks &&
           held_.size() == static_cast<size_t>(b.bucket_ticks)) ||
          (b.bucket == Options::Bucket::Condition && boundary[row] && !b.boundary_new)) {
        close(out);
      }
    }
  }

  void finish(OutputSink& out) override {
    if (!held_.empty()) close(out);
  }

  Held held() const override {
    return {static_cast<int64_t>(held_.size()), static_cast<int64_t>(held_.bytes())};
  }

 private:
  void add(const Batch& batch, size_t row) {
    const uint32_t group = groups_.id(batch, row);
    if (group >= rows_of_group_.size()) rows_of_group_.resize(group + 1);
    rows_of_group_[group].push_back(static_cast<uint32_t>(held_.size()));
    held_.append_row(batch, row);
  }

  // The value of the High/Low field at held row r; NaN never wins.
  double value(uint32_t r) const {
    const Column& column = held_.columns[*options_->field];
    return column.type() == Type::Double ? column.doubles()[r]
                                         : static_cast<double>(column.ints()[r]);
  }

  // Emits the bucket's selected ticks in arrival order and starts the next bucket.
  void close(OutputSink& out) {
    std::vector<uint8_t> selected(held_.size(), 0);
    const size_t n = options_->n;
    for (std::vector<uint32_t>& rows : rows_of_group_) {
      switch (options_->pick) {
        case Pick::First:
          for (size_t i = 0; i < std::min(n, rows.size()); ++i) selected[rows[i]] = 1;
          break;
        case Pick::Last:
          for (size_t i = rows.size() - std::min(n, rows.size()); i < rows.size(); ++i) {
            selected[rows[i]] = 1;
          }
          break;
        default: {
          const bool high = options_->pick == Pick::High;
          std::erase_if(rows, [&](uint32_t r) { return std::isnan(value(r)); });
          // Stable: among equal values the earlier tick wins.
          std::stable_sort(rows.begin(), rows.end(), [&](uint32_t a, uint32_t b) {
            return high ? value(a) > value(b) : value(a) < value(b);
          });
          for (size_t i = 0; i < std::min(n, rows.size()); ++i) selected[rows[i]] = 1;
        }
      }
      rows.clear();
    }
    Batch result(held_.schema);
    for (size_t r = 0; r < held_.size(); ++r) {
      if (selected[r]) result.append_row(held_, r);
    }
    held_.clear();
    if (!result.empty()) out.emit(0, std::move(result));
  }

  std::shared_ptr<const SelectOptions> options_;
  Batch held_;                                        // the open bucket's ticks
  std::vector<std::vector<uint32_t>> rows_of_group_;  // held rows per group, in order
  GroupKeys groups_;
  std::optional<int64_t> origin_;  // time buckets: alignment
  int64_t bucket_index_ = 0;
  bool started_ = false;  // bucket_index_ holds a time bucket's index
  std::string symbol_;
  const StateReader* state_reader_ = nullptr;
  std::unique_ptr<ExprState> condition_state_;
  Column condition_values_{Type::Bool};
};

OperatorFactory bind_select_ticks(BindContext& ctx, Pick pick) {
  auto options = std::make_shared<SelectOptions>();
  options->pick = pick;
  bool ok = agg::read_bucket(ctx, options->bucket);
  options->bucket.range_start = ctx.query().range_start;
  if (options->bucket.bucket == Options::Bucket::Time &&
      options->bucket.bucket_duration >= 86400 * kNanosPerSecond) {
    // The loader has checked the name.
    options->bucket.bucket_zone = query_zone(ctx.query());
  }
  const int64_t n = ctx.get_int("n");
  if (n < 1) {
    ctx.error(ctx.location("n"), "n must be at least 1, got " + std::to_string(n));
    ok = false;
  }
  options->n = static_cast<size_t>(std::max<int64_t>(n, 1));
  ok = read_key_fields(ctx, options->key_columns) && ok;
  const Schema& input = *ctx.input(0).schema;
  if (pick == Pick::High || pick == Pick::Low) {
    const ConfigNode& field = *ctx.param("field");  // required
    if (auto index = ctx.require_field(0, field.text(), field.location())) {
      if (input[*index].type != Type::Double && input[*index].type != Type::Int) {
        ctx.error(field.location(), "field " + field.text() + " is " +
                                        std::string(type_name(input[*index].type)) +
                                        "; high_tick and low_tick compare int or double fields");
        ok = false;
      }
      options->field = *index;
    } else {
      ok = false;
    }
  }
  if (!ok) return {};
  SchemaPtr schema = ctx.input(0).schema;
  ctx.set_output(0, schema, ctx.input(0).time_ordered);
  ctx.set_accumulation(Accumulation::bounded("one bucket"));
  std::shared_ptr<const SelectOptions> shared = options;
  return [shared, schema](const RunContext& run) {
    return std::make_unique<SelectTicksOperator>(shared, schema, run);
  };
}

void register_one(Registry& registry, const char* name, Pick pick, const char* what,
                  EpExample example) {
  EpDefinition def;
  def.name = name;
  def.example = std::move(example);
  def.doc = std::string(what) + " of each bucket, per group with group_by (OneTick's " +
            [&] {
              std::string upper = name;
              for (char& c : upper) c = static_cast<char>(std::toupper(c));
              return upper;
            }() +
            "). Buckets as aggregate's: a duration, {ticks: N}, {when: CONDITION, boundary_tick: "
            "new|previous}, or none (the whole run). The selected ticks keep their TIMESTAMP "
            "and fields and are released when the bucket ends, in arrival order, so a later node "
            "reading state sees every update of the bucket. Holds the open bucket's ticks.";
  def.inputs = {"in"};
  def.outputs = {"out"};
  def.params = {
      {.name = "bucket",
       .type = ParamType::Any,
       .doc = "duration, {ticks: N} or {when: CONDITION, boundary_tick: new|previous}; absent: the "
              "whole run"},
      {.name = "n",
       .type = ParamType::Int,
       .default_value = "1",
       .doc = "how many ticks per bucket and group"},
      {.name = "group_by",
       .type = ParamType::FieldList,
       .doc = "select per group of these fields' values"},
  };
  if (pick == Pick::High || pick == Pick::Low) {
    def.params.push_back({.name = "field",
                          .type = ParamType::Field,
                          .required = true,
                          .doc = "int or double field to rank by (NaN never selected; ties: the "
                                 "earlier tick)"});
  }
  def.accumulation = "bounded(one bucket)";
  def.bind = [pick](BindContext& ctx) { return bind_select_ticks(ctx, pick); };
  registry.add(std::move(def));
}

// Shown by `tickflow eps first_tick` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample first_tick_example() {
  return {.query = R"~(# Each symbol's first trade of every minute.
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
  per_minute:
    ep: first_tick
    in: trades
    bucket: 1m
    group_by: [SYMBOL]
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:30:00.000000000,AAPL,185.25,100
2024-01-02 09:30:20.000000000,MSFT,370.5,300
2024-01-02 09:31:10.000000000,AAPL,185,500
2024-01-02 09:31:30.000000000,MSFT,371,100
)~"};
}

// Shown by `tickflow eps last_tick` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample last_tick_example() {
  return {.query = R"~(# Each symbol's last trade of every minute.
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
  per_minute:
    ep: last_tick
    in: trades
    bucket: 1m
    group_by: [SYMBOL]
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:30:20.000000000,MSFT,370.5,300
2024-01-02 09:30:40.000000000,AAPL,185.5,200
2024-01-02 09:31:10.000000000,AAPL,185,500
2024-01-02 09:31:30.000000000,MSFT,371,100
)~"};
}

// Shown by `tickflow eps high_tick` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample high_tick_example() {
  return {.query = R"~(# The highest-priced trade of every minute.
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
  per_minute:
    ep: high_tick
    in: trades
    field: PRICE
    bucket: 1m
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:30:20.000000000,MSFT,370.5,300
2024-01-02 09:31:30.000000000,MSFT,371,100
)~"};
}

// Shown by `tickflow eps low_tick` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample low_tick_example() {
  return {.query = R"~(# The lowest-priced trade of every minute.
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
  per_minute:
    ep: low_tick
    in: trades
    field: PRICE
    bucket: 1m
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:30:00.000000000,AAPL,185.25,100
2024-01-02 09:31:10.000000000,AAPL,185,500
)~"};
}

}  // namespace

void register_select_ticks(Registry& registry) {
  register_one(registry, "first_tick", Pick::First, "The first n ticks", first_tick_example());
  register_one(registry, "last_tick", Pick::Last, "The last n ticks", last_tick_example());
  register_one(registry, "high_tick", Pick::High, "The n ticks with the highest `field`",
               high_tick_example());
  register_one(registry, "low_tick", Pick::Low, "The n ticks with the lowest `field`",
               low_tick_example());
}

}  // namespace tickflow::eps
