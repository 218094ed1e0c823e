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
  // next_chunk_rows: per field, its block of the chunk being read in row ranges (a field the
  // partition lacks has none: its rows are the type's default); the first row in the range.
  std::vector<format::BlockRows> blocks;
  size_t first_row = 0;

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

  // The next chunk overlapping the range: its times (checked against the chunk's index entry
  // and clipped to the range) into `times`, its sequence numbers when asked for, and for
  // every field its block read, checked and decompressed, handed to
  // decode_field(field, chunk, rows, raw) (raw is null for a field the partition lacks), all
  // through `parallel`; then clip(begin, stop) with the rows of the chunk in the range.
  // False when no chunk is left.
  template <class DecodeField, class Clip>
  bool read_chunk(std::vector<int64_t>& times, const ParallelFor& parallel,
                  const DecodeField& decode_field, const Clip& clip) {
    while (true) {
      if (next >= manifest.chunks.size()) return false;
      const size_t chunk = next++;
      const format::ChunkManifest& meta = manifest.chunks[chunk];
      if (end && meta.min_time >= *end) {
        next = manifest.chunks.size();
        return false;
      }
      const size_t rows = static_cast<size_t>(meta.rows);
      ++chunks_read;
      const size_t parts = fields.size() + 2;
      compressed_buffers.resize(parts);
      raw_buffers.resize(parts);
      // Part 0: time, 1: sequence, 2..: fields.
      parallel(parts, [&](size_t part) {
        std::string& compressed = compressed_buffers[part];
        std::string& raw = raw_buffers[part];
        if (part == 0) {
          load_block(time, chunk, compressed, raw);
          if (!format::decode_ints(raw, rows, format::Encoding::Delta, times)) {
            throw damaged(time, chunk, "does not decode");
          }
          return;
        }
        if (part == 1) {
          if (!with_sequence) return;
          load_block(sequence, chunk, compressed, raw);
          if (!format::decode_ints(raw, rows, format::Encoding::Delta, chunk_sequence)) {
            throw damaged(sequence, chunk, "does not decode");
          }
          return;
        }
        const size_t field = part - 2;
        if (columns[field].fd < 0) return decode_field(field, chunk, rows, nullptr);
        load_block(columns[field], chunk, compressed, raw);
        decode_field(field, chunk, rows, &raw);
      });
      if (times.front() != meta.min_time || times.back() != meta.max_time ||
          !std::is_sorted(times.begin(), times.end())) {
        throw damaged(time, chunk, "holds times outside its index entry");
      }
      // Clip to the range: the times are sorted, so it removes a prefix and a suffix.
      size_t begin = 0, stop = rows;
      if (start && meta.min_time < *start) {
        begin = static_cast<size_t>(std::lower_bound(times.begin(), times.end(), *start) -
                                    times.begin());
      }
      if (end && meta.max_time >= *end) {
        stop =
            static_cast<size_t>(std::lower_bound(times.begin(), times.end(), *end) - times.begin());
      }
      if (begin >= stop) continue;
      clip(begin, stop);
      if (begin > 0 || stop < rows) {
        times.erase(times.begin() + static_cast<ptrdiff_t>(stop), times.end());
        times.erase(times.begin(), times.begin() + static_cast<ptrdiff_t>(begin));
        if (with_sequence) {
          chunk_sequence.erase(chunk_sequence.begin() + static_cast<ptrdiff_t>(stop),
                               chunk_sequence.end());
          chunk_sequence.erase(chunk_sequence.begin(),
                               chunk_sequence.begin() + static_cast<ptrdiff_t>(begin));
        }
      }
      return true;
    }
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
  // The decoders overwrite the previous chunk's values in place (resizing to this chunk's
  // rows): clearing first would make them zero-fill every column of every chunk.
  if (out.columns.size() != s.fields.size()) {
    out.columns.clear();
    for (const auto& field : s.fields) out.columns.emplace_back(field.type);
  }
  return s.read_chunk(
      out.times, parallel,
      [&](size_t field, size_t chunk, size_t rows, const std::string* raw) {
        Column& target = out.columns[field];
        if (!raw) {
          target.clear();  // loaded before the field was added: type defaults
          target.resize(rows);
        } else if (!format::decode_column(*raw, rows, target)) {
          throw s.damaged(s.columns[field], chunk, "does not decode");
        }
      },
      [&](size_t begin, size_t stop) {
        for (Column& column : out.columns) {
          with_value_type(column.type(), [&]<class T>() {
            auto& values = column.values<T>();
            if constexpr (std::is_same_v<T, std::string>) {
              values.keep_range(begin, stop);
            } else {
              values.erase(values.begin() + static_cast<ptrdiff_t>(stop), values.end());
              values.erase(values.begin(), values.begin() + static_cast<ptrdiff_t>(begin));
            }
          });
        }
      });
}

bool PartitionReader::next_chunk_rows(std::vector<int64_t>& times, const ParallelFor& parallel) {
  Impl& s = *impl_;
  s.blocks.resize(s.fields.size());
  return s.read_chunk(
      times, parallel,
      [&](size_t field, size_t chunk, size_t rows, const std::string* raw) {
        if (raw && !s.blocks[field].open(*raw, rows, s.fields[field].type)) {
          throw s.damaged(s.columns[field], chunk, "does not decode");
        }
      },
      [&](size_t begin, size_t) { s.first_row = begin; });
}

void PartitionReader::append_rows(size_t field, size_t begin, size_t end, Column& out) const {
  const Impl& s = *impl_;
  if (s.columns[field].fd < 0) {
    out.resize(out.size() + (end - begin));
    return;
  }
  s.blocks[field].append_rows(s.first_row + begin, s.first_row + end, out);
}

}  // namespace tickflow::archive
