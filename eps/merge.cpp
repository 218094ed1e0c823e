// The `merge` EP (SPEC §4 Combining streams): the time-ordered union of N inputs.
//
// Ticks with equal timestamps come in input order (SPEC §9). A tick is released only when
// no input can still deliver an earlier one (or an equal one from an earlier input): an
// input that is open and has nothing pending bounds the others by the last time it
// delivered. needs_input() tells the engine which inputs it waits for, so a fast input
// is paused instead of piling up here: the merge holds what the inputs' timestamps
// require, a few batches for inputs that advance together.
#include <algorithm>
#include <deque>
#include <limits>

#include "builtin.hpp"
#include "rows.hpp"
#include "tickflow/ep_helpers.hpp"

namespace tickflow::eps {
namespace {

struct MergeLayout {
  SchemaPtr schema;
  // For each input, for each output field: the input's field index, or -1 (type default).
  std::vector<std::vector<int>> field_of_input;
};

class MergeOperator : public Operator {
 public:
  explicit MergeOperator(std::shared_ptr<const MergeLayout> layout)
      : layout_(std::move(layout)), inputs_(layout_->field_of_input.size()) {}

  void process(size_t input, Batch&& batch, OutputSink& out) override {
    InputState& in = inputs_[input];
    in.last_time = batch.times.back();
    const size_t bytes = batch.bytes();  // once: for strings it walks the column
    in.pending_ticks += batch.size();
    in.pending_bytes += bytes;
    in.pending.push_back(std::move(batch));
    in.pending_batch_bytes.push_back(bytes);
    release(out);
  }

  void input_finished(size_t input, OutputSink& out) override {
    inputs_[input].finished = true;
    release(out);
  }

  Held held() const override {
    Held h;
    for (const auto& in : inputs_) {
      h.ticks += static_cast<int64_t>(in.pending_ticks);
      h.bytes += static_cast<int64_t>(in.pending_bytes);
    }
    return h;
  }

  bool needs_input(size_t input) const override {
    const InputState& in = inputs_[input];
    return !in.finished && in.pending.empty();
  }

 private:
  struct InputState {
    std::deque<Batch> pending;
    std::deque<size_t> pending_batch_bytes;
    size_t offset = 0;  // first unreleased row of pending.front()
    size_t pending_ticks = 0;
    size_t pending_bytes = 0;
    int64_t last_time = std::numeric_limits<int64_t>::min();  // of the last tick received
    bool finished = false;
  };

  // One stretch of consecutive released ticks of one input.
  struct Run {
    const Batch* batch;
    size_t input;
    size_t begin;
    size_t end;
  };

  // Releases every tick that no input can precede any more. First the order is worked out
  // as runs of consecutive ticks per input (cheap, times only); then each output column
  // is gathered from the runs in one typed loop, which keeps the cost per tick low even
  // when the inputs alternate tick by tick.
  void release(OutputSink& out) {
    const size_t n = inputs_.size();
    cursor_batch_.assign(n, 0);
    cursor_row_.resize(n);
    for (size_t i = 0; i < n; ++i) cursor_row_[i] = inputs_[i].offset;
    auto has_tick = [&](size_t i) { return cursor_batch_[i] < inputs_[i].pending.size(); };
    auto head_time = [&](size_t i) {
      return inputs_[i].pending[cursor_batch_[i]].times[cursor_row_[i]];
    };
    runs_.clear();
    size_t total = 0;
    while (true) {
      // The input holding the next tick in (time, input position) order.
      size_t best = n;
      for (size_t i = 0; i < n; ++i) {
        if (has_tick(i) && (best == n || head_time(i) < head_time(best))) best = i;
      }
      if (best == n) break;
      // Rows of `best` may go while they sort before every other input's next tick; an
      // open input with nothing pending will deliver no tick earlier than its last one.
      int64_t limit = std::numeric_limits<int64_t>::max();  // rows with time <= limit go
      for (size_t j = 0; j < n; ++j) {
        if (j == best) continue;
        int64_t bound;
        if (has_tick(j)) {
          bound = head_time(j);
        } else if (!inputs_[j].finished) {
          bound = inputs_[j].last_time;
        } else {
          continue;
        }
        // An earlier input wins ties, so `best` must stay strictly below its next time.
        if (j < best && bound != std::numeric_limits<int64_t>::min()) --bound;
        limit = std::min(limit, bound);
      }
      const Batch& batch = inputs_[best].pending[cursor_batch_[best]];
      const size_t begin = cursor_row_[best];
      const size_t end = end_of_run(batch.times, begin, limit);
      if (end == begin) break;  // waiting for another input
      runs_.push_back({&batch, best, begin, end});
      total += end - begin;
      cursor_row_[best] = end;
      if (end == batch.size()) {
        ++cursor_batch_[best];
        cursor_row_[best] = 0;
      }
    }
    if (runs_.empty()) return;
    out.emit(0, gather(total));
    for (size_t i = 0; i < n; ++i) {
      InputState& in = inputs_[i];
      for (size_t k = 0; k < cursor_batch_[i]; ++k) {
        in.pending_ticks -= in.pending.front().size() - in.offset;
        in.pending_bytes -= in.pending_batch_bytes.front();
        in.pending.pop_front();
        in.pending_batch_bytes.pop_front();
        in.offset = 0;
      }
      in.pending_ticks -= cursor_row_[i] - in.offset;
      in.offset = cursor_row_[i];
    }
  }

