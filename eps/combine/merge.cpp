// The `merge` EP (SPEC §4 Combining streams): the time-ordered union of N inputs.
//
// Ticks with equal timestamps come in input order (SPEC §9). A tick is released only when
// no input can still deliver an earlier one (or an equal one from an earlier input): an
// input that is open and has nothing pending bounds the others by the last time it
// delivered. needs_input() tells the engine which inputs it waits for, so a fast input
// is paused instead of piling up here: the merge holds what the inputs' timestamps
// require, a few batches for inputs that advance together.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "builtin.hpp"
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
  MergeOperator(std::shared_ptr<const MergeLayout> layout, size_t batch_size)
      : layout_(std::move(layout)),
        batch_size_(std::max<size_t>(batch_size, 1)),
        inputs_(layout_->field_of_input.size()) {
    typed<int64_t>().per_batch = 1;  // times
    for (const Field& f : layout_->schema->fields()) {
      with_value_type(f.type, [&]<class T>() {
        if constexpr (!std::is_same_v<T, std::string>) ++typed<T>().per_batch;
      });
    }
  }

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

  // Standing queries: an input that passed `time` bounds the others as a tick at that time
  // would. What is still held comes after the earliest open input's time, so the output
  // has passed that time.
  std::optional<int64_t> input_passed(size_t input, int64_t time, OutputSink& out) override {
    InputState& in = inputs_[input];
    if (time > in.last_time) {
      in.last_time = time;
      release(out);
    }
    int64_t passed = std::numeric_limits<int64_t>::max();
    for (const auto& other : inputs_) {
      if (!other.finished) passed = std::min(passed, other.last_time);
    }
    return passed;
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
    // Of the last tick received; before any, the earliest time: the earlier inputs may then
    // release their ticks at that time only, the later ones none.
    int64_t last_time = std::numeric_limits<int64_t>::min();
    bool finished = false;
  };

  // An input's position while release() orders the output: rows [row, end) of
  // pending[batch] are the ones the current phase may take, `left` counts the rows still to
  // release from there on (this batch and later ones).
  struct Cursor {
    size_t batch;
    size_t row;
    size_t end;
    size_t left;
    const int64_t* times;
  };

  // A stretch of output rows in which every input reads from one batch (or not at all).
  struct Phase {
    size_t begin;
    size_t end;
    size_t only;  // the input all its rows come from, or the input count when mixed
  };
  // Where an input's rows of a phase start; batch null when the phase takes none of them.
  struct Source {
    Batch* batch;
    size_t row;
  };

  // Releases every tick that no input can precede any more: counts what may go, then builds
  // it in batches of at most batch_size ticks, each in two passes: the order (the output
  // times and, per output row, the input it comes from), worked out on the times alone,
  // then each column gathered with that selector in one typed loop. Columns thus cost a
  // tight copy each even when the inputs alternate tick by tick. Batches of the run's size
  // suit the consumers, and the input batches used up by one make the vectors of the next.
  void release(OutputSink& out) {
    const size_t total = count_releasable();
    if (total == 0) return;
    const size_t n = inputs_.size();
    cursors_.resize(n);
    for (size_t i = 0; i < n; ++i) cursors_[i] = {0, inputs_[i].offset, 0, take_[i], nullptr};
    for (size_t done = 0; done < total;) {
      const size_t rows = std::min(total - done, batch_size_);
      Batch batch = next_batch(rows);
      drop_released();
      out.emit(0, std::move(batch));
      done += rows;
    }
  }

  Batch next_batch(size_t rows) {
    Batch result(layout_->schema);
    result.times = spare_vector<int64_t>(rows);
    result.times.resize(rows);
    selector_.resize(rows);
    order(result.times.data(), rows);
    for (size_t c = 0; c < result.columns.size(); ++c) {
      Column& column = result.columns[c];
      with_value_type(column.type(), [&]<class T>() {
        if constexpr (std::is_same_v<T, std::string>) {
          gather_strings(column.strings(), c, rows);
        } else {
          gather_column(column.values<T>(), c, rows, Column::default_of<T>());
        }
      });
    }
    return result;
  }

  // Sets take_[i], the ticks input i may release now, and returns their sum. A tick of
  // input i may go when it sorts, by (time, input), before the last tick of every other
  // open input: an open input can still deliver ticks at its last time but none earlier,
  // and an earlier input wins ties. Finished inputs bound nothing. The ticks that may go
  // are a prefix of each input's pending ticks, and together a prefix of the merged order.
  size_t count_releasable() {
    const size_t n = inputs_.size();
    auto last_before = [&](size_t a, size_t b) {
      const int64_t ta = inputs_[a].last_time, tb = inputs_[b].last_time;
      return ta < tb || (ta == tb && a < b);
    };
    // The open inputs whose last ticks come first and second: each input is bound by the
    // first one other than itself.
    size_t first = n, second = n;
    for (size_t j = 0; j < n; ++j) {
      if (inputs_[j].finished) continue;
      if (first == n || last_before(j, first)) {
        second = first;
        first = j;
      } else if (second == n || last_before(j, second)) {
        second = j;
      }
    }
    take_.assign(n, 0);
    size_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      const size_t bound = i == first ? second : first;
      InputState& in = inputs_[i];
      size_t from = in.offset;
      for (const Batch& b : in.pending) {
        size_t end = b.size();
        if (bound != n) {
          const int64_t limit = inputs_[bound].last_time;
          const auto begin = b.times.begin() + static_cast<std::ptrdiff_t>(from);
          // Before an earlier input's last time, or up to a later input's.
          const auto stop = i < bound ? std::upper_bound(begin, b.times.end(), limit)
                                      : std::lower_bound(begin, b.times.end(), limit);
          end = static_cast<size_t>(stop - b.times.begin());
        }
        take_[i] += end - from;
        if (end < b.size()) break;
        from = 0;
      }
      total += take_[i];
    }
    return total;
  }

  // Fills `times` and selector_ with the next `rows` ticks of the merged order, phase by
  // phase (a phase ends where an input's batch ends, where its last tick to release goes, or
  // at `rows`), and records the phases for gather_column.
  void order(int64_t* times, size_t rows) {
    const size_t n = inputs_.size();
    phases_.clear();
    sources_.clear();
    size_t k = 0;
    while (k < rows) {
      size_t active = 0, last_active = n;
      for (size_t i = 0; i < n; ++i) {
        Cursor& c = cursors_[i];
        if (c.left == 0) {
          sources_.push_back({nullptr, 0});
          continue;
        }
        Batch& b = inputs_[i].pending[c.batch];
        sources_.push_back({&b, c.row});
        c.end = std::min(b.size(), c.row + c.left);
        c.times = b.times.data();
        ++active;
        last_active = i;
      }
      const size_t begin = k;
      if (active == 1) {
        k = copy_run(times, k, rows, last_active);
      } else if (n == 2) {
        k = merge_two(times, k, rows);
      } else {
        k = merge_many(times, k, rows);
      }
      phases_.push_back({begin, k, active == 1 ? last_active : n});
      for (size_t i = 0; i < n; ++i) {
        Cursor& c = cursors_[i];
        const Source& s = sources_[sources_.size() - n + i];
        if (!s.batch) continue;
        c.left -= c.row - s.row;
        inputs_[i].pending_ticks -= c.row - s.row;
        if (c.left > 0 && c.row == s.batch->size()) {
          ++c.batch;
          c.row = 0;
        }
      }
    }
  }

  // Output rows k.. from input i's stretch alone.
  size_t copy_run(int64_t* times, size_t k, size_t rows, size_t i) {
    Cursor& c = cursors_[i];
    const size_t end = std::min(c.end, c.row + (rows - k));
    std::copy(c.times + c.row, c.times + end, times + k);
    std::fill(selector_.data() + k, selector_.data() + k + (end - c.row), static_cast<uint32_t>(i));
    k += end - c.row;
    c.row = end;
    return k;
  }

  // Two inputs, both with ticks in the phase: a branchless merge, since inputs that
  // interleave tick by tick would make a branch on the comparison a coin flip. Each round
  // takes as many ticks as neither stretch can run out in, so the loop tests one counter.
  // The ticks after both heads are loaded before the comparison picks one, which takes the
  // loads off the chain from one comparison to the next; the last tick of a round goes
  // alone so that those loads stay within the stretches.
  size_t merge_two(int64_t* times, size_t k, size_t rows) {
    Cursor& a = cursors_[0];
    Cursor& b = cursors_[1];
    const int64_t* ta = a.times;
    const int64_t* tb = b.times;
    uint32_t* sel = selector_.data();
    size_t ia = a.row, ib = b.row;
    for (size_t m; (m = std::min({a.end - ia, b.end - ib, rows - k})) > 0;) {
      int64_t x = ta[ia], y = tb[ib];
      for (; m > 1; --m, ++k) {
        const int64_t next_x = ta[ia + 1], next_y = tb[ib + 1];
        const bool from_b = y < x;  // on ties the earlier input goes first
        sel[k] = from_b;
        times[k] = from_b ? y : x;
        ia += !from_b;
        ib += from_b;
        // As masks: GCC turns the selections into branches.
        const int64_t to_b = -static_cast<int64_t>(from_b);
        x ^= (x ^ next_x) & ~to_b;
        y ^= (y ^ next_y) & to_b;
      }
      const bool from_b = y < x;
      sel[k] = from_b;
      times[k] = from_b ? y : x;
      ia += !from_b;
      ib += from_b;
      ++k;
    }
    a.row = ia;
    b.row = ib;
    return k;
  }

  // Any number of inputs: runs of the input whose next tick comes first, until a stretch
  // runs out.
  size_t merge_many(int64_t* times, size_t k, size_t rows) {
    const size_t n = inputs_.size();
    auto head_before = [&](size_t a, size_t b) {
      const int64_t ta = cursors_[a].times[cursors_[a].row];
      const int64_t tb = cursors_[b].times[cursors_[b].row];
      return ta < tb || (ta == tb && a < b);
    };
    uint32_t* sel = selector_.data();
    while (k < rows) {
      // The inputs with the first and the second head (phases with one input do not get here).
      size_t best = n, next = n;
      for (size_t i = 0; i < n; ++i) {
        if (cursors_[i].left == 0) continue;
        if (best == n || head_before(i, best)) {
          next = best;
          best = i;
        } else if (next == n || head_before(i, next)) {
          next = i;
        }
      }
      // The run of `best` up to the next input's head: at least the head itself.
      Cursor& c = cursors_[best];
      const int64_t* t = c.times;
      const size_t last = std::min(c.end, c.row + (rows - k));
      const int64_t limit = cursors_[next].times[cursors_[next].row];
      const bool ties_go = best < next;
      size_t r = c.row;
      do {
        sel[k] = static_cast<uint32_t>(best);
        times[k] = t[r];
        ++k;
        ++r;
      } while (r < last && (t[r] < limit || (t[r] == limit && ties_go)));
      c.row = r;
      if (r == c.end) break;
    }
    return k;
  }

  // Fills `out` with column c of the ticks order() put in selector_. Values are moved: each
  // released row is taken once and its batch dropped afterwards. An input lacking the field
  // reads `missing` without advancing, so that rows are picked without a branch on where
  // they come from.
  // Input i's column of output field c in phase p, or null when the input has no tick there
  // or lacks the field.
  Column* source_column(size_t p, size_t i, size_t c) {
    const Source& s = sources_[p * inputs_.size() + i];
    const int field = layout_->field_of_input[i][c];
    return s.batch && field >= 0 ? &s.batch->columns[static_cast<size_t>(field)] : nullptr;
  }

  template <class T>
  void gather_column(std::vector<T>& out, size_t c, size_t rows, T missing) {
    out = spare_vector<T>(rows);
    out.resize(rows);  // what a recycled vector holds is all overwritten
    const size_t n = inputs_.size();
    Typed<T>& typed_sources = typed<T>();
    std::vector<T*>& from = typed_sources.sources;
    std::vector<size_t>& step = typed_sources.steps;
    from.resize(n);
    step.resize(n);
    const uint32_t* sel = selector_.data();
    for (size_t p = 0; p < phases_.size(); ++p) {
      const Phase& phase = phases_[p];
      for (size_t i = 0; i < n; ++i) {
        Column* column = source_column(p, i, c);
        from[i] = column ? column->values<T>().data() + sources_[p * n + i].row : &missing;
        step[i] = column != nullptr;
      }
      T* target = out.data() + phase.begin;
      const size_t size = phase.end - phase.begin;
      if (phase.only != n) {
        T* source = from[phase.only];
        if (step[phase.only]) {
          std::move(source, source + size, target);
        } else {
          std::fill(target, target + size, missing);
        }
      } else if (n == 2 && step[0] && step[1]) {
        select_two(target, sel + phase.begin, size, from[0], from[1]);
      } else {
        select_many(target, sel + phase.begin, size, from.data(), step.data());
      }
    }
  }

  // gather_column for strings: each row's slot is copied from its input's column (with its
  // bytes when it is long); an input lacking the field gives "".
  void gather_strings(StringColumn& out, size_t c, size_t rows) {
    out.clear();
    out.reserve(rows);
    const size_t n = inputs_.size();
    std::vector<const StringColumn*> from(n);
    std::vector<size_t> at(n);
    const uint32_t* sel = selector_.data();
    for (size_t p = 0; p < phases_.size(); ++p) {
      const Phase& phase = phases_[p];
      for (size_t i = 0; i < n; ++i) {
        Column* column = source_column(p, i, c);
        from[i] = column ? &column->strings() : nullptr;
        at[i] = column ? sources_[p * n + i].row : 0;
      }
      const size_t size = phase.end - phase.begin;
      if (phase.only != n) {
        const StringColumn* source = from[phase.only];
        if (source) {
          out.append_range(*source, at[phase.only], at[phase.only] + size);
        } else {
          out.resize(out.size() + size);
        }
        continue;
      }
      for (size_t k = 0; k < size; ++k) {
        const uint32_t i = sel[phase.begin + k];
        if (from[i]) {
          out.push_back_from(*from[i], at[i]++);
        } else {
          out.push_back(std::string_view());
        }
      }
    }
  }

  // The source of each row is picked by arithmetic on the two addresses: as a branch, the
  // pick would be mispredicted about every other row when the inputs alternate.
  template <class T>
  static void select_two(T* out, const uint32_t* sel, size_t rows, T* a, T* b) {
    for (size_t k = 0; k < rows; ++k) {
      const uintptr_t from_b = sel[k];
      const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
      T* value = reinterpret_cast<T*>(pa ^ ((pa ^ pb) & (0 - from_b)));
      out[k] = std::move(*value);
      a += 1 - from_b;
      b += from_b;
    }
  }

  template <class T>
  static void select_many(T* out, const uint32_t* sel, size_t rows, T** from, const size_t* step) {
    for (size_t k = 0; k < rows; ++k) {
      const uint32_t i = sel[k];
      out[k] = *from[i];
      from[i] += step[i];
    }
  }

  // Drops the batches whose ticks have all gone, keeping their vectors for the next output
  // batches: reused, they spare the allocator a batch's worth of memory per batch passed
  // on, and the page faults when it has returned that memory to the kernel.
  void drop_released() {
    for (size_t i = 0; i < inputs_.size(); ++i) {
      InputState& in = inputs_[i];
      Cursor& c = cursors_[i];
      if (in.pending.empty()) continue;
      const size_t done = c.batch + (c.row == in.pending[c.batch].size() ? 1 : 0);
      for (size_t k = 0; k < done; ++k) {
        in.pending_bytes -= in.pending_batch_bytes.front();
        recycle(in.pending.front());
        in.pending.pop_front();
        in.pending_batch_bytes.pop_front();
      }
      if (done > c.batch) c.row = 0;
      c.batch = 0;
      in.offset = c.row;
    }
  }

  // Per value type: the column pointers of gather_column and the spare vectors.
  template <class T>
  struct Typed {
    std::vector<T*> sources;
    std::vector<size_t> steps;  // 1, or 0 for an input lacking the field
    std::vector<std::vector<T>> spare;
    size_t per_batch = 0;  // vectors of this type in an output batch
  };

  template <class T>
  Typed<T>& typed() {
    return std::get<Typed<T>>(typed_);
  }

  // A spare vector for `rows` values, or an empty one. A small batch (the end of a release)
  // does not take a spare vector it would half waste: it gets a small one, which the
  // allocator finds among freed memory, and the spare vectors go to full batches, which
  // would otherwise take fresh memory (page faults) from the allocator.
  template <class T>
  std::vector<T> spare_vector(size_t rows) {
    std::vector<std::vector<T>>& spare = typed<T>().spare;
    if (spare.empty() || rows < spare.back().capacity() / 2) return {};
    std::vector<T> v = std::move(spare.back());
    spare.pop_back();
    return v;
  }

  // Enough spare vectors for two output batches; the rest, and vectors larger than output
  // batches need, are freed.
  void keep(StringColumn&) {}  // string columns are not kept: their slots are rebuilt
  template <class T>
  void keep(std::vector<T>& values) {
    Typed<T>& t = typed<T>();
    if (t.spare.size() < 2 * t.per_batch && values.capacity() <= 2 * batch_size_) {
      t.spare.push_back(std::move(values));
    }
  }

  void recycle(Batch& batch) {
    keep(batch.times);
    for (Column& column : batch.columns) {
      with_value_type(column.type(), [&]<class T>() { keep(column.values<T>()); });
    }
  }

  std::shared_ptr<const MergeLayout> layout_;
  size_t batch_size_;
  std::vector<InputState> inputs_;
  // Scratch space of release(), kept to avoid allocating per call.
  std::vector<size_t> take_;
  std::vector<Cursor> cursors_;
  std::vector<uint32_t> selector_;  // per released tick, the input it comes from
  std::vector<Phase> phases_;
  std::vector<Source> sources_;  // phases_.size() x inputs
  std::tuple<Typed<int64_t>, Typed<double>, Typed<uint8_t>> typed_;
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
  return [shared](const RunContext& run) -> std::unique_ptr<Operator> {
    return std::make_unique<MergeOperator>(shared, run.batch_size);
  };
}

// Shown by `tickflow eps merge` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample merge_example() {
  return {.query = R"~(# Trades and quotes in one time-ordered stream; missing fields get defaults.
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
  both:
    ep: merge
    in: [trades, quotes]
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE,BID,ASK
2024-01-02 09:29:59.000000000,AAPL,nan,0,185.2,185.3
2024-01-02 09:30:00.000000000,AAPL,185.25,100,nan,nan
2024-01-02 09:30:10.000000000,MSFT,nan,0,370.4,370.6
2024-01-02 09:30:20.000000000,MSFT,370.5,300,nan,nan
2024-01-02 09:30:30.000000000,AAPL,nan,0,185.4,185.5
2024-01-02 09:30:40.000000000,AAPL,185.5,200,nan,nan
)~"};
}

}  // namespace

void register_merge(Registry& registry) {
  EpDefinition def;
  def.name = "merge";
  def.example = merge_example();
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
