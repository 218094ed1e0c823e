// PartitionReader: the chunks of one partition that overlap a time range, only the columns
// asked for, every block checked against its checksum before it is decompressed.
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "archive/format.hpp"
#include "archive/manifest.hpp"
#include "tickflow/archive.hpp"
#include "tickflow/diagnostics.hpp"

namespace tickflow::archive {

namespace fs = std::filesystem;
using format::ColumnManifest;

namespace {

// One column file, opened once; chunks are read with pread so that columns can be read
// concurrently.
struct OpenColumn {
  const ColumnManifest* manifest = nullptr;
  std::string path;
  int fd = -1;
};

}  // namespace

struct PartitionReader::Impl {
  PartitionInfo partition;
  std::string dir;
  format::PartitionManifest manifest;
  std::vector<Field> fields;
  bool with_sequence = false;
  std::optional<int64_t> start, end;
  OpenColumn time, sequence;
  std::vector<OpenColumn> columns;  // per requested field; fd -1 when the partition lacks it
  size_t next = 0;                  // next chunk to look at
  std::vector<int64_t> chunk_sequence;
  // Per part of a chunk (time, sequence, fields): buffers kept from chunk to chunk, so that
  // reading does not allocate (and page-fault in) fresh memory for every chunk.
  std::vector<std::string> compressed_buffers, raw_buffers;
  int64_t chunks_read = 0;

  ~Impl() {
    for (OpenColumn* c : all()) {
      if (c->fd >= 0) ::close(c->fd);
    }
  }

  std::vector<OpenColumn*> all() {
    std::vector<OpenColumn*> out{&time, &sequence};
    for (auto& c : columns) out.push_back(&c);
    return out;
  }

