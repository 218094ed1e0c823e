#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "tickflow/query.hpp"
#include "tickflow/run.hpp"
#include "tickflow/shard.hpp"
#include "tickflow/tick_writer.hpp"
#include "tickflow/time.hpp"

namespace tickflow::cli {
namespace {

void print_diagnostics(const Diagnostics& diags) {
  print_load_errors(diags);
  if (diags.size() > 1) std::cerr << diags.size() << " errors\n";
}

// Reads --symbols-file: one symbol per line; '#' starts a comment; blank lines ignored.
std::vector<std::string> read_symbols_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("cannot open --symbols-file '" + path + "'");
  std::vector<std::string> symbols;
  std::string line;
  while (std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    size_t b = line.find_first_not_of(" \t\r");
    size_t e = line.find_last_not_of(" \t\r");
    if (b == std::string::npos) continue;
    symbols.push_back(line.substr(b, e - b + 1));
  }
  return symbols;
}

QueryOverrides make_overrides(const RunArgs& args) {
  QueryOverrides o;
  if (!args.start.empty()) {
    o.start = parse_time_or_nanos(args.start);
    if (!o.start) throw UsageError("--start: not a time: '" + args.start + "'");
    o.start.reset();  // read by the loader, in the query's zone
    o.start_text = args.start;
  }
  if (!args.end.empty()) {
    o.end = parse_time_or_nanos(args.end);
    if (!o.end) throw UsageError("--end: not a time: '" + args.end + "'");
    o.end.reset();
    o.end_text = args.end;
  }
  if (!args.time_zone.empty()) {
    if (!is_known_time_zone(args.time_zone)) {
      throw UsageError("--tz: unknown time zone '" + args.time_zone +
                       "' (expected an IANA name such as America/New_York)");
    }
    o.time_zone = args.time_zone;
  }
  if (!args.output_time_zone.empty()) {
    if (!is_known_time_zone(args.output_time_zone)) {
      throw UsageError("--output-tz: unknown time zone '" + args.output_time_zone +
                       "' (expected an IANA name such as America/New_York, or UTC)");
    }
    o.output_time_zone = args.output_time_zone;
  }
  for (const auto& p : args.params) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("--param expects NAME=VALUE, got '" + p + "'");
    }
    o.params.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  if (!args.symbols_file.empty()) {
    o.symbols = read_symbols_file(args.symbols_file);
  } else if (!args.symbols.empty()) {
    o.symbols = args.symbols;
  }
  return o;
}

// A progress line on stderr for long runs, only when stderr is a terminal. The share done
// is known when every running source knows its total (file sizes, generate counts, rows of
// inline ticks or archive partitions): finished symbols count whole, running ones by their
// least advanced source. The line then shows the percentage, an estimate of the time left
// (elapsed time scaled by the share still to do) and, in a run with symbols, the symbols
// under way with theirs. Otherwise it shows symbols finished of the total (a share and ETA
// that assume symbols of similar size) or just counts.
class ProgressLine {
 public:
  ProgressLine(bool enabled, int64_t symbol_count) : symbol_count_(symbol_count) {
    if (!enabled || !isatty(STDERR_FILENO)) return;
    thread_ = std::thread([this] { loop(); });
  }
  ~ProgressLine() { stop(); }
  std::atomic<int64_t>& counter() { return ticks_; }
  RunProgress& sources() { return sources_; }
  void stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (shown_) std::cerr << "\r\033[K" << std::flush;
  }

  // The text of the line after `secs` seconds.
  static std::string describe(int64_t ticks, double secs, int64_t finished, int64_t total,
                              const std::vector<RunProgress::Running>& running) {
    std::optional<double> share;
    if (total > 0) {
      double sum = static_cast<double>(finished);
      bool known = true;
      for (const auto& r : running) {
        if (!r.fraction) known = false;
        sum += r.fraction.value_or(0.0);
      }
      if (known) share = std::min(1.0, sum / static_cast<double>(total));
    }
    std::string line = "tickflow: ";
    if (total > 1) line += fmt::format("{}/{} symbols, ", finished, total);
    if (share) {
      line += fmt::format("{:.0f}%", 100.0 * *share);
      if (*share > 0 && *share < 1) {
        line += fmt::format(", ETA {}", format_seconds(secs * (1 - *share) / *share));
      }
      if (total > 1 && !running.empty()) {
        line += "; running";
        const size_t shown = std::min<size_t>(running.size(), 3);
        for (size_t i = 0; i < shown; ++i) {
          line += fmt::format("{} {} {:.0f}%", i ? "," : "", running[i].symbol,
                              100.0 * *running[i].fraction);
        }
        if (running.size() > shown) line += fmt::format(" and {} more", running.size() - shown);
      }
      line += "; ";
    } else if (total > 1) {
      line += fmt::format("{:.0f}%", 100.0 * finished / total);
      if (finished > 0 && finished < total) {
        line += fmt::format(", ETA {}", format_seconds(secs * (total - finished) / finished));
      }
      line += "; ";
    }
    line += fmt::format("{} ticks from sources, {:.1f} s, {:.2f} M ticks/s", ticks, secs,
                        secs > 0 ? ticks / secs / 1e6 : 0.0);
    return line;
  }

 private:
  static std::string format_seconds(double secs) {
    const auto whole = static_cast<int64_t>(secs + 0.5);
    if (whole < 60) return fmt::format("{} s", whole);
    if (whole < 3600) return fmt::format("{}m{:02d}s", whole / 60, whole % 60);
    return fmt::format("{}h{:02d}m", whole / 3600, whole / 60 % 60);
  }

  void loop() {
    auto start = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    // Short runs finish before the first second and never show a line.
    if (wake_.wait_for(lock, std::chrono::seconds(1), [this] { return done_; })) return;
    while (!done_) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const RunProgress::Snapshot runs = sources_.snapshot();
      std::cerr << "\r\033[K"
                << describe(ticks_.load(), secs, runs.finished, symbol_count_, runs.running)
                << std::flush;
      shown_ = true;
      wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return done_; });
    }
  }

  int64_t symbol_count_;
  std::atomic<int64_t> ticks_{0};
  RunProgress sources_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  bool shown_ = false;
};

