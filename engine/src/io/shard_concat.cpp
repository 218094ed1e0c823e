// concat_shards (`tickflow concat`): puts the parts of a sharded run back together (docs/scale.md).
// The parts are merged by what their manifests say, never by re-sorting text:
// - output in symbol blocks: blocks by (symbol position, shard), each copied whole;
// - one time-ordered stream (--merge-symbols) of symbol shards: ticks by (time, symbol
//   position), the engine's tie rule; within a shard a symbol's ticks keep their order;
// - one time-ordered stream of day shards, or a run without symbols: the parts in order.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "tickflow/diagnostics.hpp"
#include "tickflow/shard.hpp"
#include "tickflow/time.hpp"

namespace tickflow {
namespace {

namespace fs = std::filesystem;

// Reads one part tick by tick: a tick is one line of JSONL, or one CSV record (which spans
// several lines when a quoted string holds a line break).
class PartReader {
 public:
  PartReader(std::string path, const ShardManifest& manifest)
      : path_(std::move(path)), manifest_(manifest), in_(path_, std::ios::binary) {
    if (!in_) throw UsageError(path_ + ": cannot open");
  }

  // The next record with its line break, or false at the end of the file.
  bool next() {
    record_.clear();
    std::string line;
    if (!std::getline(in_, line)) return false;
    record_ = line + "\n";
    if (manifest_.format == "csv") {
      while (std::count(record_.begin(), record_.end(), '"') % 2 == 1) {
        if (!std::getline(in_, line)) throw invalid("the file ends inside a quoted string");
        record_ += line + "\n";
      }
    }
    return true;
  }

  // The next tick (after the CSV header); counts it against the manifest.
  bool next_tick() {
    if (!next()) return false;
    if (++ticks_read_ > manifest_.ticks) throw invalid("it has more ticks than its manifest says");
    return true;
  }

  const std::string& record() const { return record_; }
  const std::string& path() const { return path_; }
  const ShardManifest& manifest() const { return manifest_; }

  void check_complete() const {
    if (ticks_read_ != manifest_.ticks) {
      throw invalid("it has " + std::to_string(ticks_read_) + " ticks, its manifest says " +
                    std::to_string(manifest_.ticks));
    }
  }

  // TIMESTAMP and SYMBOL of the current tick (output with a SYMBOL column).
  std::pair<int64_t, std::string> time_and_symbol() const {
    std::string time_text, symbol;
    if (manifest_.format == "jsonl") {
      auto json = nlohmann::json::parse(record_, nullptr, false);
      if (json.is_discarded() || !json.is_object() || !json.contains("TIMESTAMP") ||
          !json["TIMESTAMP"].is_string() || !json.contains("SYMBOL") || !json["SYMBOL"].is_string())
        throw invalid("a line is not a tick with TIMESTAMP and SYMBOL");
      time_text = json["TIMESTAMP"].get<std::string>();
      symbol = json["SYMBOL"].get<std::string>();
    } else {
      size_t comma = record_.find(',');
      if (comma == std::string::npos) throw invalid("a record has no SYMBOL column");
      time_text = record_.substr(0, comma);
      symbol = csv_field(comma + 1);
    }
    auto time = parse_time_or_nanos(time_text);
    if (!time) throw invalid("'" + time_text + "' is not a TIMESTAMP");
    return {*time, symbol};
  }

  UsageError invalid(const std::string& what) const {
    return UsageError(path_ + ": not the part its manifest describes: " + what);
  }

 private:
  // The CSV field starting at `pos`, unquoted (RFC 4180).
  std::string csv_field(size_t pos) const {
    std::string value;
    if (pos < record_.size() && record_[pos] == '"') {
      for (size_t i = pos + 1; i < record_.size(); ++i) {
        if (record_[i] != '"') {
          value += record_[i];
        } else if (i + 1 < record_.size() && record_[i + 1] == '"') {
          value += '"';
          ++i;
        } else {
          return value;
        }
      }
      throw invalid("unterminated quoted field");
    }
    size_t end = record_.find_first_of(",\n", pos);
    return record_.substr(pos, end - pos);
  }

  std::string path_;
  const ShardManifest& manifest_;
  std::ifstream in_;
  std::string record_;
  int64_t ticks_read_ = 0;
};

// The manifests of `paths`, checked to be the N shards of one run, in shard order.
std::vector<std::pair<std::string, ShardManifest>> shards_in_order(
    const std::vector<std::string>& paths) {
  std::vector<std::pair<std::string, ShardManifest>> parts;
  for (const auto& path : paths) parts.emplace_back(path, read_manifest(manifest_path(path)));
  const ShardManifest& first = parts.front().second;
  for (const auto& part : parts) {
    // (named references, not a structured binding: Clang 14 cannot capture one in a lambda)
    const std::string& path = part.first;
    const ShardManifest& m = part.second;
    auto differs = [&](const std::string& what) {
      return UsageError(path + " and " + parts.front().first +
                        " are not parts of the same sharded run: their " + what + " differ");
    };
    if (m.spec.count != first.spec.count) throw differs("shard counts (N)");
    if (m.spec.by != first.spec.by) throw differs("--shard-by");
    if (m.time_order != first.time_order) throw differs("output orders (--merge-symbols)");
    if (m.format != first.format) throw differs("formats");
    if (m.symbols != first.symbols) throw differs("symbol lists");
  }
  std::sort(parts.begin(), parts.end(),
            [](const auto& a, const auto& b) { return a.second.spec.index < b.second.spec.index; });
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0 && parts[i].second.spec.index == parts[i - 1].second.spec.index) {
      throw UsageError("shard " + std::to_string(parts[i].second.spec.index) + " is given twice (" +
                       parts[i - 1].first + ", " + parts[i].first + ")");
    }
  }
  std::string missing;
  for (size_t i = 0, k = 0; i < first.spec.count; ++i) {
    if (k < parts.size() && parts[k].second.spec.index == i) {
      ++k;
    } else {
      missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    }
  }
  if (!missing.empty()) {
    throw UsageError("shards " + missing + " of " + std::to_string(first.spec.count) +
                     " are missing: give every part of the run");
  }
  for (const auto& [path, m] : parts) {
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec) throw UsageError(path + ": cannot read: " + ec.message());
    if (size != m.bytes) {
      throw UsageError(path + ": " + std::to_string(size) + " bytes, its manifest says " +
                       std::to_string(m.bytes) + " (changed or cut short since it was written)");
    }
  }
  return parts;
}

