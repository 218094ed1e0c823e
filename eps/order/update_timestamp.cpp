// `update_timestamp`: gives every tick a new TIMESTAMP computed by an expression and
// restores time order.
//
// With `max_delay: D` the re-sort is bounded. M is the largest new time computed so far;
// a tick whose new time is earlier than M - D is late. Held ticks are released, in
// (new time, arrival) order, as soon as their new time is <= M - D: no tick that is not
// late can come before them any more, so the output is time-ordered and does not depend
// on batch boundaries. Without max_delay every tick is held and stable-sorted at the end.
#include <algorithm>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "order/stable_sort.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/expr.hpp"
#include "tickflow/lookahead.hpp"
#include "tickflow/rows.hpp"
#include "tickflow/time.hpp"

namespace tickflow::eps {
namespace {

struct Options {
  CompiledExprPtr to;
  std::optional<int64_t> max_delay;
  std::string max_delay_text;
  bool drop_late = false;
};

class UpdateTimestampOperator : public Operator {
 public:
  UpdateTimestampOperator(SchemaPtr schema, std::shared_ptr<const Options> options,
                          const RunContext& run)
      : options_(std::move(options)),
        lookahead_(options_->to->max_lead()),
        state_(options_->to->make_state()),
        symbol_(run.symbol),
        state_reader_(run.state),
        batch_size_(std::max<size_t>(1, run.batch_size)),
        store_(std::move(schema)) {}

  void process(size_t, Batch&& batch, OutputSink& out) override {
    lookahead_.push(std::move(batch), [&](Batch& window, size_t rows) { take(window, rows, out); });
  }

  void finish(OutputSink& out) override {
    lookahead_.finish([&](Batch& window, size_t rows) { take(window, rows, out); });
    if (!options_->max_delay) {
      const std::vector<RowIndex> order = stable_order(store_, {SortKey{}});
      for (size_t begin = 0; begin < order.size(); begin += batch_size_) {
        const size_t n = std::min(batch_size_, order.size() - begin);
        out.emit(0, gather_rows(store_, order.data() + begin, n, /*move_strings=*/true));
      }
    } else {
      release(/*everything=*/true, out);
    }
    store_ = Batch(store_.schema);
    held_bytes_ = 0;
  }

  Held held() const override {
    const Held pending = lookahead_.held();
    return {pending.ticks + static_cast<int64_t>(live_), pending.bytes + held_bytes_};
  }

  std::vector<std::pair<std::string, int64_t>> counters() const override {
    if (!options_->drop_late) return {};
    return {{"late_dropped", late_dropped_}};
  }

 private:
  struct Waiting {
    int64_t time;
    uint64_t arrival;
    RowIndex row;
    // std::priority_queue pops the largest: invert so the earliest (time, arrival) is on top.
    bool operator<(const Waiting& other) const {
      return time != other.time ? time > other.time : arrival > other.arrival;
    }
  };

  // Evaluates the new times of the first `rows` ticks of `window` and holds those ticks.
  void take(Batch& window, size_t rows, OutputSink& out) {
    Column new_times(Type::Time);
    options_->to->evaluate(window, rows, *state_, new_times, {symbol_, state_reader_});
    truncate_rows(window, rows);
    if (!options_->max_delay) {
      window.times = std::move(new_times.ints());
      held_bytes_ += static_cast<int64_t>(window.bytes());
      append_batch_moving(store_, std::move(window));
      live_ = store_.size();
      return;
    }
    const int64_t delay = *options_->max_delay;
    std::vector<RowIndex> kept;
    kept.reserve(rows);
    for (size_t i = 0; i < rows; ++i) {
      const int64_t t = new_times.ints()[i];
      // t < M - D, written so that it cannot overflow.
      if (max_time_ && t<*max_time_&& static_cast<uint64_t>(*max_time_ - t)> uint64_t(delay)) {
        if (options_->drop_late) {
          ++late_dropped_;
          continue;
        }
        RuntimeError error("late tick: its new time " + format_time(t) +
                           " is more than max_delay " + options_->max_delay_text +
                           " before the latest new time so far, " + format_time(*max_time_) +
                           "; raise max_delay, or set late: drop to drop such ticks");
        error.tick_time = window.times[i];
        throw error;
      }
      if (!max_time_ || t > *max_time_) max_time_ = t;
      waiting_.push({t, next_arrival_++, static_cast<RowIndex>(store_.size() + kept.size())});
      kept.push_back(static_cast<RowIndex>(i));
    }
    window.times = std::move(new_times.ints());
    Batch accepted = kept.size() == rows ? std::move(window)
                                         : gather_rows(window, kept.data(), kept.size(), true);
    held_bytes_ += static_cast<int64_t>(accepted.bytes());
    append_batch_moving(store_, std::move(accepted));
    live_ += kept.size();
    release(/*everything=*/false, out);
  }

  // Emits the held ticks no later tick can precede (all of them at the end of the stream).
  void release(bool everything, OutputSink& out) {
    if (!max_time_) return;
    const int64_t delay = *options_->max_delay;
    std::vector<RowIndex> ready;
    while (!waiting_.empty()) {
      const Waiting& top = waiting_.top();
      const bool releasable =
          everything || (top.time <= *max_time_ &&
                         static_cast<uint64_t>(*max_time_ - top.time) >= uint64_t(delay));
      if (!releasable) break;
      ready.push_back(top.row);
      waiting_.pop();
    }
    if (ready.empty()) return;
    Batch released = gather_rows(store_, ready.data(), ready.size(), /*move_strings=*/true);
    held_bytes_ -= static_cast<int64_t>(released.bytes());
    live_ -= ready.size();
    dead_ += ready.size();
    emit_in_batches(std::move(released), batch_size_, out);
    if (live_ == 0) {
      store_ = Batch(store_.schema);
      dead_ = 0;
      held_bytes_ = 0;
    } else if (dead_ > live_ && dead_ >= kMinDeadToCompact) {
      compact();
    }
  }

