#include "sources/table_source.hpp"

#include <algorithm>

#include "tickflow/time.hpp"

namespace tickflow::eps {

TickTable::TickTable(std::string name, SchemaPtr schema, std::vector<int64_t> times,
                     std::vector<Column> columns)
    : name_(std::move(name)),
      schema_(std::move(schema)),
      times_(std::move(times)),
      columns_(std::move(columns)) {}

const std::vector<size_t>& TickTable::rows_of(const std::string& symbol) const {
  std::call_once(index_once_, [this] {
    auto column = schema_->index_of("SYMBOL");
    if (!column || (*schema_)[*column].type != Type::String) return;
    const auto& symbols = columns_[*column].strings();
    std::vector<size_t>* rows = nullptr;
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (!rows || !symbols.equal(i, symbols, i - 1)) {
        rows = &rows_by_symbol_[std::string(symbols[i])];
      }
      rows->push_back(i);
    }
  });
  static const std::vector<size_t> kNone;
  auto it = rows_by_symbol_.find(symbol);
  return it == rows_by_symbol_.end() ? kNone : it->second;
}

namespace {

// Emits a table's rows (all of them, or one symbol's) in batches of the run's batch size.
class TableSourceOperator final : public Operator {
 public:
  TableSourceOperator(std::shared_ptr<const TickTable> table, SchemaPtr schema,
                      std::vector<size_t> columns, const RunContext& run, bool by_symbol)
      : table_(std::move(table)),
        schema_(std::move(schema)),
        columns_(std::move(columns)),
        batch_size_(std::max<size_t>(1, run.batch_size)),
        symbol_(run.symbol),
        by_symbol_(by_symbol) {
    if (run.query) {
      range_start_ = run.query->range_start;
      range_end_ = run.query->range_end;
    }
  }

  bool produce(OutputSink& out) override {
    if (!started_) start();
    if (next_ >= end_) return false;
    const size_t stop = std::min(end_, next_ + batch_size_);
    Batch batch(schema_);
    batch.reserve(stop - next_);
    if (rows_) {
      for (size_t k = next_; k < stop; ++k) batch.times.push_back(table_->times()[(*rows_)[k]]);
      for (size_t c = 0; c < columns_.size(); ++c) {
        const Column& from = table_->columns()[columns_[c]];
        for (size_t k = next_; k < stop; ++k) batch.columns[c].append_from(from, (*rows_)[k]);
      }
    } else {
      batch.times.assign(table_->times().begin() + static_cast<ptrdiff_t>(next_),
                         table_->times().begin() + static_cast<ptrdiff_t>(stop));
      for (size_t c = 0; c < columns_.size(); ++c) {
        batch.columns[c].append_range(table_->columns()[columns_[c]], next_, stop);
      }
    }
    next_ = stop;
    out.emit(0, std::move(batch));
    return next_ < end_;
  }

 private:
  size_t count() const { return rows_ ? rows_->size() : table_->size(); }
  size_t row(size_t k) const { return rows_ ? (*rows_)[k] : k; }
  int64_t time(size_t k) const { return table_->times()[row(k)]; }

  // Checks the time order of the selected rows, then limits them to the range.
  void start() {
    started_ = true;
    if (by_symbol_) rows_ = &table_->rows_of(symbol_);
    const size_t n = count();
    for (size_t k = 1; k < n; ++k) {
      if (time(k) < time(k - 1)) {
        RuntimeError error(table_->name() + " row " + std::to_string(row(k)) + ": TIMESTAMP " +
                           format_time(time(k)) + " is earlier than row " +
                           std::to_string(row(k - 1)) + "'s " + format_time(time(k - 1)) +
                           (by_symbol_ ? " of the same symbol" : "") +
                           "; input must be in time order and is never reordered (sort it "
                           "first, e.g. df.sort_values('TIMESTAMP', kind='stable'))");
        error.tick_time = time(k);
        throw error;
      }
    }
    auto first_not_before = [&](int64_t t) {
      size_t lo = 0, hi = n;
      while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (time(mid) < t) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      return lo;
    };
    next_ = range_start_ ? first_not_before(*range_start_) : 0;
    end_ = range_end_ ? first_not_before(*range_end_) : n;
  }

  std::shared_ptr<const TickTable> table_;
  SchemaPtr schema_;
  std::vector<size_t> columns_;  // table column of each output field
  size_t batch_size_;
  std::string symbol_;
  bool by_symbol_;
  std::optional<int64_t> range_start_, range_end_;
  const std::vector<size_t>* rows_ = nullptr;  // the symbol's rows; null: every row
  bool started_ = false;
  size_t next_ = 0, end_ = 0;
};

}  // namespace

EpDefinition make_table_source(std::string name, std::string doc, std::string data_doc,
                               TickTableLookup lookup) {
  EpDefinition def;
  def.name = std::move(name);
  def.doc = std::move(doc);
  def.inputs = {};
  def.outputs = {"out"};
  def.params = {
      {.name = "data", .type = ParamType::String, .required = true, .doc = std::move(data_doc)}};
  def.accumulation = "none";
  def.bind = [lookup = std::move(lookup)](BindContext& ctx) -> OperatorFactory {
    const std::string handle = ctx.get_string("data");
    std::shared_ptr<const TickTable> table = lookup(handle);
    if (!table) {
      ctx.error(ctx.location("data"), "no table '" + handle + "' is known here");
      return {};
    }
    // In a run with symbols the SYMBOL column selects rows and is not part of the output.
    const bool run_has_symbols = !ctx.query().symbols.empty();
    const auto symbol_column = table->schema()->index_of("SYMBOL");
    if (run_has_symbols && symbol_column &&
        (*table->schema())[*symbol_column].type != Type::String) {
      ctx.error(ctx.location("data"), table->name() +
                                          ": column SYMBOL selects each symbol's rows in a run "
                                          "with symbols, so it must hold strings");
      return {};
    }
    const bool by_symbol = run_has_symbols && symbol_column.has_value();
    std::vector<Field> fields;
    std::vector<size_t> columns;
    for (size_t c = 0; c < table->schema()->size(); ++c) {
      if (by_symbol && c == *symbol_column) continue;
      fields.push_back((*table->schema())[c]);
      columns.push_back(c);
    }
    SchemaPtr schema = make_schema(std::move(fields));
    ctx.set_output(0, schema, true);
    return [table, schema, columns, by_symbol](const RunContext& run) {
      return std::make_unique<TableSourceOperator>(table, schema, columns, run, by_symbol);
    };
  };
  return def;
}

}  // namespace tickflow::eps
