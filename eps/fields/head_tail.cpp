// `head` and `tail`: the first or last n ticks of a stream, optionally per group.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/group_keys.hpp"
#include "tickflow/row_selector.hpp"
#include "tickflow/rows.hpp"

namespace tickflow::eps {
namespace {

// Memory of `rows` of `batch` as Column::bytes counts it, without walking the whole batch.
int64_t rows_bytes(const Batch& batch, const std::vector<RowIndex>& rows) {
  int64_t per_row = sizeof(int64_t);
  int64_t string_payload = 0;
  for (const auto& column : batch.columns) {
    with_value_type(column.type(), [&]<class T>() {
      if constexpr (std::is_same_v<T, std::string>) {
        per_row += sizeof(StringColumn::Slot);
        for (RowIndex r : rows) {
          // Short strings live inside their slot.
          const size_t size = column.strings()[r].size();
          if (size > StringColumn::kInlineBytes) string_payload += static_cast<int64_t>(size);
        }
      } else {
        per_row += sizeof(T);
      }
    });
  }
  return per_row * static_cast<int64_t>(rows.size()) + string_payload;
}

// ---------------------------------------------------------------- head

// The first n ticks (per group); the rest are dropped. RowSelectingOperator moves them.
class HeadOperator : public RowSelectingOperator {
 public:
  HeadOperator(int64_t n, std::vector<size_t> key_columns)
      : n_(n), groups_(std::move(key_columns)) {}

  // Without groups, once n ticks have passed the rest of the input is dropped: the engine
  // can stop the sources upstream (a head over a huge source ends at once). With groups, a
  // new group may still come.
  bool wants_input(size_t) const override { return groups_.grouped() || passed_ < n_; }

 private:
  void select(const Batch& batch, size_t rows, std::vector<uint8_t>& ports) override {
    if (!groups_.grouped()) {
      // Once n ticks have passed, the rest of the stream is dropped.
      const auto room = static_cast<size_t>(std::max<int64_t>(n_ - passed_, 0));
      const size_t take = std::min(rows, room);
      std::fill(ports.begin(), ports.begin() + static_cast<std::ptrdiff_t>(take), uint8_t{0});
      passed_ += static_cast<int64_t>(take);
      return;
    }
    groups_.assign(batch, group_of_row_);
    passed_per_group_.resize(groups_.group_count(), 0);
    for (size_t row = 0; row < rows; ++row) {
      int64_t& passed = passed_per_group_[group_of_row_[row]];
      if (passed < n_) {
        ++passed;
        ports[row] = 0;
      }
    }
  }

  int64_t n_;
  int64_t passed_ = 0;
  GroupKeys groups_;
  std::vector<int64_t> passed_per_group_;
  std::vector<RowIndex> group_of_row_;
};

// ---------------------------------------------------------------- tail

// Holds candidate ticks in arrival order in one columnar store. Each group remembers
// which stored rows are its last n; a row pushed out of its group's last n is marked
// dead, and the store is compacted once dead rows outnumber live ones, so memory stays
// within about twice the live ticks and each tick is moved a constant number of times
// on average. At finish the live rows are already in original order.
class TailOperator : public Operator {
 public:
  TailOperator(SchemaPtr schema, int64_t n, std::vector<size_t> key_columns, size_t batch_size)
      : n_(static_cast<size_t>(n)),
        groups_(std::move(key_columns)),
        schema_(schema),
        store_(schema),
        batch_size_(std::max<size_t>(1, batch_size)) {}

  void process(size_t, Batch&& batch, OutputSink&) override {
    if (batch.empty() || n_ == 0) return;
    groups_.assign(batch, group_of_row_);
    if (last_rows_.size() < groups_.group_count()) last_rows_.resize(groups_.group_count());

    // Rows that are followed by n rows of their group within this batch can never be in
    // the result, so they are not stored at all.
    later_in_batch_.resize(groups_.group_count(), 0);
    survivors_.clear();
    for (size_t row = batch.size(); row-- > 0;) {
      size_t& later = later_in_batch_[group_of_row_[row]];
      if (later < n_) {
        ++later;
        survivors_.push_back(static_cast<RowIndex>(row));
      }
    }
    // Reset only the groups this batch touched: with many groups and small batches a
    // full reset would cost O(groups) per batch.
    for (RowIndex group : group_of_row_) later_in_batch_[group] = 0;
    std::reverse(survivors_.begin(), survivors_.end());

    for (size_t i = 0; i < survivors_.size(); ++i) {
      const size_t stored = store_.size() + i;
      if (auto evicted = last_rows_[group_of_row_[survivors_[i]]].push(stored, n_)) {
        live_[*evicted] = 0;
        ++dead_;
        --live_count_;
      }
      ++live_count_;
    }
    store_bytes_ += rows_bytes(batch, survivors_);
    append_rows(store_, batch, survivors_.data(), survivors_.size(), /*move_strings=*/true);
    live_.resize(store_.size(), 1);

    if (dead_ > live_count_ && dead_ >= kMinDeadToCompact) compact();
  }

  void finish(OutputSink& out) override {
    compact();
    for (size_t begin = 0; begin < store_.size(); begin += batch_size_) {
      const size_t end = std::min(store_.size(), begin + batch_size_);
      if (begin == 0 && end == store_.size()) {
        out.emit(0, std::move(store_));
        break;
      }
      out.emit(0, store_.slice(begin, end));
    }
    store_ = Batch(schema_);
    live_.clear();
    last_rows_.clear();
    live_count_ = 0;
    store_bytes_ = 0;
  }

