// The `csv` source EP (SPEC §4 Sources, §11 CSV input): reads ticks from a CSV file
// whose header names the fields. The schema is fixed at load time from the header and
// the first rows; the run then streams the file in chunks.
#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "builtin.hpp"
#include "sources/csv_parallel.hpp"
#include "sources/csv_reader.hpp"
#include "sources/field_types.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps {

namespace {

constexpr size_t kInferenceRows = 1000;
constexpr std::string_view kSymbolPlaceholder = "{symbol}";

struct CsvSourceConfig {
  std::string path;  // resolved; may hold {symbol}
  bool path_per_symbol = false;
  char delimiter = ',';
  csv::TimeFormat time_format = csv::TimeFormat::Auto;
  TimeZone time_zone;  // the query's: times without an offset are read in it
  bool skip_bad_rows = false;
  // parse: whether a file is parsed in pieces on several threads.
  enum class Parse { Auto, Pieces, OneThread } parse = Parse::Auto;
  std::string bind_path;  // the file the layout was read from
  csv::CsvLayout layout;
};

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// A file with a symbol column shared by every symbol of the run (no {symbol} in the
// path): the first run to need it reads the whole file once and splits its rows by
// symbol; each run then takes its own symbol's ticks. Memory: the file's ticks for the
// run's symbols, freed as each symbol's run takes them.
class SharedSymbolFile {
 public:
  SharedSymbolFile(std::shared_ptr<const CsvSourceConfig> config,
                   const std::vector<std::string>& symbols, const QueryInfo& query)
      : config_(std::move(config)),
        range_start_(query.range_start),
        range_end_(query.range_end),
        size_(csv::input_size(config_->path)) {
    for (const auto& symbol : symbols) per_symbol_[symbol];
  }

  // Progress of the shared read, which every symbol's run waits for: the file's size (-1
  // when unknown) and the bytes read so far.
  int64_t size() const { return size_; }
  const std::atomic<int64_t>& bytes_read() const { return bytes_read_; }

  // The ticks of `symbol` in batches; the error of the shared read for every caller.
  // `skipped_rows` gets the rows skipped by the read for its first caller only, so
  // summing stats over symbols counts them once.
  std::deque<Batch> take(const std::string& symbol, int64_t& skipped_rows) {
    std::lock_guard lock(mutex_);
    if (!loaded_) load();
    if (error_) throw *error_;
    skipped_rows = skipped_reported_ ? 0 : skipped_rows_;
    skipped_reported_ = true;
    return std::move(per_symbol_[symbol]);
  }

 private:
  static constexpr size_t kRowsPerBatch = 1 << 16;

  void load() {
    loaded_ = true;
    try {
      csv::RecordReader reader(
          csv::open_input(
              config_->path, csv::InputUse::Ticks,
              [this](int64_t n) { bytes_read_.fetch_add(n, std::memory_order_relaxed); }),
          csv::input_name(config_->path), config_->delimiter);
      const auto header = csv::read_header(reader);
      if (header != config_->layout.header) {
        throw RuntimeError("the header of " + config_->path + " changed since load time",
                           Location{config_->path, reader.line(), 1});
      }
      csv::TickReaderOptions options;
      options.time_format = config_->time_format;
      options.time_zone = config_->time_zone;
      options.skip_bad_rows = config_->skip_bad_rows;
      options.range_start = range_start_;
      options.range_end = range_end_;
      std::string last_symbol;
      std::deque<Batch>* last_list = nullptr;
      options.route_by_symbol = [&](std::string_view symbol) -> Batch* {
        if (!last_list || symbol != last_symbol) {
          auto it = per_symbol_.find(std::string(symbol));
          if (it == per_symbol_.end()) return nullptr;  // not a symbol of this run
          last_symbol = symbol;
          last_list = &it->second;
        }
        if (last_list->empty() || last_list->back().size() >= kRowsPerBatch) {
          last_list->emplace_back(config_->layout.schema);
        }
        return &last_list->back();
      };
      csv::TickReader ticks(reader, config_->layout, std::move(options));
      Batch unused(config_->layout.schema);
      while (ticks.read(unused, SIZE_MAX)) {
      }
      skipped_rows_ = ticks.skipped_rows();
    } catch (const RuntimeError& e) {
      error_ = e;
      per_symbol_.clear();
    }
  }

