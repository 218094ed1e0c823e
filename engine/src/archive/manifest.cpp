#include "archive/manifest.hpp"

#include <fmt/format.h>

#include "tickflow/diagnostics.hpp"

namespace tickflow::archive::format {

namespace {

nlohmann::json column_to_json(const ColumnManifest& column) {
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : column.blocks) {
    blocks.push_back({b.offset, b.size, b.raw_size, b.checksum});
  }
  return {{"name", column.name},
          {"type", std::string(type_name(column.type))},
          {"file", column.file},
          {"encoding", std::string(encoding_name(column.encoding))},
          {"blocks", blocks}};
}

ColumnManifest column_from_json(const nlohmann::json& json, size_t chunk_count) {
  ColumnManifest column;
  column.name = json.at("name").get<std::string>();
  auto type = parse_type(json.at("type").get<std::string>());
  if (!type) throw std::runtime_error("unknown type of column " + column.name);
  column.type = *type;
  column.file = json.at("file").get<std::string>();
  if (column.file.empty() || column.file.find('/') != std::string::npos || column.file[0] == '.') {
    throw std::runtime_error("bad file name of column " + column.name);
  }
  const std::string encoding = json.at("encoding").get<std::string>();
  if (encoding == "plain") {
    column.encoding = Encoding::Plain;
  } else if (encoding == "delta") {
    column.encoding = Encoding::Delta;
  } else if (encoding == "string") {
    column.encoding = Encoding::String;
  } else {
    throw std::runtime_error("unknown encoding '" + encoding + "'");
  }
  if ((column.encoding == Encoding::String) != (column.type == Type::String)) {
    throw std::runtime_error("encoding does not fit the type of column " + column.name);
  }
  for (const auto& b : json.at("blocks")) {
    Block block{json_int64(b.at(0)), json_int64(b.at(1)), json_int64(b.at(2)),
                json_uint64(b.at(3))};
    if (block.offset < 0 || block.size <= 0 || block.raw_size < 0) {
      throw std::runtime_error("bad block of column " + column.name);
    }
    column.blocks.push_back(block);
  }
  if (column.blocks.size() != chunk_count) {
    throw std::runtime_error("column " + column.name + " does not have one block per chunk");
  }
  return column;
}

}  // namespace

nlohmann::json manifest_to_json(const PartitionManifest& manifest) {
  nlohmann::json chunks = nlohmann::json::array();
  for (const auto& c : manifest.chunks) chunks.push_back({c.rows, c.min_time, c.max_time});
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& f : manifest.fields) fields.push_back(column_to_json(f));
  return {{"format", kFormatVersion},
          {"ticks", manifest.ticks},
          {"chunks", chunks},
          {"time", column_to_json(manifest.time)},
          {"sequence", column_to_json(manifest.sequence)},
          {"fields", fields}};
}

PartitionManifest manifest_from_json(const nlohmann::json& json, const std::string& path) {
  PartitionManifest manifest;
  try {
    if (json_int64(json.at("format")) != kFormatVersion) {
      throw std::runtime_error("unsupported format version");
    }
    manifest.ticks = json_int64(json.at("ticks"));
    int64_t rows = 0;
    for (const auto& c : json.at("chunks")) {
      ChunkManifest chunk{json_int64(c.at(0)), json_int64(c.at(1)), json_int64(c.at(2))};
      if (chunk.rows <= 0 || chunk.min_time > chunk.max_time) {
        throw std::runtime_error("bad chunk entry");
      }
      if (__builtin_add_overflow(rows, chunk.rows, &rows)) {
        throw std::runtime_error("chunk rows overflow");
      }
      manifest.chunks.push_back(chunk);
    }
    if (rows != manifest.ticks) throw std::runtime_error("chunk rows do not add up to ticks");
    const size_t n = manifest.chunks.size();
    manifest.time = column_from_json(json.at("time"), n);
    manifest.sequence = column_from_json(json.at("sequence"), n);
    for (const auto& f : json.at("fields")) manifest.fields.push_back(column_from_json(f, n));
  } catch (const std::exception& e) {
    throw RuntimeError(fmt::format("archive file '{}' is damaged: {}", path, e.what()),
                       Location{path});
  }
  return manifest;
}

}  // namespace tickflow::archive::format
