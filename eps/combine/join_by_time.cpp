// `join_by_time`: the as-of join. Each tick of the leading input is emitted at its own time
// with the fields of the latest tick (per `on` key) of every other input at that time.
//
// Why the result does not depend on batching or thread timing: a leading tick at time t is
// emitted only once every other input has passed t (include: a tick later than t, exclude:
// a tick at or after t) or has ended, so the "latest tick at or before t" is settled
// before it is read. Ticks of another input at the same time t are applied in their
// arrival order, so the last of them wins. Input position matters only with
// same_time: input_order (OneTick's rule), which includes same-time ticks of an input that
// comes before the leading one in `in:` and excludes those of one after it.
//
// Memory: for each other input only the latest tick per key is kept, plus the ticks that
// arrived ahead of the leading input (they cannot be applied before the leading input
// reaches their time), plus the leading ticks waiting for another input to pass their time.
// needs_input() tells the engine which input is behind, so that the one ahead is paused.
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "builtin.hpp"
#include "combine/join_common.hpp"
#include "combine/string_id_map.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/group_keys.hpp"
#include "tickflow/rows.hpp"

namespace tickflow::eps {
namespace {

struct Options {
  size_t leading = 0;
  bool inner = false;
  // Per input: whether a tick at exactly the leading tick's time counts.
  std::vector<bool> include_same_time;
  // A match older than this (leading time - matched tick's time > max_age) gives defaults.
  std::optional<int64_t> max_age;
  std::vector<std::vector<size_t>> key_columns;  // per input: the `on` fields' columns
  // Per input: the columns that go to the output, in output order (leading: all of them).
  std::vector<std::vector<size_t>> output_columns;
  SchemaPtr output;
};

// Ticks that arrived but cannot be used yet, as a queue of batches.
struct Pending {
  std::deque<Batch> batches;
  std::deque<int64_t> batch_bytes;  // counted once when a batch arrives (strings make it O(n))
  size_t front_row = 0;             // first unused row of batches.front()
  int64_t ticks = 0;
  int64_t bytes = 0;
  bool finished = false;
  // Standing queries: no tick earlier than this will come (Operator::input_passed).
  int64_t passed = std::numeric_limits<int64_t>::min();

  bool empty() const { return ticks == 0; }
  const Batch& front() const { return batches.front(); }
  int64_t front_time() const { return batches.front().times[front_row]; }
  void push(Batch&& batch) {
    if (batch.empty()) return;
    const auto size = static_cast<int64_t>(batch.bytes());
    ticks += static_cast<int64_t>(batch.size());
    bytes += size;
    batches.push_back(std::move(batch));
    batch_bytes.push_back(size);
  }
  // Marks `n` rows of the front batch used.
  void pop(size_t n) {
    front_row += n;
    ticks -= static_cast<int64_t>(n);
    if (front_row == batches.front().size()) {
      bytes -= batch_bytes.front();
      batches.pop_front();
      batch_bytes.pop_front();
      front_row = 0;
    }
  }
  void clear() {
    batches.clear();
    batch_bytes.clear();
    front_row = 0;
    ticks = bytes = 0;
  }
};

// The latest tick of one non-leading input, per key (one slot per key; slot 0 without
// keys). A slot refers to its tick where it arrived — a row of a pending batch — and its
// values are copied into `values` only when that batch is done with: most ticks are
// overwritten by a later tick of the same key before then, so a quote costs a key lookup
// and two stores, not a copy of every field.
struct Latest {
  struct Slot {
    const Batch* batch = nullptr;  // the pending batch holding the tick, or null: in `values`
    size_t row = 0;
  };
  Batch values;  // materialized ticks, one row per slot
  std::vector<Slot> slots;
  // Slots pointing into the front pending batch (materialized before it is dropped).
  std::vector<RowIndex> referencing;
  // Key lookup: by the string itself for one string key, by the value for one int-backed
  // key, by the encoded key otherwise.
  StringIdMap by_string;
  std::unordered_map<int64_t, RowIndex> by_int;
  std::unordered_map<std::string, RowIndex> by_encoded;
};

class JoinByTimeOperator : public Operator {
 public:
  JoinByTimeOperator(std::vector<SchemaPtr> schemas, std::shared_ptr<const Options> options,
                     size_t batch_size)
      : options_(std::move(options)),
        pending_(schemas.size()),
        batch_size_(batch_size),
        builder_(options_->output) {
    builder_.reserve(batch_size_);
    for (const auto& schema : schemas) {
      latest_.emplace_back();
      latest_.back().values = Batch(schema);
    }
  }