  std::shared_ptr<const CsvSourceConfig> config_;
  std::optional<int64_t> range_start_, range_end_;
  int64_t size_;
  std::atomic<int64_t> bytes_read_{0};
  std::mutex mutex_;
  bool loaded_ = false;
  std::optional<RuntimeError> error_;
  std::unordered_map<std::string, std::deque<Batch>> per_symbol_;
  int64_t skipped_rows_ = 0;
  bool skipped_reported_ = false;
};

// Emits one symbol's ticks from a SharedSymbolFile in batches of the run's batch size.
class SharedFileOperator : public Operator {
 public:
  SharedFileOperator(std::shared_ptr<SharedSymbolFile> file, const RunContext& run,
                     bool count_skipped)
      : file_(std::move(file)), run_(run), count_skipped_(count_skipped) {}

  bool produce(OutputSink& out) override {
    if (!taken_) {
      // While the first run to need the file reads it, every run shows that read's progress.
      SourceProgress* progress = run_.progress;
      const bool follows = progress != nullptr && file_->size() >= 0;
      if (follows) {
        progress->set_total(file_->size());
        progress->follow(&file_->bytes_read());
      }
      pending_ = file_->take(run_.symbol, skipped_rows_);
      taken_ = true;
      if (follows) {
        progress->follow(nullptr);
        progress->set_done(file_->size());
      }
    }
    const size_t limit = std::max<size_t>(run_.batch_size, 1);
    while (!pending_.empty()) {
      Batch& front = pending_.front();
      if (offset_ >= front.size()) {
        pending_.pop_front();
        offset_ = 0;
        continue;
      }
      size_t end = std::min(front.size(), offset_ + limit);
      out.emit(0, front.slice(offset_, end));
      offset_ = end;
      return true;
    }
    return false;
  }

  // The ticks waiting here are input not yet emitted, like the unread rest of a file, so
  // they show as bytes held but do not count against --max-accumulated-ticks.
  Held held() const override {
    Held h;
    for (const auto& b : pending_) h.bytes += static_cast<int64_t>(b.bytes());
    return h;
  }

  std::vector<std::pair<std::string, int64_t>> counters() const override {
    if (!count_skipped_) return {};
    return {{"skipped_rows", skipped_rows_}};
  }

 private:
  std::shared_ptr<SharedSymbolFile> file_;
  RunContext run_;
  bool count_skipped_;
  bool taken_ = false;
  std::deque<Batch> pending_;
  size_t offset_ = 0;
  int64_t skipped_rows_ = 0;
};

class CsvSourceOperator : public Operator {
 public:
  CsvSourceOperator(std::shared_ptr<const CsvSourceConfig> config, const RunContext& run)
      : config_(std::move(config)), run_(run) {}

  bool produce(OutputSink& out) override {
    if (!ticks_ && !parallel_ticks_) open();
    Batch batch(config_->layout.schema);
    const size_t limit = std::max<size_t>(run_.batch_size, 1);
    bool more;
    if (parallel_ticks_) {
      more = parallel_ticks_->read(batch, limit);
    } else {
      batch.reserve(std::min<size_t>(limit, 1 << 16));
      more = ticks_->read(batch, limit);
    }
    if (!batch.empty()) out.emit(0, std::move(batch));
    return more;
  }

  std::vector<std::pair<std::string, int64_t>> counters() const override {
    if (!config_->skip_bad_rows) return {};
    return {{"skipped_rows", parallel_ticks_ ? parallel_ticks_->skipped_rows()
                             : ticks_        ? ticks_->skipped_rows()
                                             : 0}};
  }