// Per node, and then (apart from accumulation: --max-accumulated-ticks does not count
// them) the ticks and bytes held by state containers.
void print_stats(const Query& query, const std::vector<NodeStats>& stats,
                 const std::vector<StateStats>& state, const std::string& format) {
  if (stats.empty()) return;
  if (format == "json") {
    nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
    for (size_t i = 0; i < query.nodes.size(); ++i) {
      const NodeStats& s = stats[i];
      nlohmann::ordered_json counters = nlohmann::ordered_json::object();
      for (const auto& [name, value] : s.counters) counters[name] = value;
      nodes.push_back({{"node", query.nodes[i].id},
                       {"ep", query.nodes[i].ep},
                       {"accumulation", query.nodes[i].accumulation.to_string()},
                       {"ticks_in", s.ticks_in},
                       {"ticks_out", s.ticks_out},
                       {"peak_ticks_held", s.peak_ticks_held},
                       {"peak_bytes_held", s.peak_bytes_held},
                       {"time_ms", s.nanos / 1e6},
                       {"counters", counters}});
    }
    nlohmann::ordered_json json{{"nodes", nodes}};
    if (!state.empty()) {
      nlohmann::ordered_json variables = nlohmann::ordered_json::array();
      for (const auto& v : state) {
        variables.push_back({{"variable", v.name},
                             {"peak_ticks", v.peak_ticks},
                             {"peak_bytes", v.peak_bytes},
                             {"final_ticks", v.final_ticks}});
      }
      json["state"] = variables;
    }
    std::cerr << json.dump() << "\n";
    return;
  }
  size_t width = 4, ep_width = 12;
  for (const auto& n : query.nodes) {
    width = std::max(width, n.id.size());
    ep_width = std::max(ep_width, n.ep.size());
  }
  std::cerr << fmt::format("{:<{}}  {:<{}} {:>12} {:>12} {:>11} {:>12} {:>10}  {}\n", "node", width,
                           "ep", ep_width, "ticks_in", "ticks_out", "peak_ticks", "peak_bytes",
                           "time_ms", "counters");
  for (size_t i = 0; i < query.nodes.size(); ++i) {
    const NodeStats& s = stats[i];
    std::string counters;
    for (const auto& [name, value] : s.counters) {
      counters += (counters.empty() ? "" : " ") + name + "=" + std::to_string(value);
    }
    std::cerr << fmt::format("{:<{}}  {:<{}} {:>12} {:>12} {:>11} {:>12} {:>10.1f}  {}\n",
                             query.nodes[i].id, width, query.nodes[i].ep, ep_width, s.ticks_in,
                             s.ticks_out, s.peak_ticks_held, s.peak_bytes_held, s.nanos / 1e6,
                             counters);
  }
  if (state.empty()) return;
  width = 8;
  for (const auto& v : state) width = std::max(width, v.name.size());
  std::cerr << fmt::format("{:<{}}  {:>12} {:>12} {:>12}\n", "state", width, "peak_ticks",
                           "peak_bytes", "final_ticks");
  for (const auto& v : state) {
    std::cerr << fmt::format("{:<{}}  {:>12} {:>12} {:>12}\n", v.name, width, v.peak_ticks,
                             v.peak_bytes, v.final_ticks);
  }
}

