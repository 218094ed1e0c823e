#include <filesystem>
#include <iostream>

#include "commands.hpp"

namespace tickflow::cli {

int serve_command(const Registry& registry, ServeArgs args) {
  // Standing queries (SPEC §13) load like `tickflow check` does: every error of every file,
  // then exit status 2.
  Diagnostics diags;
  for (const auto& file : args.queries) {
    auto query = load_query(file, registry, {}, diags);
    if (!query) continue;
    if (query->name.empty()) query->name = std::filesystem::path(file).stem().string();
    args.options.queries.emplace_back(std::move(query), file);
  }
  if (diags.has_errors()) {
    print_load_errors(diags);
    return diags.exit_status();
  }
  args.options.registry = &registry;
  if (!args.journal_dir.empty()) {
    args.options.journal_dir = args.journal_dir;
    args.options.fsync = *server::parse_fsync_policy(args.fsync);
  }
  return server::serve(args.options);
}

}  // namespace tickflow::cli
