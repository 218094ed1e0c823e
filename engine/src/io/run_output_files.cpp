// RunOutputFiles: the output files of `tickflow run` and of the Python package's sharded runs,
// with the manifests of a shard (tickflow/shard.hpp).
#include <filesystem>
#include <unordered_map>

#include "tickflow/shard.hpp"

namespace tickflow {

struct RunOutputFiles::Impl {
  struct Stream {
    std::unique_ptr<OutputFile> file;
    std::unique_ptr<TickWriter> writer;
    std::string target;
    std::string symbol;
    ShardManifest manifest;
  };
  std::vector<Stream> streams;
  bool sharded = false;
  std::unordered_map<std::string, size_t> positions;
};

RunOutputFiles::RunOutputFiles(const Query& query, OutputFormat format,
                               const std::vector<std::string>& targets,
                               std::optional<ShardManifest> shard)
    : impl_(std::make_unique<Impl>()) {
  const bool with_symbols = !query.info.symbols.empty();
  impl_->sharded = shard.has_value();
  if (shard) {
    for (size_t i = 0; i < shard->symbols.size(); ++i)
      impl_->positions.emplace(shard->symbols[i], i);
  }
  for (size_t i = 0; i < query.outputs.size(); ++i) {
    const OutputRef& ref = query.outputs[i];
    Impl::Stream stream;
    stream.target = targets[i];
    stream.file = targets[i].empty() ? OutputFile::standard_output() : OutputFile::open(targets[i]);
    stream.writer = std::make_unique<TickWriter>(
        format, query.nodes[ref.node].output_schemas[ref.port], *stream.file,
        with_symbols ? std::optional<std::string>("") : std::nullopt);
    if (auto zone = output_zone(query.info.output_time_zone)) stream.writer->set_output_zone(*zone);
    if (shard) stream.manifest = *shard;
    impl_->streams.push_back(std::move(stream));
  }
}

RunOutputFiles::~RunOutputFiles() = default;

void RunOutputFiles::write(size_t output, const std::string& symbol, const Batch& batch) {
  Impl::Stream& stream = impl_->streams[output];
  if (stream.symbol != symbol) {
    stream.writer->set_symbol(symbol);
    stream.symbol = symbol;
  }
  stream.writer->write(batch);
  if (!impl_->sharded) return;
  ShardManifest& m = stream.manifest;
  m.ticks += static_cast<int64_t>(batch.size());
  if (m.time_order || symbol.empty()) return;
  size_t position = impl_->positions.at(symbol);
  if (m.blocks.empty() || m.blocks.back().first != position) m.blocks.emplace_back(position, 0);
  m.blocks.back().second += static_cast<int64_t>(batch.size());
}

void RunOutputFiles::commit() {
  for (auto& s : impl_->streams) s.writer->finish();
  for (auto& s : impl_->streams) s.file->commit();
  if (!impl_->sharded) return;
  for (auto& s : impl_->streams) {
    try {
      s.manifest.bytes = std::filesystem::file_size(s.target);
      auto file = OutputFile::open(manifest_path(s.target));
      file->write(manifest_json(s.manifest));
      file->commit();
    } catch (const std::exception& e) {
      // A part without its manifest would only be refused later.
      std::error_code ec;
      std::filesystem::remove(s.target, ec);
      throw RuntimeError(std::string("cannot write the shard manifest of '") + s.target +
                         "': " + e.what());
    }
  }
}

void RunOutputFiles::abort() noexcept {
  for (auto& s : impl_->streams) s.file->abort();
}

}  // namespace tickflow