void concat_files(const std::vector<std::string>& paths, const std::string& output) {
  auto parts = shards_in_order(paths);
  const ShardManifest& first = parts.front().second;
  std::vector<std::unique_ptr<PartReader>> readers;
  for (const auto& [path, m] : parts) readers.push_back(std::make_unique<PartReader>(path, m));

  auto out = output.empty() ? OutputFile::standard_output() : OutputFile::open(output);
  if (first.format == "csv") {
    std::string header;
    for (auto& reader : readers) {
      if (!reader->next()) throw reader->invalid("it has no CSV header");
      if (header.empty()) header = reader->record();
      if (reader->record() != header)
        throw reader->invalid("its header differs from " + readers.front()->path() + "'s");
    }
    out->write(header);
  }

  const bool by_blocks = !first.symbols.empty() && !first.time_order;
  const bool by_time =
      !first.symbols.empty() && first.time_order && first.spec.by == ShardBy::Symbol;
  if (by_blocks) {
    // Per part, its next block; the smallest (symbol position, shard) goes first.
    std::vector<size_t> next_block(readers.size(), 0);
    for (;;) {
      size_t best = readers.size();
      for (size_t p = 0; p < readers.size(); ++p) {
        const auto& blocks = readers[p]->manifest().blocks;
        if (next_block[p] == blocks.size()) continue;
        if (best == readers.size() ||
            blocks[next_block[p]].first < readers[best]->manifest().blocks[next_block[best]].first)
          best = p;
      }
      if (best == readers.size()) break;
      int64_t ticks = readers[best]->manifest().blocks[next_block[best]++].second;
      for (int64_t i = 0; i < ticks; ++i) {
        if (!readers[best]->next_tick())
          throw readers[best]->invalid("a symbol block is cut short");
        out->write(readers[best]->record());
      }
    }
  } else if (by_time) {
    std::map<std::string, size_t> position;
    for (size_t i = 0; i < first.symbols.size(); ++i) position.emplace(first.symbols[i], i);
    struct Head {
      int64_t time;
      size_t symbol;
    };
    std::vector<std::optional<Head>> heads(readers.size());
    auto advance = [&](size_t p) {
      heads[p].reset();
      if (!readers[p]->next_tick()) return;
      auto [time, symbol] = readers[p]->time_and_symbol();
      auto it = position.find(symbol);
      if (it == position.end())
        throw readers[p]->invalid("symbol '" + symbol + "' is not in its list");
      heads[p] = Head{time, it->second};
    };
    for (size_t p = 0; p < readers.size(); ++p) advance(p);
    for (;;) {
      size_t best = readers.size();
      for (size_t p = 0; p < readers.size(); ++p) {
        if (!heads[p]) continue;
        if (best == readers.size() || heads[p]->time < heads[best]->time ||
            (heads[p]->time == heads[best]->time && heads[p]->symbol < heads[best]->symbol))
          best = p;
      }
      if (best == readers.size()) break;
      out->write(readers[best]->record());
      advance(best);
    }
  } else {
    for (auto& reader : readers) {
      while (reader->next_tick()) out->write(reader->record());
    }
  }
  for (auto& reader : readers) {
    if (reader->next_tick()) throw reader->invalid("it has ticks after its last symbol block");
    reader->check_complete();
  }
  out->commit();
}

// The output files of a sharded run that wrote a directory: the names with a manifest.
std::vector<std::string> parts_in_directory(const std::string& dir) {
  const std::string suffix = manifest_path("");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.size() > suffix.size() && name.ends_with(suffix))
      names.push_back(name.substr(0, name.size() - suffix.size()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

void concat_shards(const std::vector<std::string>& parts, const std::string& output) {
  if (parts.empty()) throw UsageError("concat needs the parts of a sharded run");
  size_t directories = std::count_if(parts.begin(), parts.end(),
                                     [](const std::string& p) { return fs::is_directory(p); });
  if (directories == 0) {
    concat_files(parts, output);
    return;
  }
  if (directories != parts.size())
    throw UsageError("give either the parts' files or their directories, not both");
  if (output.empty()) throw UsageError("parts that are directories need -o DIR");
  const auto names = parts_in_directory(parts.front());
  if (names.empty()) throw UsageError(parts.front() + ": no part of a sharded run in it");
  for (const auto& dir : parts) {
    if (parts_in_directory(dir) != names)
      throw UsageError(dir + " and " + parts.front() + " hold different outputs");
  }
  std::vector<std::vector<std::string>> files_of_each(names.size());
  for (size_t n = 0; n < names.size(); ++n) {
    for (const auto& dir : parts) files_of_each[n].push_back((fs::path(dir) / names[n]).string());
    shards_in_order(files_of_each[n]);  // every output checked before any is written
  }
  fs::create_directories(output);
  for (size_t n = 0; n < names.size(); ++n)
    concat_files(files_of_each[n], (fs::path(output) / names[n]).string());
}

}  // namespace tickflow
