#include <CLI/CLI.hpp>

#include <charconv>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <limits>

#if defined(__GLIBC__)
#include <malloc.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#endif

#include "tickflow/plugin.hpp"
#include "tickflow/tick_writer.hpp"

#include "builtin.hpp"
#include "commands.hpp"

#ifndef TICKFLOW_VERSION
#define TICKFLOW_VERSION "dev"
#endif

namespace {

// An interrupted run must not leave temporary output files behind.
extern "C" void remove_outputs_and_reraise(int signal_number) {
  tickflow::remove_unfinished_output_files();
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

// A whole number in [low, high], checked on the text itself: CLI11's own range checks
// print their bounds as doubles ("0.000000 to <309 digits>") and its conversion lets
// some out-of-range values through.
CLI::Validator whole_number(uint64_t low, uint64_t high) {
  std::string range = std::to_string(low) + " to " + std::to_string(high);
  return CLI::Validator(
      [low, high, range](std::string& text) -> std::string {
        uint64_t value = 0;
        const char* end = text.data() + text.size();
        auto [p, ec] = std::from_chars(text.data(), end, value);
        if (text.empty() || p != end || ec == std::errc::invalid_argument)
          return "expected a whole number from " + range + ", found '" + text + "'";
        if (ec == std::errc::result_out_of_range || value < low || value > high)
          return "must be from " + range + ", found " + text;
        return "";
      },
      "INT in [" + range + "]");
}

// Commands that print to standard output must say so when it could not be written
// (a full disk, /dev/full, a closed pipe) instead of exiting 0.
int checked_stdout(int status) {
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "tickflow: error: cannot write to standard output\n";
    return 1;
  }
  return status;
}

// Batches are allocated and freed at a high rate, often in blocks of 128 KB to a few MB
// (a column of a batch, a decoded archive chunk). glibc's defaults give blocks above its
// adaptive mmap threshold back to the system on every free and trim the heap as soon as
// 128 KB lie free at its top, so the next batch faults its pages in again, which costs more
// than filling them (an archive read of 10M ticks: 16,000 page faults and 0.26 s; with the
// memory kept for reuse, 4,000 and 0.18 s, docs/performance.md). The process keeps up to
// 64 MB of freed memory for reuse instead; blocks of 32 MB and more are still mapped
// directly and returned when freed.
void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
#endif
}