  void process(size_t input, Batch&& batch, OutputSink& out) override {
    if (input != options_->leading && leading_done()) return;  // nothing will read it
    if (input == options_->leading && !batch.empty()) {
      last_leading_time_ = batch.times.back();
      pending_[input].passed = std::max(pending_[input].passed, batch.times.back());
    }
    pending_[input].push(std::move(batch));
    advance(out);
  }

  void input_finished(size_t input, OutputSink& out) override {
    pending_[input].finished = true;
    advance(out);
  }

  // Standing queries: an input that passed a time without ticks counts as having passed it,
  // as a later tick would (see advance()). Output ticks are stamped with leading ticks, none
  // earlier than the leading input's time.
  std::optional<int64_t> input_passed(size_t input, int64_t time, OutputSink& out) override {
    Pending& pending = pending_[input];
    pending.passed = std::max(pending.passed, time);
    if (input != options_->leading) advance(out);
    const Pending& lead = pending_[options_->leading];
    if (leading_done()) return std::numeric_limits<int64_t>::max();
    return lead.empty() ? lead.passed : std::min(lead.passed, lead.front_time());
  }

  Held held() const override {
    Held held;
    for (size_t i = 0; i < pending_.size(); ++i) {
      held.ticks += pending_[i].ticks + static_cast<int64_t>(latest_[i].slots.size());
      held.bytes += pending_[i].bytes + static_cast<int64_t>(latest_[i].values.bytes());
    }
    return held;
  }

  // An input is needed when nothing of it is waiting: the leading input when no leading
  // tick is waiting, another input when a leading tick waits for it to pass its time.
  bool needs_input(size_t input) const override {
    return !pending_[input].finished && pending_[input].empty();
  }

 private:
  // Input j will deliver nothing that a leading tick at t sees: nothing at t or before (at
  // t only with same_time: include).
  bool passed_beyond(size_t j, int64_t t) const {
    const int64_t passed = pending_[j].passed;
    return options_->include_same_time[j] ? passed > t : passed >= t;
  }

  bool leading_done() const {
    const Pending& lead = pending_[options_->leading];
    return lead.finished && lead.empty();
  }

  void advance(OutputSink& out) {
    Pending& lead = pending_[options_->leading];
    while (!lead.empty()) {
      const int64_t t = lead.front_time();
      bool ready = true;
      for (size_t j = 0; j < pending_.size(); ++j) {
        if (j == options_->leading) continue;
        apply_until(j, t);
        // Whatever is left of input j lies after t, so j has passed t when anything is left.
        if (!pending_[j].finished && pending_[j].empty() && !passed_beyond(j, t)) ready = false;
      }
      if (!ready) break;
      emit_row(lead.front(), lead.front_row);
      lead.pop(1);
      if (builder_.size() >= batch_size_) flush(out);
    }
    if (lead.empty()) {
      if (lead.finished) {
        for (size_t j = 0; j < pending_.size(); ++j) {
          if (j != options_->leading) pending_[j].clear();
        }
      } else if (last_leading_time_) {
        // Later leading ticks are at or after the last one: fold what they will all see
        // into the latest values now, so that it is not held as pending ticks.
        for (size_t j = 0; j < pending_.size(); ++j) {
          if (j != options_->leading) apply_until(j, *last_leading_time_);
        }
      }
    }
    flush(out);
  }

  // Applies input j's pending ticks that a leading tick at time t sees.
  void apply_until(size_t j, int64_t t) {
    Pending& pending = pending_[j];
    while (!pending.empty()) {
      const Batch& batch = pending.front();
      // exclude: ticks before t, i.e. at or before t - 1 (times are integers).
      const bool include = options_->include_same_time[j];
      if (!include && t == std::numeric_limits<int64_t>::min()) return;
      const int64_t limit = include ? t : t - 1;
      const size_t n = end_of_run(batch.times, pending.front_row, limit) - pending.front_row;
      if (n == 0) return;
      apply_rows(j, batch, pending.front_row, pending.front_row + n);
      const bool whole_batch = pending.front_row + n == batch.size();
      if (whole_batch) materialize(j, batch);
      pending.pop(n);
      if (!whole_batch) return;
    }
  }