 private:
  // Opening at the first produce call rather than in the constructor keeps file errors
  // inside the run, where they are reported with the node and symbol.
  void open() {
    const std::string path = config_->path_per_symbol
                                 ? replace_all(config_->path, kSymbolPlaceholder, run_.symbol)
                                 : config_->path;
    // Progress is the share of the file read (its compressed bytes, for a compressed file);
    // standard input has no size known in advance.
    std::function<void(int64_t)> on_read;
    const int64_t size = csv::input_size(path);
    if (SourceProgress* progress = run_.progress; progress != nullptr && size >= 0) {
      progress->set_total(size);
      on_read = [progress](int64_t n) { progress->add_done(n); };
    }
    reader_ = std::make_unique<csv::RecordReader>(
        csv::open_input(path, csv::InputUse::Ticks, std::move(on_read)), csv::input_name(path),
        config_->delimiter);
    const auto header = csv::read_header(*reader_);
    if (header != config_->layout.header) {
      throw RuntimeError("the header of " + path + " (" + join_names(header) +
                             ") differs from the one read at load time from " + config_->bind_path +
                             " (" + join_names(config_->layout.header) + ")",
                         Location{path, reader_->line(), 1});
    }
    csv::TickReaderOptions options;
    options.time_format = config_->time_format;
    options.time_zone = config_->time_zone;
    options.skip_bad_rows = config_->skip_bad_rows;
    // A per-symbol file holds only its symbol's rows; its symbol column is just dropped.
    if (config_->layout.symbol_column && !config_->path_per_symbol && !run_.symbol.empty()) {
      options.symbol = run_.symbol;
    }
    if (run_.query) {
      options.range_start = run_.query->range_start;
      options.range_end = run_.query->range_end;
    }
    // A file (not a pipe, whose lines are read as they come) of a few windows or more is
    // parsed in pieces on the run's threads when it has two or more; the result is the same
    // either way. On 2 cores this takes less wall and less CPU time than one thread's parse
    // beside the rest of the graph (reading 10M trades, every tick dropped: 0.85 s -> 0.64 s;
    // filter + map + write 0.92 s -> 0.71 s; docs/performance.md). A smaller file is read on
    // the run's thread: its whole read takes milliseconds.
    csv::ParallelReadOptions parallel;
    const size_t threads = available_threads();
    parallel.pieces = 2 * threads;
    const int64_t window = static_cast<int64_t>(parallel.pieces * parallel.piece_bytes);
    using Parse = CsvSourceConfig::Parse;
    const bool pieces = config_->parse == Parse::Pieces ||
                        (config_->parse == Parse::Auto && threads >= 2 && size >= 2 * window);
    if (pieces && threads > 1 && size >= 0) {
      parallel.parallel = [](size_t parts, const std::function<void(size_t)>& body) {
        work_in_parts(parts, body);
      };
      parallel.batch_size = std::max<size_t>(run_.batch_size, 1);
      parallel.read_ahead = true;
      parallel_ticks_ = std::make_unique<csv::ParallelTickReader>(*reader_, config_->layout,
                                                                  std::move(options), parallel);
      return;
    }
    ticks_ = std::make_unique<csv::TickReader>(*reader_, config_->layout, std::move(options));
  }