// --shard: what the run cannot do when sharded (UsageError).
void check_shard_usage(const Query& query, const RunArgs& args) {
  const ShardSpec& shard = *args.shard;
  if (args.format == "table" ||
      (args.format.empty() && std::filesystem::path(args.output_path).extension() == ".txt")) {
    throw UsageError(
        "--shard writes csv or jsonl: an aligned table's column widths depend on "
        "every tick, so shards of it cannot be put together");
  }
  if (!args.archive.db.empty()) throw UsageError("--shard cannot write into --db");
  if (!query.outputs.empty() && args.output_path.empty()) {
    throw UsageError(
        "--shard needs -o FILE (or -o DIR for several outputs): each shard writes its "
        "own files, each with a FILE.shard.json that tickflow concat reads");
  }
  const auto& symbols = query.info.symbols;
  if (shard.by == ShardBy::Symbol && symbols.empty()) {
    throw UsageError(
        "--shard-by symbol needs symbols (symbols:, --symbols or --symbols-file); a "
        "run without symbols can be sharded with --shard-by day");
  }
  if (shard.by == ShardBy::Day && (!query.info.range_start || !query.info.range_end)) {
    throw UsageError(
        "--shard-by day needs the query's range: range: in the file, or --start "
        "and --end");
  }
  std::vector<std::string> sorted = symbols;
  std::sort(sorted.begin(), sorted.end());
  auto twice = std::adjacent_find(sorted.begin(), sorted.end());
  if (twice != sorted.end()) {
    throw UsageError("--shard: symbol '" + *twice +
                     "' is listed twice; a sharded run needs distinct symbols");
  }
}

}  // namespace

