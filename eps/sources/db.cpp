// The `db` source EP (SPEC §16): ticks of one table of a tick archive.
//
// In a run with symbols each symbol's run reads that symbol's partitions, day by day; the
// symbol field is then the run's SYMBOL and not a column. In a run without symbols every
// partition of a day is read and merged by time, equal times in load order (then symbol
// order), with the symbol field as an ordinary column. Only the days overlapping the range,
// the chunks whose time index overlaps it, and the columns in `fields` are read; a chunk's
// columns are decompressed in parallel.
#include <algorithm>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "tickflow/archive.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps {
namespace {

struct DbOptions {
  std::string db;
  std::string table;
  SchemaPtr output;
  // Output column j: index into `read_fields`, or -1 for the symbol field.
  std::vector<int> sources;
  std::vector<Field> read_fields;  // the stored fields to read, in output order
  bool with_symbols = false;
};

void parallel_parts(size_t parts, const std::function<void(size_t)>& body) {
  work_in_parts(parts, body);
}

// One partition being read: its reader and the chunk it is in. A partition read alone
// (`in_row_ranges`) has only its chunk's times here, the rows being decoded straight into
// the batches (PartitionReader::append_rows); partitions being merged are decoded whole.
struct Cursor {
  archive::PartitionReader reader;
  Batch chunk;
  bool in_row_ranges;
  size_t pos = 0;
  bool exhausted = false;

  Cursor(archive::PartitionReader r, SchemaPtr schema, bool row_ranges)
      : reader(std::move(r)), chunk(schema), in_row_ranges(row_ranges) {}

  // Makes sure a row is available; false at the end of the partition.
  bool ready() {
    while (!exhausted && pos >= chunk.size()) {
      pos = 0;
      const bool more = in_row_ranges ? reader.next_chunk_rows(chunk.times, parallel_parts)
                                      : reader.next_chunk(chunk, parallel_parts);
      if (!more) exhausted = true;
    }
    return !exhausted;
  }
  int64_t time() const { return chunk.times[pos]; }
  int64_t sequence() const { return reader.sequence()[pos]; }
};

class DbOperator : public Operator {
 public:
  DbOperator(std::shared_ptr<const DbOptions> options, const RunContext& run)
      : options_(std::move(options)),
        batch_size_(std::max<size_t>(1, run.batch_size)),
        lock_(options_->db, options_->table),
        read_schema_(make_schema(options_->read_fields)) {
    if (run.query) {
      start_ = run.query->range_start;
      end_ = run.query->range_end;
    }
    catalog_ = archive::read_catalog(options_->db, options_->table);
    int64_t total_ticks = 0;
    for (const auto& p : catalog_.partitions) {
      if (options_->with_symbols && p.symbol != run.symbol) continue;
      if (start_ && p.max_time < *start_) continue;
      if (end_ && p.min_time >= *end_) continue;
      if (days_.empty() || days_.back().front()->day != p.day) days_.emplace_back();
      days_.back().push_back(&p);
      total_ticks += p.ticks;
    }
    progress_ = run.progress;
    if (progress_) progress_->set_total(total_ticks);
  }

  bool produce(OutputSink& out) override {
    const bool more = produce_batch(out);
    // The range may leave rows of the last partitions unread: the source is done.
    if (progress_ && !more) progress_->set_done(progress_->total());
    return more;
  }

  std::vector<std::pair<std::string, int64_t>> counters() const override {
    int64_t chunks = chunks_read_;
    for (const Cursor& c : cursors_) chunks += c.reader.chunks_read();
    return {
        {"partitions_read", partitions_read_},
        {"chunks_read", chunks},
        {"columns_read", partitions_read_ * static_cast<int64_t>(options_->read_fields.size())}};
  }

 private:
  bool produce_batch(OutputSink& out) {
    while (true) {
      if (cursors_.empty() && !open_next_day()) return false;
      Batch batch(options_->output);
      if (cursors_.size() == 1) {
        Cursor& c = cursors_.front();
        if (!c.ready()) {
          if (!open_next_day()) return false;
          continue;
        }
        const size_t n = std::min(batch_size_, c.chunk.size() - c.pos);
        append_run(batch, c, n);
      } else {
        merge_into(batch);
        if (batch.empty()) {
          if (!open_next_day()) return false;
          continue;
        }
      }
      if (progress_) progress_->add_done(static_cast<int64_t>(batch.size()));
      out.emit(0, std::move(batch));
      return true;
    }
  }

  bool open_next_day() {
    for (const Cursor& c : cursors_) chunks_read_ += c.reader.chunks_read();
    cursors_.clear();
    if (next_day_ >= days_.size()) return false;
    const bool merging = days_[next_day_].size() > 1;
    for (const archive::PartitionInfo* p : days_[next_day_]) {
      cursors_.emplace_back(
          archive::PartitionReader(catalog_, *p, options_->read_fields, merging, start_, end_),
          read_schema_, !merging);
      ++partitions_read_;
    }
    ++next_day_;
    return true;
  }