  void apply_rows(size_t j, const Batch& batch, size_t begin, size_t end) {
    Latest& latest = latest_[j];
    const auto& keys = options_->key_columns[j];
    if (keys.empty()) {
      // Only the last tick matters.
      refer(latest, slot_of(j, batch, end - 1, /*add=*/true), batch, end - 1);
      return;
    }
    if (keys.size() == 1 && batch.columns[keys[0]].type() == Type::String) {
      // The common case (a SYMBOL key) without the per-row dispatch of slot_of.
      const auto& strings = batch.columns[keys[0]].strings();
      for (size_t row = begin; row < end; ++row) {
        bool added = false;
        const uint32_t slot = latest.by_string.find_or_add(
            strings[row], static_cast<uint32_t>(latest.slots.size()), added);
        if (added) add_slot(latest);
        refer(latest, slot, batch, row);
      }
      return;
    }
    for (size_t row = begin; row < end; ++row) {
      refer(latest, slot_of(j, batch, row, /*add=*/true), batch, row);
    }
  }

  static void add_slot(Latest& latest) {
    latest.slots.push_back({});
    latest.values.times.push_back(0);
    for (auto& column : latest.values.columns) column.append_default();
  }

  // Points `slot` at tick `row` of `batch` (a pending batch of this input).
  static void refer(Latest& latest, RowIndex slot, const Batch& batch, size_t row) {
    Latest::Slot& s = latest.slots[slot];
    if (s.batch != &batch) latest.referencing.push_back(slot);
    s.batch = &batch;
    s.row = row;
  }

  // Copies the ticks that slots still refer to in `batch` into the slots' own rows, before
  // the batch is dropped.
  void materialize(size_t j, const Batch& batch) {
    Latest& latest = latest_[j];
    for (RowIndex slot : latest.referencing) {
      Latest::Slot& s = latest.slots[slot];
      if (s.batch != &batch) continue;
      latest.values.times[slot] = batch.times[s.row];
      for (size_t c = 0; c < batch.columns.size(); ++c) {
        assign_value(latest.values.columns[c], slot, batch.columns[c], s.row);
      }
      s.batch = nullptr;
    }
    latest.referencing.clear();
  }

  // The slot of the key of `batch` row `row` (in input j's key columns when `add`, else in
  // the leading input's), added when `add` and absent; -1 when absent and not `add`.
  int64_t slot_of(size_t j, const Batch& batch, size_t row, bool add) {
    Latest& latest = latest_[j];
    const auto& keys = options_->key_columns[add ? j : options_->leading];
    auto found = [](const auto& map, const auto& key) -> int64_t {
      auto it = map.find(key);
      return it == map.end() ? -1 : static_cast<int64_t>(it->second);
    };
    auto new_slot = [&] {
      add_slot(latest);
      return static_cast<int64_t>(latest.slots.size() - 1);
    };
    auto find_or_add = [&](auto& map, const auto& key) -> int64_t {
      int64_t slot = found(map, key);
      if (slot >= 0 || !add) return slot;
      slot = new_slot();
      map.emplace(key, static_cast<RowIndex>(slot));
      return slot;
    };
    if (keys.empty()) {
      if (latest.slots.empty()) return add ? new_slot() : -1;
      return 0;
    }
    if (keys.size() == 1) {
      const Column& column = batch.columns[keys[0]];
      if (column.type() == Type::String) {
        const std::string_view key = column.strings()[row];
        if (!add) {
          const uint32_t id = latest.by_string.find(key);
          return id == StringIdMap::kNone ? -1 : static_cast<int64_t>(id);
        }
        bool added = false;
        const uint32_t id =
            latest.by_string.find_or_add(key, static_cast<uint32_t>(latest.slots.size()), added);
        if (added) new_slot();
        return id;
      }
      if (is_int64_backed(column.type())) return find_or_add(latest.by_int, column.ints()[row]);
    }
    encode_key(batch, keys, row, scratch_);
    return find_or_add(latest.by_encoded, scratch_);
  }