  void open(OpenColumn& column, const ColumnManifest& manifest_column) {
    column.manifest = &manifest_column;
    column.path = (fs::path(dir) / manifest_column.file).string();
    column.fd = ::open(column.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (column.fd < 0) {
      throw RuntimeError(
          fmt::format("cannot read archive file '{}': {}", column.path, std::strerror(errno)),
          Location{column.path});
    }
  }

  RuntimeError damaged(const OpenColumn& column, size_t chunk, const std::string& why) const {
    return RuntimeError(fmt::format("archive file '{}' is damaged: chunk {} of {} {}", column.path,
                                    chunk, manifest.chunks.size(), why),
                        Location{column.path});
  }

  // Reads, checks and decompresses block `chunk` of `column` into `raw`.
  void load_block(const OpenColumn& column, size_t chunk, std::string& compressed,
                  std::string& raw) const {
    const format::Block& block = column.manifest->blocks[chunk];
    compressed.resize(static_cast<size_t>(block.size));
    size_t done = 0;
    while (done < compressed.size()) {
      const ssize_t n = ::pread(column.fd, compressed.data() + done, compressed.size() - done,
                                static_cast<off_t>(block.offset + static_cast<int64_t>(done)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw damaged(column, chunk, std::string("cannot be read: ") + strerror(errno));
      if (n == 0) throw damaged(column, chunk, "is cut short (the file is truncated)");
      done += static_cast<size_t>(n);
    }
    if (format::checksum(compressed.data(), compressed.size()) != block.checksum) {
      throw damaged(column, chunk, "fails its checksum");
    }
    if (!format::decompress(compressed, static_cast<size_t>(block.raw_size), raw)) {
      throw damaged(column, chunk, "does not decompress");
    }
  }
};

PartitionReader::PartitionReader(const TableCatalog& catalog, const PartitionInfo& partition,
                                 std::vector<Field> fields, bool with_sequence,
                                 std::optional<int64_t> start, std::optional<int64_t> end)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.partition = partition;
  s.dir = (fs::path(catalog.table_dir) / partition.dir).string();
  s.fields = std::move(fields);
  s.with_sequence = with_sequence;
  s.start = start;
  s.end = end;
  const std::string manifest_path = (fs::path(s.dir) / format::kManifestFile).string();
  uint64_t manifest_checksum = 0;
  s.manifest =
      format::manifest_from_json(format::parse_checked_json(format::read_file(manifest_path),
                                                            manifest_path, &manifest_checksum),
                                 manifest_path);
  if (manifest_checksum != partition.manifest_checksum || s.manifest.ticks != partition.ticks) {
    throw RuntimeError(
        fmt::format("archive file '{}' is damaged: it is not the manifest the catalog lists",
                    manifest_path),
        Location{manifest_path});
  }
  s.open(s.time, s.manifest.time);
  if (with_sequence) s.open(s.sequence, s.manifest.sequence);
  s.columns.resize(s.fields.size());
  for (size_t i = 0; i < s.fields.size(); ++i) {
    const Field& field = s.fields[i];
    for (const auto& column : s.manifest.fields) {
      if (column.name != field.name) continue;
      if (column.type != field.type) {
        throw RuntimeError(
            fmt::format("archive file '{}' is damaged: field '{}' is {} there, {} in the catalog",
                        manifest_path, field.name, type_name(column.type), type_name(field.type)),
            Location{manifest_path});
      }
      s.open(s.columns[i], column);
    }
  }
  // Skip the chunks that end before the range starts (the time index).
  if (start) {
    while (s.next < s.manifest.chunks.size() && s.manifest.chunks[s.next].max_time < *start) {
      ++s.next;
    }
  }
}

PartitionReader::~PartitionReader() = default;
PartitionReader::PartitionReader(PartitionReader&&) noexcept = default;

const PartitionInfo& PartitionReader::partition() const {
  return impl_->partition;
}
int64_t PartitionReader::chunks_read() const {
  return impl_->chunks_read;
}
const std::vector<int64_t>& PartitionReader::sequence() const {
  return impl_->chunk_sequence;
}

bool PartitionReader::next_chunk(Batch& out, const ParallelFor& parallel) {
  Impl& s = *impl_;
  while (true) {
    if (s.next >= s.manifest.chunks.size()) return false;
    const size_t chunk = s.next++;
    const format::ChunkManifest& meta = s.manifest.chunks[chunk];
    if (s.end && meta.min_time >= *s.end) {
      s.next = s.manifest.chunks.size();
      return false;
    }
    const size_t rows = static_cast<size_t>(meta.rows);
    ++s.chunks_read;
    // The decoders overwrite the previous chunk's values in place (resizing to this chunk's
    // rows): clearing first would make them zero-fill every column of every chunk.
    if (out.columns.size() != s.fields.size()) {
      out.columns.clear();
      for (const auto& field : s.fields) out.columns.emplace_back(field.type);
    }
    const size_t parts = s.fields.size() + 2;
    s.compressed_buffers.resize(parts);
    s.raw_buffers.resize(parts);
    // Part 0: time, 1: sequence, 2..: fields.
    parallel(parts, [&](size_t part) {
      std::string& compressed = s.compressed_buffers[part];
      std::string& raw = s.raw_buffers[part];
      if (part == 0) {
        s.load_block(s.time, chunk, compressed, raw);
        if (!format::decode_ints(raw, rows, format::Encoding::Delta, out.times)) {
          throw s.damaged(s.time, chunk, "does not decode");
        }
        return;
      }
      if (part == 1) {
        if (!s.with_sequence) return;
        s.load_block(s.sequence, chunk, compressed, raw);
        if (!format::decode_ints(raw, rows, format::Encoding::Delta, s.chunk_sequence)) {
          throw s.damaged(s.sequence, chunk, "does not decode");
        }
        return;
      }
      const OpenColumn& column = s.columns[part - 2];
      Column& target = out.columns[part - 2];
      if (column.fd < 0) {
        target.clear();  // loaded before the field was added: type defaults
        target.resize(rows);
        return;
      }
      s.load_block(column, chunk, compressed, raw);
      if (!format::decode_column(raw, rows, target)) {
        throw s.damaged(column, chunk, "does not decode");
      }
    });
    if (out.times.front() != meta.min_time || out.times.back() != meta.max_time ||
        !std::is_sorted(out.times.begin(), out.times.end())) {
      throw s.damaged(s.time, chunk, "holds times outside its index entry");
    }
    // Clip to the range: the times are sorted, so it removes a prefix and a suffix.
    size_t begin = 0, stop = rows;
    if (s.start && meta.min_time < *s.start) {
      begin = static_cast<size_t>(std::lower_bound(out.times.begin(), out.times.end(), *s.start) -
                                  out.times.begin());
    }
    if (s.end && meta.max_time >= *s.end) {
      stop = static_cast<size_t>(std::lower_bound(out.times.begin(), out.times.end(), *s.end) -
                                 out.times.begin());
    }
    if (begin >= stop) continue;
    if (begin > 0 || stop < rows) {
      out = out.slice(begin, stop);
      if (s.with_sequence) {
        s.chunk_sequence =
            std::vector<int64_t>(s.chunk_sequence.begin() + begin, s.chunk_sequence.begin() + stop);
      }
    }
    return true;
  }
}

}  // namespace tickflow::archive