  // Drops released rows from the store (amortized O(1) per tick: it runs once dead rows
  // outnumber live ones) and renumbers the waiting entries.
  void compact() {
    std::vector<Waiting> entries;
    entries.reserve(waiting_.size());
    while (!waiting_.empty()) {
      entries.push_back(waiting_.top());
      waiting_.pop();
    }
    std::vector<RowIndex> rows;
    rows.reserve(entries.size());
    for (Waiting& entry : entries) {
      rows.push_back(entry.row);
      entry.row = static_cast<RowIndex>(rows.size() - 1);
    }
    store_ = gather_rows(store_, rows.data(), rows.size(), /*move_strings=*/true);
    for (const Waiting& entry : entries) waiting_.push(entry);
    dead_ = 0;
  }

  static constexpr size_t kMinDeadToCompact = 4096;

  std::shared_ptr<const Options> options_;
  Lookahead lookahead_;
  std::unique_ptr<ExprState> state_;
  std::string symbol_;
  const StateReader* state_reader_ = nullptr;
  size_t batch_size_;
  Batch store_;  // held ticks in arrival order (with max_delay: plus released, dead rows)
  std::priority_queue<Waiting> waiting_;
  std::optional<int64_t> max_time_;
  uint64_t next_arrival_ = 0;
  size_t live_ = 0;
  size_t dead_ = 0;
  int64_t held_bytes_ = 0;
  int64_t late_dropped_ = 0;
};

OperatorFactory bind_update_timestamp(BindContext& ctx) {
  auto options = std::make_shared<Options>();
  bool ok = true;
  ExprContext cx = make_expr_context(ctx, *ctx.input(0).schema);
  cx.required_type = Type::Time;
  cx.what = "the new time 'to'";
  std::vector<Diagnostic> errors;
  options->to = compile_expr(*ctx.param("to"), cx, errors);
  report_expr_errors(ctx, errors);
  if (!options->to) ok = false;
  if (ctx.has("max_delay")) {
    options->max_delay = ctx.get_duration("max_delay");
    options->max_delay_text = ctx.param("max_delay")->text();
    if (*options->max_delay < 0) {
      ctx.error(ctx.location("max_delay"), "max_delay must not be negative");
      ok = false;
    }
  }
  const std::string late = ctx.get_string("late");
  if (late == "drop") {
    options->drop_late = true;
  } else if (late != "fail") {
    ctx.error(ctx.location("late"), "late must be 'fail' or 'drop', found '" + late + "'");
    ok = false;
  }
  if (options->drop_late && !options->max_delay) {
    ctx.error(ctx.location("late"),
              "late: drop needs max_delay (without it every tick is held and none is late)");
    ok = false;
  }
  if (!ok) return {};
  SchemaPtr schema = ctx.input(0).schema;
  ctx.set_output(0, schema, /*time_ordered=*/true);
  const size_t lead = options->to->max_lead();
  if (options->max_delay) {
    std::string bound = options->max_delay_text;
    if (lead > 0) bound += " + " + std::to_string(lead) + " ticks";
    ctx.set_accumulation(Accumulation::bounded(bound));
  } else {
    ctx.set_accumulation(Accumulation::unbounded());
  }
  std::shared_ptr<const Options> shared = options;
  return [schema, shared](const RunContext& run) {
    return std::make_unique<UpdateTimestampOperator>(schema, shared, run);
  };
}

// Shown by `tickflow eps update_timestamp` and docs/eps.md; tests/scripts/test_ep_examples.py runs
// it.
EpExample update_timestamp_example() {
  return {
      .query = R"~(# Large trades reported 30 s late: re-stamped, then re-sorted into time order.
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
  reported_late:
    ep: update_timestamp
    in: trades
    to: "TIMESTAMP + if(SIZE >= 300, 30s, 0s)"
)~",
      .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:30:00.000000000,AAPL,185.25,100
2024-01-02 09:30:40.000000000,AAPL,185.5,200
2024-01-02 09:30:50.000000000,MSFT,370.5,300
2024-01-02 09:31:30.000000000,MSFT,371,100
2024-01-02 09:31:40.000000000,AAPL,185,500
)~"};
}

}  // namespace

void register_update_timestamp(Registry& registry) {
  EpDefinition def;
  def.name = "update_timestamp";
  def.example = update_timestamp_example();
  def.doc =
      "Sets each tick's TIMESTAMP to the time expression `to` and emits the ticks in order of "
      "the new times (stable: equal new times keep input order). With max_delay D the re-sort "
      "holds only a window: M is the largest new time so far, a tick whose new time is earlier "
      "than M - D is late (a run-time error, or dropped and counted as late_dropped with "
      "late: drop), and held ticks are released once their new time is <= M - D. Without "
      "max_delay every tick is held and sorted when the input ends. The input may be in any "
      "order (e.g. after order_by); the output is time-ordered.";
  def.inputs = {"in"};
  def.outputs = {"out"};
  def.params = {
      {.name = "to",
       .type = ParamType::Expr,
       .required = true,
       .doc = "the new TIMESTAMP (a time expression)"},
      {.name = "max_delay",
       .type = ParamType::Duration,
       .doc = "bounds the re-sort: how far a new time may fall behind the latest one"},
      {.name = "late",
       .type = ParamType::String,
       .default_value = "fail",
       .doc = "late ticks (with max_delay): fail or drop"},
  };
  def.accumulation = "bounded(max_delay) or unbounded";
  def.bind = bind_update_timestamp;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
