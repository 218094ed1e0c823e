#include <iostream>

#include "commands.hpp"
#include "tickflow/explain.hpp"

namespace tickflow::cli {

int check_command(const Registry& registry, const std::vector<std::string>& graphs) {
  int status = 0;
  for (const auto& graph : graphs) {
    Diagnostics diags;
    auto query = load_query(graph, registry, {}, diags);
    print_load_errors(diags);
    if (query) {
      std::cout << graph << ": ok (" << query->nodes.size() << " nodes)\n";
    } else {
      std::cerr << graph << ": " << diags.size() << " error" << (diags.size() == 1 ? "" : "s")
                << "\n";
      status = std::max(status, diags.exit_status() ? diags.exit_status() : 2);
    }
  }
  return status;
}

int explain_command(const Registry& registry, const std::string& graph, bool dot) {
  Diagnostics diags;
  auto query = load_query(graph, registry, {}, diags);
  if (!query) {
    print_load_errors(diags);
    return diags.exit_status() ? diags.exit_status() : 2;
  }
  Plan plan = plan_query(*query);
  if (dot) {
    explain_dot(*query, plan, std::cout);
  } else {
    explain_text(*query, plan, std::cout);
  }
  return 0;
}

}  // namespace tickflow::cli