  // The values of input j's slot for reading: the tick where it is, or the materialized row.
  std::pair<const Batch*, size_t> slot_tick(size_t j, int64_t slot) const {
    const Latest::Slot& s = latest_[j].slots[static_cast<size_t>(slot)];
    if (s.batch) return {s.batch, s.row};
    return {&latest_[j].values, static_cast<size_t>(slot)};
  }

  void emit_row(const Batch& lead, size_t row) {
    slots_.assign(pending_.size(), -1);
    for (size_t j = 0; j < pending_.size(); ++j) {
      if (j == options_->leading) continue;
      slots_[j] = slot_of(j, lead, row, /*add=*/false);
      if (slots_[j] >= 0 && options_->max_age) {
        auto [batch, at] = slot_tick(j, slots_[j]);
        if (lead.times[row] - batch->times[at] > *options_->max_age) slots_[j] = -1;  // stale
      }
      if (slots_[j] < 0 && options_->inner) return;
    }
    builder_.times.push_back(lead.times[row]);
    size_t out_column = 0;
    for (size_t c : options_->output_columns[options_->leading]) {
      builder_.columns[out_column++].append_from(lead.columns[c], row);
    }
    for (size_t j = 0; j < pending_.size(); ++j) {
      if (j == options_->leading) continue;
      for (size_t c : options_->output_columns[j]) {
        Column& target = builder_.columns[out_column++];
        if (slots_[j] < 0) {
          target.append_default();
        } else {
          auto [batch, at] = slot_tick(j, slots_[j]);
          target.append_from(batch->columns[c], at);
        }
      }
    }
  }

  void flush(OutputSink& out) {
    if (builder_.empty()) return;
    out.emit(0, std::move(builder_));
    builder_ = Batch(options_->output);
    builder_.reserve(batch_size_);  // one allocation per column, not one per doubling
  }

  std::shared_ptr<const Options> options_;
  std::vector<Pending> pending_;
  std::vector<Latest> latest_;
  std::optional<int64_t> last_leading_time_;
  size_t batch_size_;
  Batch builder_;
  std::string scratch_;
  std::vector<int64_t> slots_;
};

OperatorFactory bind_join_by_time(BindContext& ctx) {
  const size_t inputs = ctx.input_count();
  if (inputs < 2) {
    ctx.error(ctx.input(0).location,
              "join_by_time needs at least two inputs, e.g. in: [trades, quotes]");
    return {};
  }
  auto options = std::make_shared<Options>();
  bool ok = true;
  for (size_t i = 0; i < inputs; ++i) {
    ok &= require_time_ordered(
        ctx, i, "an as-of join pairs each leading tick with the latest earlier ticks");
  }
  if (ctx.has("leading")) {
    const ConfigNode& leading = *ctx.param("leading");
    if (auto index = find_input(ctx, leading.text(), leading.location())) {
      options->leading = *index;
    } else {
      ok = false;
    }
  }
  const std::string how = ctx.get_string("how");
  if (how == "inner") {
    options->inner = true;
  } else if (how != "outer") {
    ctx.error(ctx.location("how"), "how must be 'outer' or 'inner', found '" + how + "'");
    ok = false;
  }
  const std::string same_time = ctx.get_string("same_time");
  for (size_t i = 0; i < inputs; ++i) {
    const bool before_leading = i < options->leading;
    options->include_same_time.push_back(same_time == "include" ||
                                         (same_time == "input_order" && before_leading));
  }
  if (same_time != "include" && same_time != "exclude" && same_time != "input_order") {
    ctx.error(ctx.location("same_time"),
              "same_time must be 'include', 'exclude' or 'input_order', found '" + same_time + "'");
    ok = false;
  }
  if (ctx.has("max_age")) {
    options->max_age = ctx.get_duration("max_age");
    if (*options->max_age < 0) {
      ctx.error(ctx.location("max_age"), "max_age must not be negative");
      ok = false;
    }
  }
  std::vector<size_t> order;  // leading first, then the others in input order
  order.push_back(options->leading);
  for (size_t i = 0; i < inputs; ++i) {
    if (i != options->leading) order.push_back(i);
  }
  JoinLayout layout;
  if (!ok || !plan_join_output(ctx, order, "on", layout)) return {};
  options->key_columns = std::move(layout.key_columns);
  options->output_columns = std::move(layout.output_columns);
  options->output = layout.schema;
  ctx.set_output(0, layout.schema, /*time_ordered=*/true);
  ctx.set_accumulation(Accumulation::bounded(
      options->key_columns[0].empty()
          ? "one tick per other input, plus ticks ahead of the slowest input"
          : "one tick per key per other input, plus ticks ahead of the slowest input"));
  std::vector<SchemaPtr> schemas;
  for (size_t i = 0; i < inputs; ++i) schemas.push_back(ctx.input(i).schema);
  std::shared_ptr<const Options> shared = options;
  return [schemas, shared](const RunContext& run) {
    return std::make_unique<JoinByTimeOperator>(schemas, shared,
                                                std::max<size_t>(1, run.batch_size));
  };
}

// Shown by `tickflow eps join_by_time` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample join_by_time_example() {
  return {.query = R"~(# Each trade with the symbol's latest quote at or before it (an as-of join).
tickflow: 1
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
  quotes:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:29:59", SYMBOL: AAPL, BID: 185.2, ASK: 185.3}
      - {TIMESTAMP: "2024-01-02 09:30:10", SYMBOL: MSFT, BID: 370.4, ASK: 370.6}
      - {TIMESTAMP: "2024-01-02 09:30:30", SYMBOL: AAPL, BID: 185.4, ASK: 185.5}
  with_quote:
    ep: join_by_time
    in: [trades, quotes]
    on: [SYMBOL]
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE,BID,ASK
2024-01-02 09:30:00.000000000,AAPL,185.25,100,185.2,185.3
2024-01-02 09:30:20.000000000,MSFT,370.5,300,370.4,370.6
2024-01-02 09:30:40.000000000,AAPL,185.5,200,185.4,185.5
)~"};
}

}  // namespace

