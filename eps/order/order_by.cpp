// `order_by`: the whole stream sorted by field values, stable. It must see every tick
// before it can emit the first, so it holds the stream (unbounded accumulation), and its
// output keeps the original TIMESTAMPs, so it is declared not time-ordered.
#include <algorithm>
#include <bit>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "combine/string_id_map.hpp"
#include "order/stable_sort.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/rows.hpp"

namespace tickflow::eps {
namespace {

class OrderByOperator : public Operator {
 public:
  OrderByOperator(SchemaPtr schema, std::vector<SortKey> keys, size_t batch_size)
      : schema_(std::move(schema)), keys_(std::move(keys)), batch_size_(batch_size) {
    // The sort runs on a store of the key columns only: key k's column becomes store
    // column k (TIMESTAMP stays the store's times).
    std::vector<Field> fields;
    for (const SortKey& key : keys_) {
      SortKey store_key = key;
      if (key.column) {
        store_key.column = fields.size();
        fields.push_back((*schema_)[*key.column]);
        key_columns_.push_back(*key.column);
      } else {
        needs_times_ = true;
      }
      store_keys_.push_back(store_key);
    }
    store_schema_ = make_schema(std::move(fields));
    dictionaries_.resize(schema_->size());
    for (size_t c = 0; c < schema_->size(); ++c) {
      const bool key = std::find(key_columns_.begin(), key_columns_.end(), c) != key_columns_.end();
      dictionaries_[c].used = (*schema_)[c].type == Type::String && !key;
    }
  }

  void process(size_t, Batch&& batch, OutputSink&) override {
    if (batch.empty()) return;
    std::vector<std::vector<uint32_t>> ids = hold_strings_as_ids(batch);
    held_ticks_ += static_cast<int64_t>(batch.size());
    held_bytes_ += static_cast<int64_t>(batch.bytes());
    for (const auto& column : ids) held_bytes_ += static_cast<int64_t>(column.size() * 4);
    held_.push_back(std::move(batch));
    held_ids_.push_back(std::move(ids));
  }

  // Sorts on a copy of the key columns only, then gathers each output batch straight from
  // the held batches: the other columns are read once, in sorted order, and never copied
  // into one big store first (that copy and its page faults cost as much as the sort).
  void finish(OutputSink& out) override {
    std::vector<Batch> held = std::move(held_);
    const std::vector<std::vector<std::vector<uint32_t>>> held_ids = std::move(held_ids_);
    held_ticks_ = held_bytes_ = 0;
    if (held.empty()) return;
    std::vector<RowIndex> starts;  // first global row of each held batch
    size_t total = 0;
    for (const Batch& batch : held) {
      starts.push_back(static_cast<RowIndex>(total));
      total += batch.size();
    }
    if (total > std::numeric_limits<RowIndex>::max()) {
      throw RuntimeError("order_by holds more than " +
                         std::to_string(std::numeric_limits<RowIndex>::max()) +
                         " ticks; split the stream first (for example by symbol)");
    }
    const Order sorted = sort(held, starts, total);
    const RowIndex* order = sorted.rows();
    // Global row -> held batch: a shift when every batch but the last has the same
    // power-of-two size (sources emit full batches), else a table of one entry per tick.
    const size_t first_size = held.front().size();
    const bool uniform = std::has_single_bit(first_size) &&
                         std::all_of(held.begin(), held.end() - 1,
                                     [&](const Batch& b) { return b.size() == first_size; });
    const int batch_shift = std::countr_zero(first_size);
    std::vector<uint32_t> batch_of;
    if (!uniform) {
      batch_of.resize(total);
      for (size_t b = 0; b < held.size(); ++b) {
        std::fill_n(batch_of.begin() + starts[b], held[b].size(), static_cast<uint32_t>(b));
      }
    }
    std::vector<std::pair<uint32_t, uint32_t>> at;  // (batch, row) of each output tick
    for (size_t begin = 0; begin < total; begin += batch_size_) {
      const size_t n = std::min(batch_size_, total - begin);
      at.resize(n);
      for (size_t i = 0; i < n; ++i) {
        const RowIndex g = order[begin + i];
        const uint32_t b = uniform ? g >> batch_shift : batch_of[g];
        at[i] = {b, g - starts[b]};
      }
      out.emit(0, gather(held, held_ids, at));
    }
  }
  Held held() const override { return {held_ticks_, held_bytes_}; }

