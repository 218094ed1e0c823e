// The `tickflow` subcommands. Each returns the process exit status (SPEC §9):
// 0 success, 1 runtime error, 2 usage or validation error.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "serve.hpp"
#include "tickflow/registry.hpp"

namespace tickflow::cli {

struct RunArgs {
  std::string graph;
  std::string output_path;
  std::string format;  // "" = from the -o extension, else csv
  std::vector<std::string> symbols;
  std::string symbols_file;
  std::vector<std::string> params;  // NAME=VALUE
  std::string start, end;
  size_t threads = 0;  // 0 = all cores
  size_t batch_size = 4096;
  std::optional<std::string> stats;  // "text" or "json" when --stats is given
  std::optional<int64_t> max_accumulated_ticks;
  bool merge_symbols = false;
  bool keep_going = false;
  bool progress = true;
};

struct ServeArgs {
  server::ServeOptions options;
  std::vector<std::string> queries;
  std::string journal_dir;
  std::string fsync = "interval";
};

int run_command(const Registry& registry, const RunArgs& args);
int check_command(const Registry& registry, const std::vector<std::string>& graphs);
int explain_command(const Registry& registry, const std::string& graph, bool dot);
int eps_command(const Registry& registry, const std::string& name, const std::string& format);
int serve_command(const Registry& registry, ServeArgs args);

}  // namespace tickflow::cli