  std::shared_ptr<const CsvSourceConfig> config_;
  RunContext run_;
  std::unique_ptr<csv::RecordReader> reader_;
  std::unique_ptr<csv::TickReader> ticks_;                   // read on the run's thread
  std::unique_ptr<csv::ParallelTickReader> parallel_ticks_;  // or in pieces on several
};

// Parameters that need no file. Reports every problem; false when any was found.
bool read_options(BindContext& ctx, CsvSourceConfig& config) {
  bool ok = true;

  std::string delimiter = ctx.get_string("delimiter");
  if (delimiter == "\\t" || delimiter == "tab") delimiter = "\t";
  if (delimiter.size() != 1 || delimiter[0] == '"' || delimiter[0] == '\n' ||
      delimiter[0] == '\r' || delimiter[0] == '\0') {
    ctx.error(ctx.location("delimiter"),
              "delimiter must be a single character other than a quote or line break (use "
              "'\\t' for tab), got '" +
                  delimiter + "'");
    ok = false;
  } else {
    config.delimiter = delimiter[0];
  }

  const std::string format = ctx.get_string("time_format");
  if (auto parsed = csv::parse_time_format(format)) {
    config.time_format = *parsed;
    config.time_zone = query_zone(ctx.query());
  } else {
    ctx.error(ctx.location("time_format"),
              "unknown time_format '" + format + "'; expected one of auto, iso, ns, us, ms, s" +
                  did_you_mean(format, {"auto", "iso", "ns", "us", "ms", "s"}));
    ok = false;
  }

  const std::string on_error = ctx.get_string("on_error");
  if (on_error == "skip" || on_error == "fail") {
    config.skip_bad_rows = on_error == "skip";
  } else {
    ctx.error(ctx.location("on_error"), "unknown on_error '" + on_error +
                                            "'; expected fail or skip" +
                                            did_you_mean(on_error, {"fail", "skip"}));
    ok = false;
  }

  const std::string parse = ctx.get_string("parse");
  if (parse == "auto" || parse == "pieces" || parse == "one_thread") {
    config.parse = parse == "auto"     ? CsvSourceConfig::Parse::Auto
                   : parse == "pieces" ? CsvSourceConfig::Parse::Pieces
                                       : CsvSourceConfig::Parse::OneThread;
  } else {
    ctx.error(ctx.location("parse"), "unknown parse '" + parse +
                                         "'; expected auto, pieces or one_thread" +
                                         did_you_mean(parse, {"auto", "pieces", "one_thread"}));
    ok = false;
  }

  for (const char* name : {"time_field", "symbol_field"}) {
    if (!ctx.has(name)) continue;
    const std::string value = ctx.get_string(name);
    if (!is_valid_name(value)) {
      ctx.error(ctx.location(name),
                std::string(name) + " '" + value + "' is not a valid field name");
      ok = false;
    }
  }
  return ok;
}

// Reads the header and sample rows of `config.bind_path` into `config.layout`.
// Throws RuntimeError for unreadable files and bad headers; reports parameter problems.
bool read_layout(BindContext& ctx, CsvSourceConfig& config, const std::vector<GivenType>& given) {
  csv::RecordReader reader(csv::open_input(config.bind_path, csv::InputUse::Sample),
                           csv::input_name(config.bind_path), config.delimiter);
  const auto header = csv::read_header(reader);
  const std::string file_name = csv::input_name(config.bind_path);
  const Location header_location{file_name, reader.line(), 1};
  auto column_of = [&](std::string_view name) -> std::optional<size_t> {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) return std::nullopt;
    return static_cast<size_t>(it - header.begin());
  };
  bool ok = true;

  const std::string time_field = ctx.get_string("time_field");
  const auto time_column = column_of(time_field);
  if (!time_column) {
    ctx.error(header_location,
              file_name + " has no time column '" + time_field + "' (set time_field:)" +
                  did_you_mean(time_field, header) + "; its columns are " + join_names(header),
              ErrorKind::Data);
    ok = false;
  }
  if (time_field != "TIMESTAMP" && column_of("TIMESTAMP")) {
    ctx.error(reader.location(*column_of("TIMESTAMP")),
              "column TIMESTAMP would clash with the tick time, which comes from column " +
                  time_field + "; rename one of them",
              ErrorKind::Data);
    ok = false;
  }

