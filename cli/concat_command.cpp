// `tickflow concat`: concat_shards (tickflow/shard.hpp) with the CLI's exit statuses.
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "tickflow/shard.hpp"

namespace tickflow::cli {

int concat_command(const std::vector<std::string>& parts, const std::string& output) {
  try {
    concat_shards(parts, output);
    return 0;
  } catch (const UsageError& e) {
    std::cerr << "tickflow: error: " << e.what() << "\n";
    return 2;
  } catch (const RuntimeError& e) {
    std::cerr << e.describe() << "\n";
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    std::cerr << "tickflow: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace tickflow::cli
