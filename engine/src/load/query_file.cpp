// A query file from disk: its text read with the checks a path needs (a directory, an
// unreadable file, a data file given by mistake), then loaded by load_query_text
// (query_loader.cpp).
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "tickflow/query.hpp"

namespace tickflow {

std::optional<std::string> read_query_file(const std::string& path, Diagnostics& diags) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    diags.error({path, 0, 0}, "query file '" + path + "' is a directory");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.error({path, 0, 0}, "cannot open query file '" + path + "'");
    return std::nullopt;
  }
  // Read at most one byte past the limit, so that /dev/zero or a mistaken data file
  // gives an error instead of filling memory.
  std::string text;
  char chunk[65536];
  while (in && text.size() <= kMaxQueryFileBytes) {
    in.read(chunk, sizeof chunk);
    text.append(chunk, static_cast<size_t>(in.gcount()));
  }
  if (text.size() > kMaxQueryFileBytes) {
    diags.error({path, 0, 0}, "query file '" + path + "' is larger than " +
                                  std::to_string(kMaxQueryFileBytes >> 20) +
                                  " MiB (is it a data file?)");
    return std::nullopt;
  }
  if (in.bad()) {
    diags.error({path, 0, 0}, "cannot read query file '" + path + "'");
    return std::nullopt;
  }
  return text;
}

std::unique_ptr<Query> load_query(const std::string& path, const Registry& registry,
                                  const QueryOverrides& overrides, Diagnostics& diags) {
  std::optional<std::string> text = read_query_file(path, diags);
  if (!text) return nullptr;
  return load_query_text(*text, path, registry, overrides, diags);
}

}  // namespace tickflow