  // Appends the next n rows of cursor `c` to `batch`.
  void append_run(Batch& batch, Cursor& c, size_t n) {
    const size_t begin = c.pos, end = c.pos + n;
    batch.times.insert(batch.times.end(), c.chunk.times.begin() + static_cast<ptrdiff_t>(begin),
                       c.chunk.times.begin() + static_cast<ptrdiff_t>(end));
    for (size_t j = 0; j < options_->sources.size(); ++j) {
      const int source = options_->sources[j];
      if (source < 0) {
        auto& symbols = batch.columns[j].strings();
        symbols.append_repeated(c.reader.partition().symbol, n);
      } else {
        c.reader.append_rows(static_cast<size_t>(source), begin, end, batch.columns[j]);
      }
    }
    c.pos = end;
  }

  // A partition's next tick in the merge: its key is copied into the heap entry, so that
  // comparing two entries reads no cursor. Partitions of a day are in symbol order, which
  // breaks ties of (time, sequence).
  struct Head {
    int64_t time;
    int64_t sequence;
    size_t cursor;
    bool after(const Head& other) const {
      if (time != other.time) return time > other.time;
      if (sequence != other.sequence) return sequence > other.sequence;
      return cursor > other.cursor;
    }
  };

  Head head_of(size_t i) const {
    const Cursor& c = cursors_[i];
    return {c.time(), c.sequence(), i};
  }

  // Restores the heap (earliest at the front) after its front entry was replaced.
  void sift_down_front() {
    const size_t n = heap_.size();
    const Head item = heap_[0];
    size_t at = 0;
    for (;;) {
      size_t child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && heap_[child].after(heap_[child + 1])) ++child;
      if (!item.after(heap_[child])) break;
      heap_[at] = heap_[child];
      at = child;
    }
    heap_[at] = item;
  }

  // Fills `batch` with up to batch_size ticks of the day's partitions in (time, load
  // sequence, partition) order: first the order (which partition, which row) from a heap of
  // the partitions' next ticks, then each column gathered in one typed loop from each
  // partition's chunk. Stops where a partition's chunk ends, so that no chunk is replaced
  // while rows of it are still to come.
  void merge_into(Batch& batch) {
    heap_.clear();
    for (size_t i = 0; i < cursors_.size(); ++i) {
      if (cursors_[i].ready()) heap_.push_back(head_of(i));
    }
    std::make_heap(heap_.begin(), heap_.end(),
                   [](const Head& a, const Head& b) { return a.after(b); });
    picks_.clear();
    while (!heap_.empty() && picks_.size() < batch_size_) {
      const size_t i = heap_.front().cursor;
      Cursor& c = cursors_[i];
      picks_.push_back({i, c.pos});
      if (++c.pos == c.chunk.size()) break;
      heap_.front() = head_of(i);
      sift_down_front();
    }
    const size_t n = picks_.size();
    std::vector<const int64_t*> times(cursors_.size());
    for (size_t i = 0; i < cursors_.size(); ++i) times[i] = cursors_[i].chunk.times.data();
    batch.times.resize(n);
    for (size_t k = 0; k < n; ++k) batch.times[k] = times[picks_[k].first][picks_[k].second];
    for (size_t j = 0; j < options_->sources.size(); ++j) {
      const int source = options_->sources[j];
      if (source < 0) {
        auto& symbols = batch.columns[j].strings();
        for (const auto& [cursor, row] : picks_) {
          symbols.push_back(cursors_[cursor].reader.partition().symbol);
        }
        continue;
      }
      with_value_type(batch.columns[j].type(), [&]<class T>() {
        if constexpr (std::is_same_v<T, std::string>) {
          auto& out = batch.columns[j].strings();
          out.reserve(out.size() + n);
          for (const auto& [cursor, row] : picks_) {
            out.push_back_from(
                cursors_[cursor].chunk.columns[static_cast<size_t>(source)].strings(), row);
          }
        } else {
          // Each partition's values of this column, so that a pick is one indexed read.
          std::vector<T*> values(cursors_.size());
          for (size_t i = 0; i < cursors_.size(); ++i) {
            values[i] =
                cursors_[i].chunk.columns[static_cast<size_t>(source)].template values<T>().data();
          }
          auto& out = batch.columns[j].template values<T>();
          out.resize(n);
          for (size_t k = 0; k < n; ++k)
            out[k] = std::move(values[picks_[k].first][picks_[k].second]);
        }
      });
    }
  }

  std::shared_ptr<const DbOptions> options_;
  size_t batch_size_;
  archive::ReaderLock lock_;  // held while this run reads
  SchemaPtr read_schema_;
  archive::TableCatalog catalog_;
  SourceProgress* progress_ = nullptr;
  std::optional<int64_t> start_, end_;
  std::vector<std::vector<const archive::PartitionInfo*>> days_;
  size_t next_day_ = 0;
  std::vector<Cursor> cursors_;
  int64_t partitions_read_ = 0;
  int64_t chunks_read_ = 0;                       // by the partitions already closed
  std::vector<Head> heap_;                        // merge: cursors with ticks left
  std::vector<std::pair<size_t, size_t>> picks_;  // merge: (cursor, row) in output order
};