int run_command(const Registry& registry, const RunArgs& args) {
  QueryOverrides overrides;
  try {
    overrides = make_overrides(args);
  } catch (const UsageError& e) {
    std::cerr << "tickflow: error: " << e.what() << "\n";
    return 2;
  }
  Diagnostics diags;
  auto query = load_query(args.graph, registry, overrides, diags);
  if (!query) {
    print_diagnostics(diags);
    return diags.exit_status() ? diags.exit_status() : 2;
  }

  std::vector<std::string> all_symbols = query->info.symbols;
  bool shard_runs_nothing = false;
  if (args.shard) {
    try {
      check_shard_usage(*query, args);
    } catch (const UsageError& e) {
      std::cerr << "tickflow: error: " << e.what() << "\n";
      return 2;
    }
    if (args.shard->by == ShardBy::Day) {
      auto range = shard_day_range(*query->info.range_start, *query->info.range_end, *args.shard);
      shard_runs_nothing = !range;
      if (range) {
        // Bound again for the shard's days: sources read only that part of the range.
        std::tie(overrides.start, overrides.end) = *range;
        query = load_query(args.graph, registry, overrides, diags);
        if (!query) {
          print_diagnostics(diags);
          return diags.exit_status() ? diags.exit_status() : 2;
        }
      }
    }
  }

  if (!args.archive.db.empty()) return run_into_archive(*query, args);

  // Decide where each output stream goes.
  std::string format_name = args.format;
  if (format_name.empty()) {
    std::string ext = std::filesystem::path(args.output_path).extension().string();
    format_name = ext == ".jsonl" ? "jsonl" : ext == ".txt" ? "table" : "csv";
    // One output file named .parquet (or a typo like .cvs) must not silently get CSV.
    // (-o naming the query file itself gets the more useful message below.)
    std::error_code ec;
    const bool names_a_directory =
        query->outputs.size() > 1 || std::filesystem::is_directory(args.output_path);
    const bool names_the_query = std::filesystem::equivalent(args.output_path, args.graph, ec);
    if (!ext.empty() && ext != ".csv" && ext != ".jsonl" && ext != ".txt" && !names_a_directory &&
        !names_the_query) {
      std::cerr << "tickflow: error: -o " << args.output_path << ": unknown output extension '"
                << ext << "'; use .csv, .jsonl or .txt, or give --format csv|jsonl|table\n";
      return 2;
    }
  }
  OutputFormat format = *parse_output_format(format_name);
  std::vector<std::string> targets;
  if (query->outputs.size() > 1) {
    if (args.output_path.empty()) {
      std::cerr << "tickflow: error: the query has " << query->outputs.size()
                << " output nodes; give -o DIR to write one file per node\n";
      return 2;
    }
    std::error_code ec;
    std::filesystem::create_directories(args.output_path, ec);
    if (!std::filesystem::is_directory(args.output_path)) {
      std::cerr << "tickflow: error: -o " << args.output_path << ": not a directory\n";
      return 2;
    }
    for (const auto& out : query->outputs) {
      targets.push_back((std::filesystem::path(args.output_path) /
                         (out.name + "." + std::string(output_format_extension(format))))
                            .string());
    }
  } else if (query->outputs.size() == 1) {
    targets.push_back(args.output_path);  // "" = stdout
  }
  // Writing the output over the query being run would destroy it.
  for (const auto& target : targets) {
    std::error_code ec;
    if (!target.empty() && std::filesystem::equivalent(target, args.graph, ec)) {
      std::cerr << "tickflow: error: -o " << target << " is the query file being run; "
                << "refusing to overwrite it\n";
      return 2;
    }
  }

  bool with_symbols = !query->info.symbols.empty();
  std::optional<ShardManifest> shard_manifest;
  if (args.shard) {
    shard_manifest.emplace();
    shard_manifest->spec = *args.shard;
    shard_manifest->time_order = args.merge_symbols;
    shard_manifest->format = format_name;
    shard_manifest->symbols = all_symbols;
  }
  std::unique_ptr<RunOutputFiles> outputs;
  try {
    outputs = std::make_unique<RunOutputFiles>(*query, format, targets, shard_manifest);
  } catch (const RuntimeError& e) {
    std::cerr << e.describe() << "\n";
    return 1;
  }

  Plan plan = plan_query(*query);
  RunOptions options;
  options.threads = args.threads ? args.threads : std::max(1u, std::thread::hardware_concurrency());
  options.time_nodes = args.stats.has_value();
  options.batch_size = args.batch_size;
  options.max_accumulated_ticks = args.max_accumulated_ticks;
  // Ticks printed to the same terminal would be garbled by the progress line.
  bool ticks_on_terminal =
      std::find(targets.begin(), targets.end(), "") != targets.end() && isatty(STDOUT_FILENO);
  std::vector<std::string> run_symbols_list =
      with_symbols ? query->info.symbols : std::vector<std::string>{""};
  if (args.shard && args.shard->by == ShardBy::Symbol)
    run_symbols_list = shard_symbols(run_symbols_list, *args.shard);
  if (shard_runs_nothing) run_symbols_list.clear();
  ProgressLine progress(args.progress && !ticks_on_terminal,
                        static_cast<int64_t>(run_symbols_list.size()));
  options.ticks_produced = &progress.counter();
  options.progress = &progress.sources();
  SymbolRunOptions symbol_options;
  symbol_options.keep_going = args.keep_going;
  symbol_options.merge_symbols = args.merge_symbols;
  MultiRunResult result =
      run_symbols(*query, plan, options, run_symbols_list, symbol_options,
                  [&](size_t output, const std::string& symbol, const Batch& batch) {
                    outputs->write(output, symbol, batch);
                  });
  std::optional<RuntimeError> failure;
  if (!result.failures.empty() && !args.keep_going) failure = result.failures.front().error;
  if (!failure) {
    try {
      outputs->commit();
    } catch (const RuntimeError& e) {
      failure = e;
    }
  }
  progress.stop();
  if (args.stats) print_stats(*query, result.stats, result.state, *args.stats);
  if (args.keep_going && !result.failures.empty()) {
    for (const auto& f : result.failures) std::cerr << f.error.describe() << "\n";
    std::cerr << "tickflow: " << result.failures.size() << " of " << run_symbols_list.size()
              << " symbols failed:";
    for (const auto& f : result.failures) std::cerr << " " << f.symbol;
    std::cerr << "\n";
    if (!failure) {
      // The other symbols' output is complete and written.
      return 1;
    }
  }
  if (failure) {
    outputs->abort();
    std::cout.flush();
    std::cerr << failure->describe() << "\n";
    return 1;
  }
  return 0;
}

void print_load_errors(const Diagnostics& diags) {
  constexpr size_t kMaxPrinted = 100;
  const auto& items = diags.items();
  for (size_t i = 0; i < items.size() && i < kMaxPrinted; ++i)
    std::cerr << items[i].to_string() << "\n";
  if (items.size() > kMaxPrinted)
    std::cerr << "... and " << items.size() - kMaxPrinted << " more errors not shown\n";
}

}  // namespace tickflow::cli
