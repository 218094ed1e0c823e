// `state_dump`: emits the contents of a state variable as ticks (SPEC §6, §11).
//
// The input is a trigger: its ticks are not passed on. `when: every_tick` emits every entry
// for each input tick, stamped with that tick's TIMESTAMP; `when: end` emits them once after
// the input ends, stamped with the last input tick's TIMESTAMP (the range end when no tick
// came, the epoch without a range). A tick_set comes in order of first insertion, lists and
// deques from the oldest entry; a scalar gives one tick with one field named like it.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "builtin.hpp"
#include "state/state_eps.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps {
namespace {

using namespace state_ep;

struct DumpPlan {
  size_t var = 0;
  bool container = false;
  bool every_tick = false;
  SchemaPtr schema;  // of the output
};

class StateDumpOperator : public Operator {
 public:
  StateDumpOperator(DumpPlan plan, const RunContext& run)
      : plan_(std::move(plan)),
        store_(run.state),
        batch_size_(run.batch_size > 0 ? run.batch_size : 1),
        range_end_(run.query ? run.query->range_end : std::nullopt),
        out_(plan_.schema) {}

  void process(size_t, Batch&& batch, OutputSink& out) override {
    if (batch.empty()) return;
    const StateStore& store = run_store(store_);
    last_time_ = batch.times.back();
    if (!plan_.every_tick) return;
    for (int64_t time : batch.times) dump(store, time, out);
    flush(out);
  }

  void finish(OutputSink& out) override {
    if (plan_.every_tick) return;
    const StateStore& store = run_store(store_);
    dump(store, last_time_ ? *last_time_ : range_end_.value_or(0), out);
    flush(out);
  }

 private:
  // Appends the variable's entries stamped `time`, emitting whenever a batch is full.
  void dump(const StateStore& store, int64_t time, OutputSink& out) {
    if (!plan_.container) {
      out_.times.push_back(time);
      out_.columns[0].append(store.scalar(plan_.var));
      if (out_.size() >= batch_size_) flush(out);
      return;
    }
    // A snapshot first, emitted afterwards: what is emitted may travel on (the engine passes
    // large outputs on during the call) to an EP that changes this very container.
    const Batch snapshot = store.tick_container(plan_.var).to_batch(time);
    out_.append_rows(snapshot, 0, snapshot.size());
    if (out_.size() < batch_size_) return;
    const size_t full = out_.size() / batch_size_ * batch_size_;
    Batch rest = out_.slice(full, out_.size());
    for (size_t begin = 0; begin < full; begin += batch_size_) {
      out.emit(0, out_.slice(begin, begin + batch_size_));
    }
    out_ = std::move(rest);
  }

  void flush(OutputSink& out) {
    if (out_.empty()) return;
    out.emit(0, std::move(out_));
    out_ = Batch(plan_.schema);
  }

  DumpPlan plan_;
  StateStore* store_;
  size_t batch_size_;
  std::optional<int64_t> range_end_;
  std::optional<int64_t> last_time_;
  Batch out_;
};

OperatorFactory bind_state_dump(BindContext& ctx) {
  const StateVariable* variable = variable_param(ctx, "var", Want::Any, "state_dump");
  if (variable) ctx.use_state(*variable, BindContext::StateAccess::Read, ctx.location("var"));
  const std::string when = ctx.param("when")->text();
  if (when != "end" && when != "every_tick") {
    ctx.error(ctx.location("when"), "when: expected end or every_tick, got '" + when + "'" +
                                        did_you_mean(when, {"end", "every_tick"}));
    return {};
  }
  if (!variable) return {};
  DumpPlan plan;
  plan.var = variable->id;
  plan.container = variable->is_container();
  plan.every_tick = when == "every_tick";
  plan.schema = plan.container ? variable->fields : make_schema({{variable->name, variable->type}});
  ctx.set_output(0, plan.schema, plan.every_tick ? ctx.input(0).time_ordered : true);
  ctx.set_accumulation(Accumulation::none());
  return [plan](const RunContext& run) { return std::make_unique<StateDumpOperator>(plan, run); };
}

// Shown by `tickflow eps state_dump` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample state_dump_example() {
  return {.query = R"~(# The last two prices after every trade (a tick_deque of size 2).
tickflow: 1
state:
  RECENT: {type: tick_deque, fields: {PRICE: double}, max_size: 2}
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
  remember:
    ep: state_insert
    in: trades
    into: RECENT
  after_each_trade:
    ep: state_dump
    in: remember
    var: RECENT
    when: every_tick
)~",
          .output = R"~(TIMESTAMP,PRICE
2024-01-02 09:30:00.000000000,185.25
2024-01-02 09:30:20.000000000,185.25
2024-01-02 09:30:20.000000000,370.5
2024-01-02 09:30:40.000000000,370.5
2024-01-02 09:30:40.000000000,185.5
)~"};
}

}  // namespace

void register_state_dump(Registry& registry) {
  EpDefinition def;
  def.name = "state_dump";
  def.example = state_dump_example();
  def.doc =
      "Emits the contents of a state variable as ticks, triggered by its input (whose ticks are "
      "not passed on). `when: every_tick` emits every entry for each input tick, stamped with "
      "that tick's TIMESTAMP; `when: end` emits them once after the input ends, stamped with "
      "the last input tick's TIMESTAMP, or the range end when no tick came (the epoch without "
      "a range). The output fields are the container's fields; a tick_set comes in order of "
      "first insertion, a tick_list or tick_deque from the oldest entry. A scalar variable "
      "gives one tick per trigger with one field named like the variable.";
  def.inputs = {"in"};
  def.outputs = {"out"};
  def.params = {{.name = "var",
                 .type = ParamType::String,
                 .required = true,
                 .doc = "the state variable to emit (a container or a scalar)"},
                {.name = "when",
                 .type = ParamType::String,
                 .default_value = "end",
                 .doc = "end (once, after the input ends) or every_tick (for each input tick)"}};
  def.accumulation = "none";
  def.bind = bind_state_dump;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