  // In a run with symbols the symbol column selects this run's rows and is dropped,
  // because every tick already carries SYMBOL (SPEC §1).
  const bool explicit_symbol_field = ctx.has("symbol_field");
  const std::string symbol_field =
      explicit_symbol_field ? ctx.get_string("symbol_field") : "SYMBOL";
  std::optional<size_t> symbol_column = column_of(symbol_field);
  if (explicit_symbol_field && !symbol_column) {
    ctx.error(ctx.location("symbol_field"),
              "symbol_field '" + symbol_field + "' is not a column of " + file_name +
                  did_you_mean(symbol_field, header) + "; its columns are " + join_names(header));
    ok = false;
  }
  const bool run_has_symbols = !ctx.query().symbols.empty();
  if (!run_has_symbols) symbol_column.reset();
  if (run_has_symbols && symbol_field != "SYMBOL" && column_of("SYMBOL")) {
    ctx.error(reader.location(*column_of("SYMBOL")),
              "column SYMBOL would clash with the run's SYMBOL, which selects rows by "
              "column " +
                  symbol_field + "; rename one of them",
              ErrorKind::Data);
    ok = false;
  }

  std::vector<std::optional<Type>> given_by_column(header.size());
  for (const auto& g : given) {
    const auto column = column_of(g.name);
    if (!column) {
      ctx.error(g.location, "fields: " + g.name + " is not a column of " + file_name +
                                did_you_mean(g.name, header) + "; its columns are " +
                                join_names(header));
      ok = false;
    } else if (column == time_column && g.type != Type::Time) {
      ctx.error(g.location, "fields: " + g.name + " is the time column, so its type is time");
      ok = false;
    } else if (column == symbol_column && g.type != Type::String) {
      ctx.error(g.location, "fields: " + g.name + " is the symbol column, so its type is string");
      ok = false;
    } else {
      given_by_column[*column] = g.type;
    }
  }
  if (!ok) return false;

  const bool needs_inference = std::any_of(given_by_column.begin(), given_by_column.end(),
                                           [](const auto& type) { return !type.has_value(); });
  std::vector<Type> types(header.size(), Type::String);
  if (needs_inference) types = csv::infer_column_types(reader, header.size(), kInferenceRows);
  std::vector<bool> inferred(header.size());
  for (size_t i = 0; i < header.size(); ++i) {
    inferred[i] = !given_by_column[i].has_value();
    if (given_by_column[i]) types[i] = *given_by_column[i];
  }
  config.layout = csv::make_layout(header, types, *time_column, symbol_column, inferred);
  return true;
}

OperatorFactory bind_csv(BindContext& ctx) {
  auto config = std::make_shared<CsvSourceConfig>();
  bool ok = read_options(ctx, *config);
  const auto given = read_given_types(ctx, "fields");
  if (!given) ok = false;

  const std::string given_path = ctx.get_string("path");
  config->path = given_path == "-" ? given_path : ctx.resolve_path(given_path);
  config->path_per_symbol = config->path.find(kSymbolPlaceholder) != std::string::npos;
  config->bind_path = config->path;
  if (config->path_per_symbol) {
    const auto& symbols = ctx.query().symbols;
    if (symbols.empty()) {
      ctx.error(ctx.location("path"),
                "path holds {symbol} but the query has no symbols (set symbols: or --symbols)");
      return {};
    }
    // The schema is shared by all symbols; the first symbol's file defines it.
    config->bind_path = replace_all(config->path, kSymbolPlaceholder, symbols.front());
  }
  if (!ok) return {};

  try {
    if (!read_layout(ctx, *config, *given)) return {};
  } catch (const RuntimeError& e) {
    const Location& where = e.data_location();
    ctx.error(where.known() ? where : ctx.location("path"), e.message(), ErrorKind::Data);
    return {};
  }

  if (config->path == "-" && ctx.query().symbols.size() > 1 && !config->layout.symbol_column) {
    ctx.error(ctx.location("path"),
              "standard input (path: -) is read once, so a run with several symbols needs a "
              "symbol column in it to split the rows by (set symbol_field: if it is not SYMBOL)");
    return {};
  }
  ctx.set_output(0, config->layout.schema, true);
  ctx.set_accumulation(Accumulation::none());
  std::shared_ptr<const CsvSourceConfig> shared = std::move(config);
  if (shared->layout.symbol_column && !shared->path_per_symbol && !ctx.query().symbols.empty()) {
    auto file = std::make_shared<SharedSymbolFile>(shared, ctx.query().symbols, ctx.query());
    bool count_skipped = shared->skip_bad_rows;
    return [file, count_skipped](const RunContext& run) -> std::unique_ptr<Operator> {
      return std::make_unique<SharedFileOperator>(file, run, count_skipped);
    };
  }
  return [shared](const RunContext& run) -> std::unique_ptr<Operator> {
    return std::make_unique<CsvSourceOperator>(shared, run);
  };
}