  Batch gather(size_t total) const {
    Batch result(layout_->schema);
    result.times.reserve(total);
    for (const Run& r : runs_) {
      result.times.insert(result.times.end(), r.batch->times.begin() + r.begin,
                          r.batch->times.begin() + r.end);
    }
    for (size_t c = 0; c < result.columns.size(); ++c) {
      Column& column = result.columns[c];
      switch (column.type()) {
        case Type::Double:
          gather_column(column.doubles(), c, total, &Column::doubles,
                        std::numeric_limits<double>::quiet_NaN());
          break;
        case Type::Bool:
          gather_column(column.bools(), c, total, &Column::bools, uint8_t{0});
          break;
        case Type::String:
          gather_column(column.strings(), c, total, &Column::strings, std::string());
          break;
        default:
          gather_column(column.ints(), c, total, &Column::ints, int64_t{0});
      }
    }
    return result;
  }

  template <class T>
  void gather_column(std::vector<T>& out, size_t c, size_t total,
                     const std::vector<T>& (Column::*values)() const, const T& missing) const {
    out.reserve(total);
    for (const Run& r : runs_) {
      const int field = layout_->field_of_input[r.input][c];
      if (field < 0) {
        out.insert(out.end(), r.end - r.begin, missing);
        continue;
      }
      const std::vector<T>& source = (r.batch->columns[static_cast<size_t>(field)].*values)();
      if (r.end - r.begin == 1) {
        out.push_back(source[r.begin]);
      } else {
        out.insert(out.end(), source.begin() + r.begin, source.begin() + r.end);
      }
    }
  }

  std::shared_ptr<const MergeLayout> layout_;
  std::vector<InputState> inputs_;
  // Scratch space of release(), kept to avoid allocating per call.
  std::vector<size_t> cursor_batch_, cursor_row_;
  std::vector<Run> runs_;
};

OperatorFactory bind_merge(BindContext& ctx) {
  bool ok = true;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    ok &= require_time_ordered(ctx, i, "merge interleaves its inputs by time");
  }
  // Fields: the first input's in order, then those first seen in later inputs.
  std::vector<Field> fields;
  std::vector<size_t> first_input;  // which input brought each field
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    for (const Field& f : ctx.input(i).schema->fields()) {
      auto it = std::find_if(fields.begin(), fields.end(),
                             [&](const Field& g) { return g.name == f.name; });
      if (it == fields.end()) {
        fields.push_back(f);
        first_input.push_back(i);
      } else if (it->type != f.type) {
        size_t other = first_input[static_cast<size_t>(it - fields.begin())];
        ctx.error(ctx.input(i).location,
                  "field " + f.name + " is " + std::string(type_name(it->type)) + " in input '" +
                      ctx.input(other).name + "' but " + std::string(type_name(f.type)) +
                      " in input '" + ctx.input(i).name +
                      "'; rename one of them or convert it with update_field");
        ok = false;
      }
    }
  }
  if (!ok) return {};
  auto layout = std::make_shared<MergeLayout>();
  layout->schema = make_schema(fields);
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    std::vector<int> map;
    for (const Field& f : fields) {
      auto index = ctx.input(i).schema->index_of(f.name);
      map.push_back(index ? static_cast<int>(*index) : -1);
    }
    layout->field_of_input.push_back(std::move(map));
  }
  ctx.set_output(0, layout->schema, true);
  ctx.set_accumulation(Accumulation::bounded("until every input has passed a time"));
  std::shared_ptr<const MergeLayout> shared = std::move(layout);
  return [shared](const RunContext&) -> std::unique_ptr<Operator> {
    return std::make_unique<MergeOperator>(shared);
  };
}

}  // namespace

void register_merge(Registry& registry) {
  EpDefinition def;
  def.name = "merge";
  def.doc =
      "Time-ordered union of its inputs (`in: [a, b, ...]`). Ticks with equal timestamps come "
      "in input order, then in arrival order. The output has the first input's fields in "
      "order, then fields first seen in later inputs; a tick lacking a field gets the type's "
      "default. The same field name with different types is an error. Inputs must be "
      "time-ordered. Holds only the ticks that an input still behind in time could precede: "
      "the engine pauses inputs that run ahead.";
  def.inputs = {};
  def.variadic_inputs = true;
  def.outputs = {"out"};
  def.params = {};
  def.accumulation = "bounded (until every input has passed a time)";
  def.bind = bind_merge;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
