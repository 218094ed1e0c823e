// write_csv / write_jsonl: sinks that write their input to a file (SPEC §4 "Output").
//
// Each run writes through an OutputFile, so the target appears only when the whole run
// succeeds. With `{symbol}` in the path every symbol gets its own file. Without it, a
// run over several symbols writes one file holding all of the first symbol's ticks, then
// the next symbol's, in list order (SPEC §7): each symbol's run writes a part file, and
// the last part to commit joins them in list order, so the bytes do not depend on which
// symbol finished first.
#include <unistd.h>

#include <fmt/format.h>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/tick_writer.hpp"

namespace tickflow::eps {
namespace {

constexpr std::string_view kSymbolPlaceholder = "{symbol}";

std::string replace_symbol(std::string path, const std::string& symbol) {
  for (size_t pos = path.find(kSymbolPlaceholder); pos != std::string::npos;
       pos = path.find(kSymbolPlaceholder, pos + symbol.size())) {
    path.replace(pos, kSymbolPlaceholder.size(), symbol);
  }
  return path;
}

// Joins the part files of a multi-symbol run into the target, in symbol-list order.
class CombinedOutput {
 public:
  CombinedOutput(std::string path, OutputFormat format, std::vector<std::string> symbols)
      : path_(std::move(path)), format_(format), symbols_(std::move(symbols)) {
    static std::atomic<uint64_t> counter{0};
    std::filesystem::path target(path_);
    uint64_t id = counter.fetch_add(1, std::memory_order_relaxed);
    for (size_t i = 0; i < symbols_.size(); ++i) {
      part_paths_.push_back(
          (target.parent_path() / fmt::format(".{}.part-{}-{}-{}", target.filename().string(),
                                              static_cast<long>(::getpid()), id, i))
              .string());
    }
    part_committed_.assign(symbols_.size(), false);
  }
  ~CombinedOutput() { remove_parts(); }

  // Index of `symbol` in the run's symbol list; throws when the run did not declare it.
  size_t part_index(const std::string& symbol) const {
    for (size_t i = 0; i < symbols_.size(); ++i) {
      if (symbols_[i] == symbol) return i;
    }
    throw RuntimeError(fmt::format("symbol '{}' is not in the run's symbol list", symbol));
  }
  const std::string& part_path(size_t index) const { return part_paths_[index]; }

  // Called after part `index` was renamed into place. The last one joins all parts.
  void part_committed(size_t index) {
    std::lock_guard lock(mutex_);
    part_committed_[index] = true;
    if (++committed_count_ < symbols_.size()) return;
    try {
      join_parts();
    } catch (...) {
      remove_parts_locked();
      throw;
    }
    remove_parts_locked();
  }

  void remove_parts() noexcept {
    std::lock_guard lock(mutex_);
    remove_parts_locked();
  }

 private:
  void join_parts() {
    auto out = OutputFile::open(path_);
    std::vector<char> buffer(1 << 20);
    for (size_t i = 0; i < part_paths_.size(); ++i) {
      std::unique_ptr<std::FILE, int (*)(std::FILE*)> part(std::fopen(part_paths_[i].c_str(), "rb"),
                                                           &std::fclose);
      if (!part) {
        throw RuntimeError(
            fmt::format("cannot read part file '{}': {}", part_paths_[i], std::strerror(errno)));
      }
      // Every part starts with the same CSV header; only the first keeps it.
      bool skip_header = format_ == OutputFormat::Csv && i > 0;
      size_t n;
      while ((n = std::fread(buffer.data(), 1, buffer.size(), part.get())) > 0) {
        std::string_view chunk(buffer.data(), n);
        if (skip_header) {
          size_t newline = chunk.find('\n');
          if (newline == std::string_view::npos) continue;
          chunk.remove_prefix(newline + 1);
          skip_header = false;
        }
        out->write(chunk);
      }
      if (std::ferror(part.get())) {
        throw RuntimeError(
            fmt::format("cannot read part file '{}': {}", part_paths_[i], std::strerror(errno)));
      }
    }
    out->commit();
  }

  void remove_parts_locked() noexcept {
    for (size_t i = 0; i < part_paths_.size(); ++i) {
      if (part_committed_[i]) std::remove(part_paths_[i].c_str());
      part_committed_[i] = false;
    }
  }

  std::mutex mutex_;
  std::string path_;
  OutputFormat format_;
  std::vector<std::string> symbols_;
  std::vector<std::string> part_paths_;
  std::vector<bool> part_committed_;
  size_t committed_count_ = 0;
};

struct WriterOptions {
  OutputFormat format = OutputFormat::Csv;
  SchemaPtr schema;
  std::string path;  // resolved; may hold {symbol}
  bool symbol_column = false;
  std::shared_ptr<CombinedOutput> combined;  // set when several symbols share one file
  std::optional<TimeZone> output_zone;       // --output-tz / output_tz:
};

class FileWriter final : public Operator {
 public:
  FileWriter(const WriterOptions& options, const RunContext& context)
      : combined_(options.combined),
        part_index_(combined_ ? combined_->part_index(context.symbol) : 0),
        file_(OutputFile::open(combined_ ? combined_->part_path(part_index_)
                                         : replace_symbol(options.path, context.symbol))),
        writer_(options.format, options.schema, *file_,
                options.symbol_column ? std::optional<std::string>(context.symbol) : std::nullopt) {
    if (options.output_zone) writer_.set_output_zone(*options.output_zone);
  }