  Held held() const override { return {static_cast<int64_t>(live_count_), store_bytes_}; }

 private:
  static constexpr size_t kMinDeadToCompact = 1024;

  // The store rows of one group's last n ticks, as a ring once it is full.
  struct LastRows {
    std::vector<size_t> rows;
    size_t oldest = 0;

    // Records `row`; returns the row that dropped out of the last n, if any.
    std::optional<size_t> push(size_t row, size_t n) {
      if (rows.size() < n) {
        rows.push_back(row);
        return std::nullopt;
      }
      const size_t evicted = rows[oldest];
      rows[oldest] = row;
      oldest = (oldest + 1) % n;
      return evicted;
    }
  };

  void compact() {
    if (dead_ == 0) return;
    std::vector<size_t> new_index(store_.size());
    std::vector<RowIndex> kept;
    kept.reserve(live_count_);
    for (size_t row = 0; row < store_.size(); ++row) {
      new_index[row] = kept.size();
      if (live_[row]) kept.push_back(static_cast<RowIndex>(row));
    }
    for (auto& group : last_rows_) {
      for (auto& row : group.rows) row = new_index[row];
    }
    store_bytes_ = rows_bytes(store_, kept);
    store_ = gather_rows(store_, kept.data(), kept.size(), /*move_strings=*/true);
    live_.assign(store_.size(), 1);
    dead_ = 0;
  }

  size_t n_;
  GroupKeys groups_;
  SchemaPtr schema_;
  Batch store_;
  size_t batch_size_;
  std::vector<uint8_t> live_;
  size_t live_count_ = 0;
  size_t dead_ = 0;
  int64_t store_bytes_ = 0;
  std::vector<LastRows> last_rows_;
  std::vector<RowIndex> group_of_row_;
  std::vector<size_t> later_in_batch_;
  std::vector<RowIndex> survivors_;
};

// ---------------------------------------------------------------- binding

struct HeadTailOptions {
  int64_t n = 0;
  std::vector<size_t> key_columns;
};

// Reads `n` and `group_by`; false after reporting an error.
bool read_options(BindContext& ctx, HeadTailOptions& options) {
  bool ok = true;
  options.n = ctx.get_int("n");
  if (options.n < 0) {
    ctx.error(ctx.location("n"), "n must be >= 0, got " + std::to_string(options.n));
    ok = false;
  }
  ok = read_key_fields(ctx, options.key_columns) && ok;
  return ok;
}

OperatorFactory bind_head(BindContext& ctx) {
  HeadTailOptions options;
  if (!read_options(ctx, options)) return {};
  ctx.set_output(0, ctx.input(0).schema, ctx.input(0).time_ordered);
  return [options](const RunContext&) {
    return std::make_unique<HeadOperator>(options.n, options.key_columns);
  };
}

OperatorFactory bind_tail(BindContext& ctx) {
  HeadTailOptions options;
  if (!read_options(ctx, options)) return {};
  SchemaPtr schema = ctx.input(0).schema;
  ctx.set_output(0, schema, ctx.input(0).time_ordered);
  std::string bound = std::to_string(options.n) + " ticks";
  if (!options.key_columns.empty()) bound += " per group";
  ctx.set_accumulation(Accumulation::bounded(std::move(bound)));
  return [options, schema](const RunContext& run) {
    return std::make_unique<TailOperator>(schema, options.n, options.key_columns, run.batch_size);
  };
}

// Shown by `tickflow eps head` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample head_example() {
  return {.query = R"~(# Each symbol's first trade.
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
  first_per_symbol:
    ep: head
    in: trades
    n: 1
    group_by: [SYMBOL]
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:30:00.000000000,AAPL,185.25,100
2024-01-02 09:30:20.000000000,MSFT,370.5,300
)~"};
}

// Shown by `tickflow eps tail` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample tail_example() {
  return {.query = R"~(# The last two trades.
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
  last_two:
    ep: tail
    in: trades
    n: 2
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:31:10.000000000,AAPL,185,500
2024-01-02 09:31:30.000000000,MSFT,371,100
)~"};
}

}  // namespace

void register_head_tail(Registry& registry) {
  const ParamSpec n{
      .name = "n", .type = ParamType::Int, .required = true, .doc = "number of ticks (>= 0)"};
  const ParamSpec group_by{.name = "group_by",
                           .type = ParamType::FieldList,
                           .doc = "fields whose values form groups; n applies per group"};
  EpDefinition head;
  head.name = "head";
  head.example = head_example();
  head.doc =
      "Passes the first n ticks and drops the rest. With group_by, passes the first n ticks of "
      "each group (a group is a distinct combination of the group_by values), in input order.";
  head.inputs = {"in"};
  head.outputs = {"out"};
  head.params = {n, group_by};
  head.accumulation = "none";
  head.bind = bind_head;
  registry.add(std::move(head));

  EpDefinition tail;
  tail.name = "tail";
  tail.example = tail_example();
  tail.doc =
      "Emits the last n ticks when the input ends, in input order. With group_by, emits the last "
      "n ticks of each group, still in input order (not grouped together). Holds n ticks, or n "
      "ticks per group with group_by.";
  tail.inputs = {"in"};
  tail.outputs = {"out"};
  tail.params = {n, group_by};
  tail.accumulation = "bounded(n)";
  tail.bind = bind_tail;
  registry.add(std::move(tail));
}

}  // namespace tickflow::eps
