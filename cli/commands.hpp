// The `tickflow` subcommands. Each returns the process exit status (SPEC §9):
// 0 success, 1 runtime error, 2 usage or validation error.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "serve.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/query.hpp"
#include "tickflow/registry.hpp"
#include "tickflow/shard.hpp"

namespace tickflow::cli {

// Where `tickflow load` and `tickflow run --db` put ticks (docs/archive.md).
struct ArchiveTarget {
  std::string db;
  std::string table;
  std::string symbol_field = "SYMBOL";
  std::optional<std::string> symbol;  // every tick's symbol, for input without a symbol field
  bool replace = false;
  size_t chunk_rows = 65536;
};

struct RunArgs {
  std::string graph;
  std::string output_path;
  std::string format;  // "" = from the -o extension, else csv
  std::vector<std::string> symbols;
  std::string symbols_file;
  std::vector<std::string> params;  // NAME=VALUE
  std::string start, end;
  std::string time_zone;         // --tz; "" = the file's tz:, else UTC
  std::string output_time_zone;  // --output-tz; "" = the file's output_tz:, else UTC
  size_t threads = 0;            // 0 = all cores
  size_t batch_size = 4096;
  std::optional<std::string> stats;  // "text" or "json" when --stats is given
  std::optional<int64_t> max_accumulated_ticks;
  bool merge_symbols = false;
  bool keep_going = false;
  bool progress = true;
  ArchiveTarget archive;  // --db: store the output in an archive table instead of printing it
  std::optional<ShardSpec> shard;  // --shard I/N (docs/scale.md)
};

struct LoadArgs {
  std::string input;
  ArchiveTarget target;
  std::vector<std::string> fields;  // NAME:type
  std::string time_field, time_format, delimiter;
  size_t threads = 0;
  size_t batch_size = 4096;
};

struct DbArgs {
  std::string db;
  std::string table;  // "" = every table
  bool info = false;  // schema, days and symbols as well
  std::string format = "text";
};

struct ServeArgs {
  server::ServeOptions options;
  std::vector<std::string> queries;
  std::string journal_dir;
  std::string fsync = "interval";
};

// Prints load errors to stderr: the first 100, then how many more there were (a file with
// the same mistake a million times must not print a million lines).
void print_load_errors(const Diagnostics& diags);

int run_command(const Registry& registry, const RunArgs& args);
int check_command(const Registry& registry, const std::vector<std::string>& graphs);
int explain_command(const Registry& registry, const std::string& graph, bool dot);
int eps_command(const Registry& registry, const std::string& name, const std::string& format);
int load_command(const Registry& registry, const LoadArgs& args);
int db_command(const DbArgs& args);
// `tickflow concat PART... [-o OUT]`: the parts of a sharded run as the unsharded run's output.
int concat_command(const std::vector<std::string>& parts, const std::string& output);

// `tickflow run --db`: the query's single output stream goes into an archive table.
int run_into_archive(const Query& query, const RunArgs& args);
int serve_command(const Registry& registry, ServeArgs args);

}  // namespace tickflow::cli