// Shown by `tickflow eps csv` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample csv_example() {
  return {
      .query =
          R"~(# Trades from a CSV file (SIZE read as double instead of the inferred int), large ones kept.
tickflow: 1
nodes:
  trades:
    ep: csv
    path: trades.csv
    fields: {SIZE: double}
  large:
    ep: where
    in: trades
    if: SIZE >= 200
)~",
      .files = {{"trades.csv", R"~(SYMBOL,TIMESTAMP,PRICE,SIZE
AAPL,2024-01-02 09:30:00,185.25,100
MSFT,2024-01-02 09:30:20,370.5,300
AAPL,2024-01-02 09:30:40,185.5,200
)~"}},
      .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:30:20.000000000,MSFT,370.5,300
2024-01-02 09:30:40.000000000,AAPL,185.5,200
)~"};
}

}  // namespace

void register_csv(Registry& registry) {
  EpDefinition def;
  def.name = "csv";
  def.example = csv_example();
  def.doc =
      "Reads ticks from a CSV file with a header line (RFC 4180 quoting). The time column "
      "becomes TIMESTAMP; the other columns are fields in file order, typed by `fields` or "
      "inferred from the first 1000 rows (int, else double, else bool, else string). An empty "
      "cell is the type's default. Rows must be in time order; in a run with symbols the "
      "symbol column selects the run's rows and is dropped. With two or more threads a "
      "file (not standard input) is parsed in pieces cut at line breaks on the free threads; "
      "the ticks, errors and their lines are the same as when it is read on one thread.";
  def.inputs = {};
  def.outputs = {"out"};
  def.params = {
      {.name = "path",
       .type = ParamType::String,
       .required = true,
       .doc = "CSV file, relative to the query file; {symbol} is replaced by the run's symbol; "
              "- reads standard input; .gz and .zst files are decompressed"},
      {.name = "fields",
       .type = ParamType::FieldTypes,
       .doc = "types of some columns ({PRICE: double}); the others are inferred"},
      {.name = "time_field",
       .type = ParamType::String,
       .default_value = "TIMESTAMP",
       .doc = "column holding the tick time; it becomes TIMESTAMP"},
      {.name = "time_format",
       .type = ParamType::String,
       .default_value = "auto",
       .doc = "time column format: auto (time text, else integer ns), iso, ns, us, ms or s"},
      {.name = "delimiter",
       .type = ParamType::String,
       .default_value = "\",\"",
       .doc = "cell separator: one character, or \\t"},
      {.name = "symbol_field",
       .type = ParamType::String,
       .doc = "column that selects each symbol's rows in a run with symbols (default SYMBOL)"},
      {.name = "on_error",
       .type = ParamType::String,
       .default_value = "fail",
       .doc = "bad rows: fail, or skip them and count them in --stats as skipped_rows"},
      {.name = "parse",
       .type = ParamType::String,
       .default_value = "auto",
       .doc = "pieces: parse a file in pieces on the run's free threads; one_thread: on the "
              "run's thread; auto: pieces for a file of 8 MB or more when the run has two or "
              "more threads. The result is the same; standard input is read on one thread"},
  };
  def.accumulation = "none";
  def.bind = bind_csv;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