  bool needs_commit() const override { return true; }
  void process(size_t, Batch&& batch, OutputSink&) override { writer_.write(batch); }
  void finish(OutputSink&) override { writer_.finish(); }
  void commit() override {
    file_->commit();
    if (combined_) combined_->part_committed(part_index_);
  }
  void abort() noexcept override {
    file_->abort();
    if (combined_) combined_->remove_parts();
  }

 private:
  std::shared_ptr<CombinedOutput> combined_;
  size_t part_index_;
  std::unique_ptr<OutputFile> file_;  // before writer_, which writes into it
  TickWriter writer_;
};

BindFunction make_bind(OutputFormat format) {
  return [format](BindContext& ctx) -> OperatorFactory {
    WriterOptions options;
    options.format = format;
    options.schema = ctx.input(0).schema;
    options.output_zone = output_zone(ctx.query().output_time_zone);
    std::string path = ctx.get_string("path");
    if (path.empty()) {
      ctx.error(ctx.location("path"), "path must not be empty");
      return {};
    }
    const std::vector<std::string>& symbols = ctx.query().symbols;
    bool per_symbol_files = path.find(kSymbolPlaceholder) != std::string::npos;
    if (per_symbol_files && symbols.empty()) {
      ctx.error(ctx.location("path"),
                "path contains {symbol} but the run has no symbols (set `symbols:` or --symbols)");
      return {};
    }
    options.path = ctx.resolve_path(path);
    options.symbol_column = !symbols.empty();
    if (!per_symbol_files && symbols.size() > 1) {
      options.combined = std::make_shared<CombinedOutput>(options.path, format, symbols);
    }
    return [options](const RunContext& context) -> std::unique_ptr<Operator> {
      return std::make_unique<FileWriter>(options, context);
    };
  };
}

EpDefinition writer_definition(std::string name, OutputFormat format, EpExample example,
                               std::string doc) {
  EpDefinition def;
  def.name = std::move(name);
  def.example = std::move(example);
  def.doc = std::move(doc);
  def.inputs = {"in"};
  def.outputs = {};
  def.params = {
      {.name = "path",
       .type = ParamType::String,
       .required = true,
       .doc = "output file, relative to the query file; {symbol} is replaced by the run's symbol"},
  };
  def.accumulation = "none";
  def.bind = make_bind(format);
  return def;
}

// Shown by `tickflow eps write_csv` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample write_csv_example() {
  return {.query = R"~(# The trades written to a CSV file.
tickflow: 1
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
  saved:
    ep: write_csv
    in: trades
    path: trades_out.csv
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE
2024-01-02 09:30:00.000000000,AAPL,185.25,100
2024-01-02 09:30:20.000000000,MSFT,370.5,300
2024-01-02 09:30:40.000000000,AAPL,185.5,200
)~",
          .output_file = "trades_out.csv"};
}

// Shown by `tickflow eps write_jsonl` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample write_jsonl_example() {
  return {
      .query = R"~(# The trades written as JSON lines.
tickflow: 1
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
  saved:
    ep: write_jsonl
    in: trades
    path: trades_out.jsonl
)~",
      .output =
          R"~({"TIMESTAMP":"2024-01-02 09:30:00.000000000","SYMBOL":"AAPL","PRICE":185.25,"SIZE":100}
{"TIMESTAMP":"2024-01-02 09:30:20.000000000","SYMBOL":"MSFT","PRICE":370.5,"SIZE":300}
{"TIMESTAMP":"2024-01-02 09:30:40.000000000","SYMBOL":"AAPL","PRICE":185.5,"SIZE":200}
)~",
      .output_file = "trades_out.jsonl"};
}

}  // namespace

void register_writers(Registry& registry) {
  registry.add(writer_definition(
      "write_csv", OutputFormat::Csv, write_csv_example(),
      "Writes its input to a CSV file: a header, TIMESTAMP as YYYY-MM-DD HH:MM:SS.nnnnnnnnn, "
      "SYMBOL when the run has symbols, then the fields in schema order. The file is written "
      "under a temporary name and renamed when the run succeeds. With {symbol} in the path each "
      "symbol gets its own file; otherwise all symbols go to one file, in symbol-list order."));
  registry.add(writer_definition(
      "write_jsonl", OutputFormat::Jsonl, write_jsonl_example(),
      "Writes its input as JSON lines, one object per tick with the same names as CSV; times as "
      "strings, NaN and infinities as null. Written under a temporary name and renamed when the "
      "run succeeds; {symbol} in the path gives one file per symbol."));
}

}  // namespace tickflow::eps