 private:
  // Every string column but the keys is held as ids into a dictionary of its distinct
  // values while it has few (symbols, exchanges, sides): 4 bytes a tick instead of a 32-byte
  // std::string, whose memory costs more to fault in and to read back in sorted order than
  // the ids cost to find. A column with more distinct values keeps its strings from then on
  // (batches already held keep their ids).
  static constexpr size_t kMaxDictionary = 1 << 16;
  struct Dictionary {
    bool used = false;  // a string column that is not a key, with few distinct values so far
    StringIdMap ids;
    std::vector<std::string> values;  // by id
  };

  // The ids of `batch`'s dictionary columns (an empty vector for the others), whose strings
  // are released.
  std::vector<std::vector<uint32_t>> hold_strings_as_ids(Batch& batch) {
    std::vector<std::vector<uint32_t>> ids(batch.columns.size());
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      Dictionary& dictionary = dictionaries_[c];
      if (!dictionary.used) continue;
      const StringColumn& strings = batch.columns[c].strings();
      std::vector<uint32_t> column(strings.size());
      for (size_t row = 0; row < strings.size(); ++row) {
        bool added = false;
        column[row] = dictionary.ids.find_or_add(
            strings[row], static_cast<uint32_t>(dictionary.values.size()), added);
        if (added) dictionary.values.emplace_back(strings[row]);
      }
      if (dictionary.values.size() > kMaxDictionary) {
        dictionary.used = false;  // this batch and the next keep their strings
        continue;
      }
      ids[c] = std::move(column);
      StringColumn().swap(batch.columns[c].strings());
    }
    return ids;
  }

  // The order of the held ticks (global row numbers), as the sort leaves it.
  struct Order {
    std::vector<RowIndex> of_store;
    std::unique_ptr<RowIndex[]> of_bits;
    const RowIndex* rows() const { return of_bits ? of_bits.get() : of_store.data(); }
  };

  // One fixed-width key is encoded straight from the held batches (by the available
  // threads, each a share of the batches); otherwise the sort runs on a store of the key
  // columns.
  Order sort(const std::vector<Batch>& held, const std::vector<RowIndex>& starts,
             size_t total) const {
    const SortKey& first = keys_.front();
    const bool fixed_width = !first.column || (*schema_)[*first.column].type != Type::String;
    if (keys_.size() != 1 || !fixed_width) {
      return {stable_order(key_store(held, total), store_keys_), nullptr};
    }
    // Not zeroed: every key is written once, by the part that encodes its batch.
    std::unique_ptr<uint64_t[]> bits(new uint64_t[total]);
    const size_t parts = std::min(held.size(), available_threads());
    work_in_parts(parts, [&](size_t part) {
      for (size_t b = held.size() * part / parts; b < held.size() * (part + 1) / parts; ++b) {
        const Batch& batch = held[b];
        uint64_t* to = bits.get() + starts[b];
        if (first.column) {
          sort_bits_of_column(batch.columns[*first.column], first.descending, first.nan_first, to);
          continue;
        }
        for (size_t row = 0; row < batch.size(); ++row) {
          to[row] = sort_bits_of_time(batch.times[row], first.descending);
        }
      }
    });
    return {{}, stable_order_of_bits(bits.get(), total)};
  }

  // The key columns (and TIMESTAMP, when it is a key) of every held tick, in arrival
  // order, as one batch whose schema is store_schema_.
  Batch key_store(const std::vector<Batch>& held, size_t total) const {
    Batch store(store_schema_);
    if (needs_times_) store.times.reserve(total);
    for (auto& column : store.columns) column.reserve(total);
    for (const Batch& batch : held) {
      if (needs_times_)
        store.times.insert(store.times.end(), batch.times.begin(), batch.times.end());
      for (size_t k = 0; k < key_columns_.size(); ++k) {
        store.columns[k].append_range(batch.columns[key_columns_[k]], 0, batch.size());
      }
    }
    if (!needs_times_) store.times.resize(total);  // sized like the columns, never read
    return store;
  }