// On this kind of machine a 4 KB page fault costs microseconds, and a sort of 10M ticks
// touches 600 MB: 170,000 faults, a fifth of the run (docs/performance.md). Where the
// kernel gives transparent huge pages on request (`madvise`, the usual default), glibc
// (2.35 and later) requests them for its heap and large blocks with the tunable
// glibc.malloc.hugetlb=1, which is read only when a process starts: the executable starts
// itself again with it. A tunable already set either way (GLIBC_TUNABLES) is left as the
// user set it, so glibc.malloc.hugetlb=0 turns this off. Nothing happens in a setuid
// process (glibc ignores tunables there), under a sanitizer (it has its own allocator),
// or when the kernel gives huge pages always or never; if the new start fails, the
// process goes on as it is.
void restart_with_huge_pages(char** argv) {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  if (getauxval(AT_SECURE) != 0) return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.hugetlb") != nullptr) return;
  std::ifstream mode_file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  std::getline(mode_file, mode);
  if (mode.find("[madvise]") == std::string::npos) return;
  const std::string previous = tunables != nullptr ? tunables : "";
  const std::string with_huge_pages =
      previous.empty() ? "glibc.malloc.hugetlb=1" : previous + ":glibc.malloc.hugetlb=1";
  setenv("GLIBC_TUNABLES", with_huge_pages.c_str(), 1);
  execv("/proc/self/exe", argv);
  // Still here: the restart failed (no /proc). Run as started.
  if (tunables != nullptr) {
    setenv("GLIBC_TUNABLES", previous.c_str(), 1);
  } else {
    unsetenv("GLIBC_TUNABLES");
  }
#else
  (void)argv;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tickflow;
  restart_with_huge_pages(argv);
  keep_freed_memory_for_reuse();
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) std::signal(s, remove_outputs_and_reraise);
  CLI::App app{"tickflow — an event-processor dataflow engine for tick data"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");

  cli::RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run a query and print or write its ticks");
  run->add_option("graph", run_args.graph, "Query file (YAML)")->required();
  run->add_option("-o,--output", run_args.output_path,
                  "Output file (one output node) or directory (several)");
  run->add_option("--format", run_args.format, "csv, jsonl or table (default: from -o, else csv)")
      ->check(CLI::IsMember({"csv", "jsonl", "table"}));
  run->add_option("--symbols", run_args.symbols, "Symbols to run for (overrides the file)")
      ->delimiter(',');
  run->add_option("--symbols-file", run_args.symbols_file, "File with one symbol per line");
  run->add_option("--param", run_args.params, "Query parameter NAME=VALUE (repeatable)");
  run->add_option("--start", run_args.start, "Range start (overrides the file's range)");
  run->add_option("--end", run_args.end, "Range end, exclusive (overrides the file's range)");
  run->add_option("--tz", run_args.time_zone,
                  "IANA time zone of the query (overrides the file's tz:), e.g. America/New_York");
  run->add_option("--output-tz", run_args.output_time_zone,
                  "Print output times in this IANA zone with their offset (overrides the "
                  "file's output_tz:)");
  constexpr uint64_t kMaxThreads = 1024;
  run->add_option("--threads", run_args.threads, "Worker threads (default: all cores)")
      ->check(whole_number(1, kMaxThreads));
  run->add_option("--batch-size", run_args.batch_size, "Ticks per batch between segments")
      ->check(whole_number(1, uint64_t{1} << 24));
  std::string stats_format;
  auto* stats_opt =
      run->add_option("--stats", stats_format, "Print per-node statistics to stderr (text or json)")
          ->expected(0, 1);
  int64_t max_accumulated = 0;
  auto* max_acc_opt = run->add_option("--max-accumulated-ticks", max_accumulated,
                                      "Fail when a node holds more ticks than this")
                          ->check(whole_number(0, std::numeric_limits<int64_t>::max()));
  run->add_flag("--merge-symbols", run_args.merge_symbols,
                "One time-ordered stream for all symbols");
  run->add_flag("--keep-going", run_args.keep_going,
                "Finish the other symbols when one fails; report failures at the end (exit 1)");
  bool no_progress = false;
  run->add_flag("--no-progress", no_progress, "Never show the progress line");
  std::string shard_text, shard_by = "symbol";
  auto* shard_opt = run->add_option(
      "--shard", shard_text,
      "Run shard I of N (I from 0): the symbols at positions = I mod N (docs/scale.md)");
  run->add_option("--shard-by", shard_by, "symbol, or day: contiguous runs of UTC days")
      ->check(CLI::IsMember({"symbol", "day"}))
      ->needs(shard_opt)
      ->capture_default_str();

  auto add_archive_target = [](CLI::App* command, cli::ArchiveTarget& target) {
    command
        ->add_option("--symbol-field", target.symbol_field,
                     "Field whose value is each tick's symbol (partition)")
        ->capture_default_str();
    command->add_option("--symbol", target.symbol,
                        "Symbol of every tick, for data without a symbol field");
    command->add_flag("--replace", target.replace,
                      "Overwrite partitions (day, symbol) that are already in the table");
    command
        ->add_option("--chunk-rows", target.chunk_rows,
                     "Ticks per compressed chunk (the unit of the time index)")
        ->check(whole_number(1, uint64_t{1} << 24))
        ->capture_default_str();
  };
  auto* run_db = run->add_option("--db", run_args.archive.db,
                                 "Store the output in this tick archive instead of printing it");
  run->add_option("--table", run_args.archive.table, "Archive table for --db")->needs(run_db);
  add_archive_target(run, run_args.archive);

  cli::LoadArgs load_args;
  auto* load = app.add_subcommand("load", "Load a CSV file into a table of a tick archive");
  load->add_option("input", load_args.input, "CSV file (.gz/.zst, or - for standard input)")
      ->required();
  load->add_option("--db", load_args.target.db, "Archive directory (created when missing)")
      ->required();
  load->add_option("--table", load_args.target.table, "Table name")->required();
  add_archive_target(load, load_args.target);
  load->add_option("--fields", load_args.fields, "Field types NAME:type (others are inferred)")
      ->delimiter(',');
  load->add_option("--time-field", load_args.time_field, "Time column (default TIMESTAMP)");
  load->add_option("--time-format", load_args.time_format, "auto, iso, ns, us, ms or s");
  load->add_option("--delimiter", load_args.delimiter, "Field delimiter (default ,)");
  load->add_option("--threads", load_args.threads, "Worker threads (default: all cores)")
      ->check(whole_number(1, kMaxThreads));
  load->add_option("--batch-size", load_args.batch_size, "Ticks per batch while reading")
      ->check(whole_number(1, uint64_t{1} << 24));

  cli::DbArgs db_args;
  auto* db = app.add_subcommand("db", "Show what a tick archive holds");
  db->require_subcommand(1);
  auto* db_list = db->add_subcommand("list", "Tables with days, symbols, ticks and bytes");
  auto* db_info =
      db->add_subcommand("info", "Schema, days and symbols of a table (or of every table)");
  for (auto* command : {db_list, db_info}) {
    command->add_option("db", db_args.db, "Archive directory")->required();
    command->add_option("--table", db_args.table, "Only this table");
    command->add_option("--format", db_args.format, "text or json")
        ->check(CLI::IsMember({"text", "json"}));
  }

  std::vector<std::string> check_graphs;
  auto* check = app.add_subcommand("check", "Validate query files without running them");
  check->add_option("graphs", check_graphs, "Query files")->required();

  std::string explain_graph;
  bool explain_dot = false;
  auto* explain = app.add_subcommand("explain", "Show nodes, schemas, accumulation and the plan");
  explain->add_option("graph", explain_graph, "Query file")->required();
  explain->add_flag("--dot", explain_dot, "Graphviz output");

  std::string eps_name, eps_format = "text";
  auto* eps = app.add_subcommand("eps", "List the event processors and their parameters");
  eps->add_option("name", eps_name, "Show one EP");
  eps->add_option("--format", eps_format, "text, markdown or json")
      ->check(CLI::IsMember({"text", "markdown", "json"}));

  std::vector<std::string> concat_parts;
  std::string concat_output;
  auto* concat = app.add_subcommand(
      "concat", "Put the outputs of the shards of a sharded run back together (docs/scale.md)");
  concat->add_option("parts", concat_parts, "Every shard's output file (or -o directory)")
      ->required();
  concat->add_option("-o,--output", concat_output, "Output file (default: standard output)");

  auto* version = app.add_subcommand("version", "Print the version");

  cli::ServeArgs serve_args;
  auto* serve = app.add_subcommand(
      "serve",
      "Serve rolling statistics over HTTP (push values per symbol, ask stats of the last 10^k) "
      "and standing queries over pushed ticks");
  serve->add_option("queries", serve_args.queries, "Standing queries (QUERY.yaml)");
  serve->add_option("--host", serve_args.options.host, "Address to listen on")
      ->capture_default_str();
  serve->add_option("--port", serve_args.options.port, "Port to listen on")
      ->check(whole_number(1, 65535))
      ->capture_default_str();
  serve->add_option("--threads", serve_args.options.threads, "Worker threads (default: all cores)")
      ->check(whole_number(1, kMaxThreads));
  serve
      ->add_option("--max-symbols", serve_args.options.limits.max_symbols,
                   "Most symbols the service holds")
      ->check(whole_number(1, uint64_t{1} << 20))
      ->capture_default_str();
  serve
      ->add_option("--max-k", serve_args.options.limits.max_k,
                   "Largest window 10^k; each symbol keeps the last 10^max_k values")
      ->check(whole_number(1, 9))
      ->capture_default_str();
  serve
      ->add_option("--stream-buffer", serve_args.options.query_limits.stream_buffer_bytes,
                   "Bytes a query stream subscriber may fall behind before it is disconnected")
      ->check(whole_number(1024, uint64_t{1} << 34))
      ->capture_default_str();
  auto* journal_opt = serve->add_option("--journal", serve_args.journal_dir,
                                        "Directory of the journal (replayed at start)");
  serve->add_option("--fsync", serve_args.fsync, "Journal sync: always, interval (1 s) or never")
      ->check(CLI::IsMember({"always", "interval", "never"}))
      ->needs(journal_opt)
      ->capture_default_str();

  std::vector<std::string> plugin_paths;
  for (auto* command : {run, check, explain, eps, serve, load}) {
    command->add_option("--plugin", plugin_paths, "Load EPs from this shared library (repeatable)");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "tickflow: error: " << e.what() << "\n"
              << "Run 'tickflow --help' for usage.\n";
    return 2;
  }

  Registry registry;
  eps::register_builtins(registry);
  try {
    load_plugins_from_environment(registry);
    for (const auto& path : plugin_paths) load_plugin(path, registry);
  } catch (const PluginError& e) {
    std::cerr << "tickflow: error: " << e.what() << "\n";
    return 2;
  }

  if (run->parsed()) {
    if (!run_args.archive.db.empty() && run_args.archive.table.empty()) {
      std::cerr << "tickflow: error: --db needs --table\n";
      return 2;
    }
    if (stats_opt->count() > 0) {
      if (stats_format.empty()) stats_format = "text";
      if (stats_format != "text" && stats_format != "json") {
        std::cerr << "tickflow: error: --stats takes 'text' or 'json', not '" << stats_format
                  << "'\n";
        return 2;
      }
      run_args.stats = stats_format;
    }
    if (max_acc_opt->count() > 0) run_args.max_accumulated_ticks = max_accumulated;
    run_args.progress = !no_progress;
    if (shard_opt->count() > 0) {
      try {
        run_args.shard = parse_shard(shard_text);
      } catch (const UsageError& e) {
        std::cerr << "tickflow: error: " << e.what() << "\n";
        return 2;
      }
      run_args.shard->by = shard_by == "day" ? ShardBy::Day : ShardBy::Symbol;
    }
    return cli::run_command(registry, run_args);
  }
  if (load->parsed()) return cli::load_command(registry, load_args);
  if (concat->parsed()) return checked_stdout(cli::concat_command(concat_parts, concat_output));
  if (db->parsed()) {
    db_args.info = db_info->parsed();
    return checked_stdout(cli::db_command(db_args));
  }
  if (check->parsed()) return checked_stdout(cli::check_command(registry, check_graphs));
  if (explain->parsed())
    return checked_stdout(cli::explain_command(registry, explain_graph, explain_dot));
  if (eps->parsed()) return checked_stdout(cli::eps_command(registry, eps_name, eps_format));
  if (serve->parsed()) return cli::serve_command(registry, serve_args);
  if (version->parsed()) {
    std::cout << "tickflow " << TICKFLOW_VERSION << " (query format 1)\n";
    return checked_stdout(0);
  }
  return 2;
}
