// The manifest of one partition: its chunks (rows and time range) and, per column, where
// each chunk's compressed bytes are in the column file and their checksum.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archive/format.hpp"
#include "tickflow/types.hpp"

namespace tickflow::archive::format {

struct Block {
  int64_t offset = 0;
  int64_t size = 0;      // compressed
  int64_t raw_size = 0;  // encoded, before compression
  uint64_t checksum = 0;
};

struct ColumnManifest {
  std::string name;  // a field, or TIMESTAMP, or "" for the load sequence
  Type type = Type::Int;
  std::string file;
  Encoding encoding = Encoding::Plain;
  std::vector<Block> blocks;  // one per chunk
};

struct ChunkManifest {
  int64_t rows = 0;
  int64_t min_time = 0;
  int64_t max_time = 0;
};

struct PartitionManifest {
  int64_t ticks = 0;
  std::vector<ChunkManifest> chunks;
  ColumnManifest time;
  ColumnManifest sequence;
  std::vector<ColumnManifest> fields;
};

nlohmann::json manifest_to_json(const PartitionManifest& manifest);
// Throws RuntimeError (data) naming `path` when the manifest does not hold together.
PartitionManifest manifest_from_json(const nlohmann::json& json, const std::string& path);

}  // namespace tickflow::archive::format
