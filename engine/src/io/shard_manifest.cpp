// Partitions of a sharded run and the manifest each part carries (tickflow/shard.hpp).
#include "tickflow/shard.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tickflow/diagnostics.hpp"

namespace tickflow {
namespace {

constexpr int64_t kNanosPerDay = int64_t{86400} * 1000 * 1000 * 1000;

int64_t floor_day(int64_t nanos) {
  int64_t day = nanos / kNanosPerDay;
  return nanos % kNanosPerDay < 0 ? day - 1 : day;
}

std::optional<size_t> whole_number(std::string_view text) {
  size_t value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return value;
}

constexpr const char* kManifestVersionKey = "tickflow_shard";

}  // namespace

ShardSpec parse_shard(const std::string& text) {
  size_t slash = text.find('/');
  std::optional<size_t> index, count;
  if (slash != std::string::npos) {
    index = whole_number(std::string_view(text).substr(0, slash));
    count = whole_number(std::string_view(text).substr(slash + 1));
  }
  if (!index || !count) {
    throw UsageError(
        "--shard expects I/N, two whole numbers such as 0/4 (shard I of N, I from 0), "
        "found '" +
        text + "'");
  }
  if (*count == 0) throw UsageError("--shard " + text + ": N must be at least 1");
  if (*index >= *count) {
    throw UsageError("--shard " + text + ": I must be less than N (shards are numbered 0 to " +
                     std::to_string(*count - 1) + ")");
  }
  return {*index, *count, ShardBy::Symbol};
}

std::vector<std::string> shard_symbols(const std::vector<std::string>& symbols,
                                       const ShardSpec& spec) {
  std::vector<std::string> mine;
  for (size_t i = spec.index; i < symbols.size(); i += spec.count) mine.push_back(symbols[i]);
  return mine;
}

std::optional<std::pair<int64_t, int64_t>> shard_day_range(int64_t start, int64_t end,
                                                           const ShardSpec& spec) {
  if (end <= start) return std::nullopt;
  const int64_t first_day = floor_day(start);
  const auto days = static_cast<uint64_t>(floor_day(end - 1) - first_day + 1);
  // I*D/N without overflow for any realistic D (days of int64 nanoseconds: < 2^18).
  const auto from = static_cast<int64_t>(spec.index * days / spec.count);
  const auto to = static_cast<int64_t>((spec.index + 1) * days / spec.count);
  if (from == to) return std::nullopt;
  return std::pair{std::max(start, (first_day + from) * kNanosPerDay),
                   std::min(end, (first_day + to) * kNanosPerDay)};
}

std::string manifest_path(const std::string& output_path) {
  return output_path + ".shard.json";
}

std::string manifest_json(const ShardManifest& m) {
  nlohmann::ordered_json blocks = nlohmann::ordered_json::array();
  for (const auto& [position, ticks] : m.blocks) blocks.push_back({position, ticks});
  nlohmann::ordered_json json{{kManifestVersionKey, 1},
                              {"shard", m.spec.index},
                              {"shards", m.spec.count},
                              {"by", m.spec.by == ShardBy::Day ? "day" : "symbol"},
                              {"order", m.time_order ? "time" : "symbols"},
                              {"format", m.format},
                              {"ticks", m.ticks},
                              {"bytes", m.bytes},
                              {"symbols", m.symbols},
                              {"blocks", blocks}};
  return json.dump() + "\n";
}

ShardManifest read_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw UsageError(path +
                     ": cannot open the shard manifest (every part of a sharded run has one; "
                     "was the part written by tickflow run --shard?)");
  }
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  auto fail = [&](const std::string& what) -> UsageError {
    return UsageError(path + ": not a valid shard manifest: " + what);
  };
  if (json.is_discarded() || !json.is_object()) throw fail("not a JSON object");
  if (json.value(kManifestVersionKey, 0) != 1) throw fail("'tickflow_shard' must be 1");
  auto number = [&](const char* key) -> uint64_t {
    if (!json.contains(key) || !json[key].is_number_unsigned())
      throw fail(std::string("'") + key + "' must be a whole number");
    return json[key].get<uint64_t>();
  };
  auto text_field = [&](const char* key, std::initializer_list<const char*> allowed) {
    std::string value =
        json.contains(key) && json[key].is_string() ? json[key].get<std::string>() : std::string();
    for (const char* a : allowed)
      if (value == a) return value;
    throw fail(std::string("'") + key + "' has an unknown value");
  };
  ShardManifest m;
  m.spec.index = number("shard");
  m.spec.count = number("shards");
  if (m.spec.count == 0 || m.spec.index >= m.spec.count) throw fail("shard is not below shards");
  m.spec.by = text_field("by", {"symbol", "day"}) == "day" ? ShardBy::Day : ShardBy::Symbol;
  m.time_order = text_field("order", {"symbols", "time"}) == "time";
  m.format = text_field("format", {"csv", "jsonl"});
  m.ticks = static_cast<int64_t>(number("ticks"));
  m.bytes = number("bytes");
  if (!json.contains("symbols") || !json["symbols"].is_array())
    throw fail("'symbols' must be a list");
  for (const auto& s : json["symbols"]) {
    if (!s.is_string()) throw fail("'symbols' must hold strings");
    m.symbols.push_back(s.get<std::string>());
  }
  if (!json.contains("blocks") || !json["blocks"].is_array()) throw fail("'blocks' must be a list");
  for (const auto& b : json["blocks"]) {
    if (!b.is_array() || b.size() != 2 || !b[0].is_number_unsigned() ||
        !b[1].is_number_unsigned() || b[0].get<uint64_t>() >= m.symbols.size())
      throw fail("each block must be [symbol position, ticks]");
    m.blocks.emplace_back(b[0].get<size_t>(), b[1].get<int64_t>());
  }
  return m;
}

}  // namespace tickflow