OperatorFactory bind_db(BindContext& ctx) {
  auto options = std::make_shared<DbOptions>();
  options->db = ctx.resolve_path(ctx.get_string("path"));
  options->table = ctx.get_string("table");
  options->with_symbols = !ctx.query().symbols.empty();
  archive::TableCatalog catalog;
  try {
    catalog = archive::read_catalog(options->db, options->table);
  } catch (const RuntimeError& e) {
    std::string message = e.message();
    if (archive::table_exists(options->db, options->table) || !ctx.has("table")) {
      ctx.error(ctx.location("path"), message, ErrorKind::Data);
      return {};
    }
    try {
      message += did_you_mean(options->table, archive::list_tables(options->db));
      ctx.error(ctx.location("table"), message, ErrorKind::Data);
    } catch (const RuntimeError&) {
      ctx.error(ctx.location("path"), message, ErrorKind::Data);
    }
    return {};
  }
  const Schema& table_schema = catalog.schema;
  std::vector<std::string> wanted;
  if (ctx.has("fields")) {
    const auto items = list_items(ctx.param("fields"));
    const auto names = ctx.get_list("fields");
    for (size_t i = 0; i < names.size(); ++i) {
      const Location where = i < items.size() ? items[i]->location() : ctx.location("fields");
      if (!table_schema.contains(names[i])) {
        ctx.error(where, "table '" + options->table + "' has no field '" + names[i] + "'" +
                             did_you_mean(names[i], table_schema.names()));
      } else if (std::find(wanted.begin(), wanted.end(), names[i]) != wanted.end()) {
        ctx.error(where, "field '" + names[i] + "' is listed twice");
      } else {
        wanted.push_back(names[i]);
      }
    }
    if (ctx.has_errors()) return {};
  } else {
    wanted = table_schema.names();
  }
  // A field the rest of the query does not use is not read (BindContext::fields_used).
  if (const std::vector<std::string>* used = ctx.fields_used(0)) {
    std::erase_if(wanted, [&](const std::string& name) {
      return std::find(used->begin(), used->end(), name) == used->end();
    });
  }
  std::vector<Field> output;
  for (const auto& name : wanted) {
    const Field& field = table_schema[*table_schema.index_of(name)];
    if (name == catalog.symbol_field) {
      // In a run with symbols, the symbol is the run's SYMBOL, not a column.
      if (options->with_symbols) continue;
      options->sources.push_back(-1);
    } else {
      options->sources.push_back(static_cast<int>(options->read_fields.size()));
      options->read_fields.push_back(field);
    }
    output.push_back(field);
  }
  options->output = make_schema(std::move(output));
  ctx.set_output(0, options->output, true);
  return [options = std::shared_ptr<const DbOptions>(options)](const RunContext& run) {
    return std::unique_ptr<Operator>(std::make_unique<DbOperator>(options, run));
  };
}

// Shown by `tickflow eps db` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample db_example() {
  return {.query = R"~(# AAPL's trades of one minute from an archive, reading only the PRICE column.
tickflow: 1
symbols: [AAPL]
range: {start: "2024-01-02 09:30:00", end: "2024-01-02 09:31:00"}
nodes:
  trades:
    ep: db
    path: archive
    table: trades
    fields: [PRICE]
)~",
          .files = {{"trades.csv", R"~(SYMBOL,TIMESTAMP,PRICE,SIZE
AAPL,2024-01-02 09:30:00,185.25,100
MSFT,2024-01-02 09:30:20,370.5,300
AAPL,2024-01-02 09:30:40,185.5,200
)~"}},
          .setup = "load trades.csv --db archive --table trades",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE
2024-01-02 09:30:00.000000000,AAPL,185.25
2024-01-02 09:30:40.000000000,AAPL,185.5
)~"};
}

}  // namespace

void register_db(Registry& registry) {
  EpDefinition def;
  def.name = "db";
  def.example = db_example();
  def.doc =
      "Ticks of a table of a tick archive written by `tickflow load` (docs/archive.md), exactly "
      "as loaded and in time order (equal times in load order). In a run with symbols each "
      "symbol reads its own partitions and the table's symbol field is the run's SYMBOL; "
      "without symbols every symbol is read, merged by time, with the symbol field as a "
      "column. Only the days and chunks overlapping the query range and the columns in "
      "`fields` that the query uses are read. A damaged archive file is an error naming the file "
      "and chunk.";
  def.inputs = {};
  def.outputs = {"out"};
  def.params = {
      {.name = "path",
       .type = ParamType::String,
       .required = true,
       .doc = "archive directory (relative to the query file)"},
      {.name = "table", .type = ParamType::String, .required = true, .doc = "table name"},
      {.name = "fields",
       .type = ParamType::FieldList,
       .doc = "fields to read, in this order (default: every field of the table)"},
  };
  def.accumulation = "none";
  def.bind = bind_db;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