void register_join_by_time(Registry& registry) {
  EpDefinition def;
  def.name = "join_by_time";
  def.example = join_by_time_example();
  def.doc =
      "As-of join: each tick of the leading input is emitted at its own time with the fields "
      "of the latest tick of every other input at that time (with `on`, the latest tick with "
      "the same key values). same_time: include (default) lets a tick at exactly the leading "
      "tick's time count, exclude only earlier ones, input_order (OneTick's rule) counts them "
      "only from inputs listed before the leading one; among several ticks of one input at one "
      "time the last to arrive wins. max_age: a match older than this (leading time minus its "
      "time) counts as no match. how: outer (default) gives defaults where an input has no "
      "tick yet, inner drops such leading ticks. Columns: the leading input's fields, then each "
      "other input's in input order, the `on` fields once; prefix: {input: P_} renames an "
      "input's fields except the keys, and name clashes are load errors. Every input must be "
      "time-ordered. Holds the latest tick per key of each other input, plus the ticks that "
      "arrived ahead of the slowest input.";
  def.inputs = {"in"};
  def.variadic_inputs = true;
  def.outputs = {"out"};
  def.params = {
      {.name = "leading",
       .type = ParamType::String,
       .doc = "the input whose ticks are emitted (default: the first)"},
      {.name = "on",
       .type = ParamType::FieldList,
       .doc = "key fields: match the latest tick with equal values"},
      {.name = "prefix",
       .type = ParamType::Any,
       .doc = "{input: P_} renames that input's fields except the keys (one prefix: every other "
              "input)"},
      {.name = "how",
       .type = ParamType::String,
       .default_value = "outer",
       .doc = "outer: defaults when unmatched; inner: drop unmatched"},
      {.name = "same_time",
       .type = ParamType::String,
       .default_value = "include",
       .doc = "include: ticks at the leading tick's exact time count; exclude: only earlier ones; "
              "input_order: count only for inputs listed before the leading one"},
      {.name = "max_age",
       .type = ParamType::Duration,
       .doc = "a match older than this gives defaults (inner: drops the tick); absent: no bound"},
  };
  def.accumulation = "bounded";
  def.bind = bind_join_by_time;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