  // The ticks at `at` (held batch, row) as one batch. Strings held as ids are copied from
  // the dictionary; held short strings are copied (their bytes are inline; moving would
  // write to the held batch too), long ones moved: every held tick is gathered once.
  Batch gather(std::vector<Batch>& held,
               const std::vector<std::vector<std::vector<uint32_t>>>& held_ids,
               const std::vector<std::pair<uint32_t, uint32_t>>& at) {
    // Every read is a cache miss somewhere in what is held: the address of the read
    // kPrefetch rows ahead is requested early, so several misses are in flight at once.
    constexpr size_t kPrefetch = 16;
    const size_t n = at.size();
    Batch result(schema_);
    result.times.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetch < n) {
        const auto& ahead = at[i + kPrefetch];
        __builtin_prefetch(held[ahead.first].times.data() + ahead.second);
      }
      result.times[i] = held[at[i].first].times[at[i].second];
    }
    for (size_t c = 0; c < result.columns.size(); ++c) {
      Column& to = result.columns[c];
      auto take = [&](auto& target, auto values_of) {
        target.resize(n);
        for (size_t i = 0; i < n; ++i) {
          if (i + kPrefetch < n) {
            const auto& ahead = at[i + kPrefetch];
            __builtin_prefetch(values_of(held[ahead.first].columns[c]).data() + ahead.second);
          }
          target[i] = values_of(held[at[i].first].columns[c])[at[i].second];
        }
      };
      switch (to.type()) {
        case Type::Double:
          take(to.doubles(),
               [](Column& col) -> const std::vector<double>& { return col.doubles(); });
          break;
        case Type::Bool:
          take(to.bools(), [](Column& col) -> const std::vector<uint8_t>& { return col.bools(); });
          break;
        case Type::String: {
          auto& target = to.strings();
          target.resize(n);
          const std::vector<std::string>& values = dictionaries_[c].values;
          for (size_t i = 0; i < n; ++i) {
            const auto& [b, row] = at[i];
            if (const std::vector<uint32_t>& ids = held_ids[b][c]; !ids.empty()) {
              if (i + kPrefetch < n) {
                const auto& ahead = at[i + kPrefetch];
                const auto& ahead_ids = held_ids[ahead.first][c];
                if (!ahead_ids.empty()) __builtin_prefetch(ahead_ids.data() + ahead.second);
              }
              target.set(i, values[ids[row]]);
              continue;
            }
            if (i + kPrefetch < n) {
              const auto& ahead = at[i + kPrefetch];
              const auto& ahead_strings = held[ahead.first].columns[c].strings();
              if (!ahead_strings.empty()) __builtin_prefetch(ahead_strings.slots() + ahead.second);
            }
            target.set_from(i, held[b].columns[c].strings(), row);
          }
          break;
        }
        default:
          take(to.ints(), [](Column& col) -> const std::vector<int64_t>& { return col.ints(); });
      }
    }
    return result;
  }

  SchemaPtr schema_;
  std::vector<Batch> held_;  // as they arrived: no copying while ticks arrive
  // Per held batch and column: the ids of a dictionary column (its strings released), or
  // empty.
  std::vector<std::vector<std::vector<uint32_t>>> held_ids_;
  std::vector<Dictionary> dictionaries_;
  int64_t held_ticks_ = 0;
  std::vector<SortKey> keys_;
  std::vector<SortKey> store_keys_;  // keys_ in terms of the key store
  std::vector<size_t> key_columns_;  // input column of each store column
  SchemaPtr store_schema_;
  bool needs_times_ = false;
  size_t batch_size_;
  int64_t held_bytes_ = 0;
};

