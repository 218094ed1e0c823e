#include <iostream>

#include "commands.hpp"

namespace tickflow::cli {

int serve_command(const Registry& /*registry*/, ServeArgs args) {
  if (!args.queries.empty()) {
    std::cerr << "tickflow: error: " << args.queries.front()
              << ": standing queries (SPEC section 13) are not served by this version; "
                 "start 'tickflow serve' without query files\n";
    return 2;
  }
  if (!args.journal_dir.empty()) {
    args.options.journal_dir = args.journal_dir;
    args.options.fsync = *server::parse_fsync_policy(args.fsync);
  }
  return server::serve(args.options);
}

}  // namespace tickflow::cli