// Reads `by`: field names, each optionally prefixed with '-' for descending.
bool read_keys(BindContext& ctx, std::vector<SortKey>& keys) {
  const ConfigNode& by = *ctx.param("by");
  std::vector<const ConfigNode*> items;
  if (by.is_scalar()) {
    items.push_back(&by);
  } else if (by.is_sequence()) {
    for (const auto& item : by.items()) items.push_back(&item);
  } else {
    ctx.error(by.location(), "'by' must be a list of fields such as [PRICE, -SIZE], found a " +
                                 std::string(by.kind_name()));
    return false;
  }
  if (items.empty()) {
    ctx.error(by.location(), "'by' needs at least one field, such as [PRICE, -SIZE]");
    return false;
  }
  bool ok = true;
  std::set<std::string> seen;
  for (const ConfigNode* item : items) {
    if (!item->is_scalar()) {
      ctx.error(item->location(), "expected a field name (with '-' for descending), found a " +
                                      std::string(item->kind_name()));
      ok = false;
      continue;
    }
    std::string name = item->text();
    SortKey key;
    if (name.starts_with('-')) {
      key.descending = true;
      name.erase(0, 1);
    }
    if (!is_valid_name(name)) {
      ctx.error(item->location(), "'" + item->text() +
                                      "' is not a sort key: write a field name, with '-' "
                                      "in front for descending order (e.g. -SIZE)");
      ok = false;
      continue;
    }
    if (!seen.insert(name).second) {
      ctx.error(item->location(), "field " + name + " is listed twice in 'by'");
      ok = false;
      continue;
    }
    if (name != "TIMESTAMP") {
      auto index = ctx.require_field(0, name, item->location());
      if (!index) {
        ok = false;
        continue;
      }
      key.column = *index;
    }
    keys.push_back(key);
  }
  return ok;
}

OperatorFactory bind_order_by(BindContext& ctx) {
  std::vector<SortKey> keys;
  if (!read_keys(ctx, keys)) return {};
  // nan: where NaN goes among the numbers of a double key. `last` (the default, as in
  // pandas and SQL's NULLS LAST) whatever the direction; `first` whatever the direction;
  // `smallest` as OneTick: NaN below every number, so first ascending and last descending.
  const std::string nan = ctx.get_string("nan");
  if (nan != "last" && nan != "first" && nan != "smallest") {
    ctx.error(ctx.location("nan"), "nan: expected last, first or smallest, got '" + nan + "'");
    return {};
  }
  for (SortKey& key : keys) {
    key.nan_first = nan == "first" || (nan == "smallest" && !key.descending);
  }
  SchemaPtr schema = ctx.input(0).schema;
  ctx.set_output(0, schema, /*time_ordered=*/false);
  ctx.set_accumulation(Accumulation::unbounded());
  return [schema, keys](const RunContext& run) {
    return std::make_unique<OrderByOperator>(schema, keys, std::max<size_t>(1, run.batch_size));
  };
}

// Shown by `tickflow eps order_by` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample order_by_example() {
  return {.query = R"~(# Trades by size, largest first; equal sizes by price.
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
  by_size:
    ep: order_by
    in: trades
    by: [-SIZE, PRICE]
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:31:10.000000000,AAPL,185,500
2024-01-02 09:30:20.000000000,MSFT,370.5,300
2024-01-02 09:30:40.000000000,AAPL,185.5,200
2024-01-02 09:30:00.000000000,AAPL,185.25,100
2024-01-02 09:31:30.000000000,MSFT,371,100
)~"};
}

}  // namespace

void register_order_by(Registry& registry) {
  EpDefinition def;
  def.name = "order_by";
  def.example = order_by_example();
  def.doc =
      "Sorts the whole stream by `by` (e.g. [PRICE, -SIZE]: PRICE ascending, then SIZE "
      "descending; TIMESTAMP may be a key). Stable: ticks equal on every key keep their input "
      "order. Numbers compare by value, strings bytewise (UTF-8 code point order), false < true; "
      "NaN sorts after every number in both directions (nan: first puts it before, nan: "
      "smallest below every number as OneTick does). The output keeps the original "
      "TIMESTAMPs and is not time-ordered: EPs that need time order reject it unless "
      "update_timestamp restores order. Holds every tick until the input ends.";
  def.inputs = {"in"};
  def.outputs = {"out"};
  def.params = {
      {.name = "by",
       .type = ParamType::Any,
       .required = true,
       .doc = "sort keys: field names, '-' in front for descending"},
      {.name = "nan",
       .type = ParamType::String,
       .default_value = "last",
       .doc = "NaN of double keys: last or first in either direction, or smallest (below every "
              "number: first ascending, last descending, as OneTick)"}};
  def.accumulation = "unbounded";
  def.bind = bind_order_by;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
