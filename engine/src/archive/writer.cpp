// TableWriter: one load into a table (see tickflow/archive.hpp for the guarantees).
//
// Each (day, symbol) partition of the load is built in a directory of its own, named with
// the load's id so that it never collides with a committed one. Rows are buffered per
// partition and written a chunk at a time (each column encoded and compressed in parallel);
// when the buffers of all partitions together pass a memory budget, the largest are
// written early as shorter chunks. commit() writes the manifests, syncs everything, and
// then replaces the catalog: the single rename that makes the load visible.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <tbb/parallel_for.h>

#include <fmt/format.h>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "archive/format.hpp"
#include "archive/manifest.hpp"
#include "core/tsan_handoff.hpp"
#include "tickflow/archive.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/time.hpp"

namespace tickflow::archive {

namespace fs = std::filesystem;
using format::Block;
using format::ColumnManifest;

namespace {

constexpr size_t kBufferBudgetBytes = size_t{256} << 20;

[[noreturn]] void throw_errno(const std::string& what, const std::string& path) {
  throw RuntimeError(fmt::format("{} '{}': {}", what, path, std::strerror(errno)));
}

// Appends `rows` of `src` to `dst` (same type).
void append_selected(Column& dst, const Column& src, const std::vector<uint32_t>& rows) {
  with_value_type(src.type(), [&]<class T>() {
    auto& out = dst.values<T>();
    const auto& in = src.values<T>();
    for (uint32_t r : rows) out.push_back(in[r]);
  });
}

int64_t raw_bytes_of(const Column& column, size_t begin, size_t end) {
  switch (column.type()) {
    case Type::Bool:
      return static_cast<int64_t>(end - begin);
    case Type::String: {
      int64_t total = 0;
      for (size_t i = begin; i < end; ++i) total += 4 + column.strings()[i].size();
      return total;
    }
    default:
      return static_cast<int64_t>(8 * (end - begin));
  }
}

std::string make_load_id() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return fmt::format("{:x}{:x}", std::chrono::duration_cast<std::chrono::microseconds>(now).count(),
                     static_cast<unsigned>(::getpid()));
}

// One day of one symbol being written by this load.
class PartitionBuilder {
 public:
  PartitionBuilder(int64_t day, std::string symbol, std::string dir, std::string abs_dir,
                   SchemaPtr schema)
      : day_(day),
        symbol_(std::move(symbol)),
        dir_(std::move(dir)),
        abs_dir_(std::move(abs_dir)),
        buffer_(std::move(schema)) {
    manifest_.time = {
        "TIMESTAMP", Type::Time, std::string(format::kTimeFile), format::Encoding::Delta, {}};
    manifest_.sequence = {
        "", Type::Int, std::string(format::kSequenceFile), format::Encoding::Delta, {}};
    for (const auto& field : buffer_.schema->fields()) {
      manifest_.fields.push_back({field.name,
                                  field.type,
                                  format::field_file(field.name),
                                  format::encoding_for(field.type),
                                  {}});
    }
  }

  int64_t day() const { return day_; }
  const std::string& symbol() const { return symbol_; }
  size_t buffered() const { return buffer_.size(); }

  // Appends rows of `batch` (whose columns are picked by `columns`: buffer field i comes from
  // batch column columns[i]) with their load sequence numbers.
  void append(const Batch& batch, const std::vector<size_t>& columns,
              const std::vector<uint32_t>& rows, const std::vector<int64_t>& sequence,
              size_t chunk_rows, int level) {
    size_t done = 0;
    std::vector<uint32_t> part;
    while (done < rows.size()) {
      const size_t take = std::min(rows.size() - done, chunk_rows - buffer_.size());
      part.assign(rows.begin() + static_cast<ptrdiff_t>(done),
                  rows.begin() + static_cast<ptrdiff_t>(done + take));
      for (uint32_t r : part) {
        const int64_t t = batch.times[r];
        if (t < last_time_) {
          throw RuntimeError(fmt::format(
              "ticks of symbol '{}' on {} are not in time order: {} after {}; the archive "
              "stores each symbol's ticks in time order",
              symbol_, day_name(day_), format_time(t), format_time(last_time_)));
        }
        last_time_ = t;
        buffer_.times.push_back(t);
        sequence_.push_back(sequence[r]);
      }
      for (size_t c = 0; c < columns.size(); ++c) {
        append_selected(buffer_.columns[c], batch.columns[columns[c]], part);
      }
      done += take;
      if (buffer_.size() == chunk_rows) flush(level);
    }
  }

  // Encodes, compresses and appends the buffered rows as one chunk.
  void flush(int level) {
    const size_t n = buffer_.size();
    if (n == 0) return;
    if (!created_) {
      fs::create_directories(abs_dir_);
      created_ = true;
    }
    const size_t columns = buffer_.columns.size();
    std::vector<std::string> compressed(columns + 2);
    std::vector<int64_t> raw_sizes(columns + 2);
    detail::TaskHandoff handoff;
    detail::TaskHandoff::before_spawn();
    tbb::parallel_for(size_t{0}, columns + 2, [&](size_t c) {
      detail::TaskHandoff::task_started();
      std::string encoded;
      if (c == 0) {
        format::encode_ints(buffer_.times.data(), n, format::Encoding::Delta, encoded);
      } else if (c == 1) {
        format::encode_ints(sequence_.data(), n, format::Encoding::Delta, encoded);
      } else {
        format::encode_column(buffer_.columns[c - 2], 0, n, encoded);
      }
      format::compress(encoded, level, compressed[c]);
      raw_sizes[c] = static_cast<int64_t>(encoded.size());
      handoff.task_finished();
    });
    handoff.after_wait();
    for (size_t c = 0; c < columns + 2; ++c) {
      ColumnManifest& column = c == 0   ? manifest_.time
                               : c == 1 ? manifest_.sequence
                                        : manifest_.fields[c - 2];
      append_block(column, compressed[c], raw_sizes[c]);
    }
    manifest_.chunks.push_back(
        {static_cast<int64_t>(n), buffer_.times.front(), buffer_.times.back()});
    if (manifest_.ticks == 0) min_time_ = buffer_.times.front();
    max_time_ = buffer_.times.back();
    manifest_.ticks += static_cast<int64_t>(n);
    raw_bytes_ += static_cast<int64_t>(8 * n);
    for (const auto& column : buffer_.columns) raw_bytes_ += raw_bytes_of(column, 0, n);
    buffer_.clear();
    sequence_.clear();
  }

  // Writes the last chunk and the manifest, and syncs the partition's files.
  PartitionInfo finish(int level) {
    flush(level);
    const std::string manifest_text =
        format::checked_json_text(format::manifest_to_json(manifest_));
    format::write_file_durably((fs::path(abs_dir_) / format::kManifestFile).string(),
                               manifest_text);
    bytes_ += static_cast<int64_t>(manifest_text.size());
    for (const ColumnManifest* column : all_columns()) {
      format::sync_file((fs::path(abs_dir_) / column->file).string());
    }
    format::sync_directory(abs_dir_);
    PartitionInfo info;
    info.day = day_;
    info.symbol = symbol_;
    info.dir = dir_;
    info.ticks = manifest_.ticks;
    info.min_time = min_time_;
    info.max_time = max_time_;
    info.bytes = bytes_;
    info.raw_bytes = raw_bytes_;
    const std::string body = manifest_text.substr(0, manifest_text.size() - 22);
    info.manifest_checksum = format::checksum(body.data(), body.size());
    return info;
  }

  const std::string& abs_dir() const { return abs_dir_; }

 private:
  std::vector<const ColumnManifest*> all_columns() const {
    std::vector<const ColumnManifest*> out{&manifest_.time, &manifest_.sequence};
    for (const auto& f : manifest_.fields) out.push_back(&f);
    return out;
  }

  void append_block(ColumnManifest& column, const std::string& bytes, int64_t raw_size) {
    const std::string path = (fs::path(abs_dir_) / column.file).string();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("cannot write archive file", path);
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error = errno;
        ::close(fd);
        errno = error;
        throw_errno("cannot write archive file", path);
      }
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    const int64_t offset =
        column.blocks.empty() ? 0 : column.blocks.back().offset + column.blocks.back().size;
    column.blocks.push_back({offset, static_cast<int64_t>(bytes.size()), raw_size,
                             format::checksum(bytes.data(), bytes.size())});
    bytes_ += static_cast<int64_t>(bytes.size());
  }

  int64_t day_;
  std::string symbol_;
  std::string dir_, abs_dir_;
  Batch buffer_;
  std::vector<int64_t> sequence_;
  format::PartitionManifest manifest_;
  int64_t last_time_ = INT64_MIN;
  int64_t min_time_ = 0, max_time_ = 0;
  int64_t bytes_ = 0, raw_bytes_ = 0;
  bool created_ = false;
};

struct PartitionKey {
  int64_t day;
  std::string symbol;
  bool operator<(const PartitionKey& o) const {
    return day != o.day ? day < o.day : symbol < o.symbol;
  }
};

}  // namespace

struct TableWriter::Impl {
  std::string db, table, table_dir;
  LoadOptions options;
  SchemaPtr input;
  std::string symbol_field;
  std::optional<size_t> symbol_column;  // in the input
  SchemaPtr stored;                     // input fields without the symbol field
  std::vector<size_t> stored_columns;   // input column of each stored field
  TableCatalog catalog;
  bool table_existed = false;
  int writer_lock = -1;
  std::string load_id;
  std::map<PartitionKey, std::unique_ptr<PartitionBuilder>> builders;
  int64_t next_sequence = 0;
  bool done = false;

  ~Impl() {
    if (writer_lock >= 0) ::close(writer_lock);
  }

  void lock_and_read() {
    fs::create_directories(table_dir);
    const std::string lock_path = (fs::path(table_dir) / format::kWriterLock).string();
    writer_lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (writer_lock < 0) throw_errno("cannot create", lock_path);
    while (::flock(writer_lock, LOCK_EX) != 0) {
      if (errno != EINTR) throw_errno("cannot lock", lock_path);
    }
    const std::string reader_lock = (fs::path(table_dir) / format::kReaderLock).string();
    const int fd = ::open(reader_lock.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("cannot create", reader_lock);
    ::close(fd);
    table_existed = table_exists(db, table);
    if (table_existed) {
      catalog = read_catalog(db, table);
    } else {
      catalog.table = table;
      catalog.table_dir = table_dir;
      catalog.symbol_field = symbol_field;
    }
  }

  // Schema rules: new fields are added; a known field must keep its type.
  void check_schema() {
    if (table_existed && catalog.symbol_field != symbol_field) {
      throw UsageError(
          fmt::format("table '{}' takes its symbols from field '{}', this load from '{}'", table,
                      catalog.symbol_field, symbol_field));
    }
    std::vector<Field> fields = catalog.schema.fields();
    auto add = [&](const Field& field) {
      auto it = std::find_if(fields.begin(), fields.end(),
                             [&](const Field& f) { return f.name == field.name; });
      if (it == fields.end()) {
        fields.push_back(field);
      } else if (it->type != field.type) {
        throw UsageError(fmt::format(
            "field '{}' is {} in table '{}' but {} in this load; a field keeps its type (load "
            "it into another table, or under another name)",
            field.name, type_name(it->type), table, type_name(field.type)));
      }
    };
    symbol_column = input->index_of(symbol_field);
    if (symbol_column && (*input)[*symbol_column].type != Type::String) {
      throw UsageError(fmt::format("symbol field '{}' must be a string, not {}", symbol_field,
                                   type_name((*input)[*symbol_column].type)));
    }
    if (!symbol_column) add({symbol_field, Type::String});
    std::vector<Field> stored_fields;
    for (size_t i = 0; i < input->size(); ++i) {
      add((*input)[i]);
      if (i == symbol_column) continue;
      stored_fields.push_back((*input)[i]);
      stored_columns.push_back(i);
    }
    catalog.schema = Schema(std::move(fields));
    stored = make_schema(std::move(stored_fields));
  }

  PartitionBuilder& builder_for(int64_t day, const std::string& symbol) {
    auto it = builders.find({day, symbol});
    if (it != builders.end()) return *it->second;
    if (!options.replace) {
      for (const auto& p : catalog.partitions) {
        if (p.day == day && p.symbol == symbol) {
          throw RuntimeError(fmt::format(
              "partition {}/{}/{} is already in the archive '{}' ({} ticks); load with --replace "
              "to overwrite it",
              table, day_name(day), symbol, db, p.ticks));
        }
      }
    }
    const std::string dir = day_name(day) + "/" + format::escape_symbol(symbol) + "." + load_id;
    auto builder = std::make_unique<PartitionBuilder>(day, symbol, dir,
                                                      (fs::path(table_dir) / dir).string(), stored);
    auto& ref = *builder;
    builders.emplace(PartitionKey{day, symbol}, std::move(builder));
    return ref;
  }

  void keep_memory_bounded() {
    size_t buffered = 0;
    const size_t row_bytes = 8 * (stored->size() + 2) + 16;
    for (const auto& [key, b] : builders) buffered += b->buffered();
    if (buffered * row_bytes <= kBufferBudgetBytes) return;
    std::vector<PartitionBuilder*> by_size;
    for (const auto& [key, b] : builders) by_size.push_back(b.get());
    std::sort(by_size.begin(), by_size.end(),
              [](auto* a, auto* b) { return a->buffered() > b->buffered(); });
    for (auto* b : by_size) {
      if (buffered * row_bytes <= kBufferBudgetBytes / 2) break;
      buffered -= b->buffered();
      b->flush(options.compression_level);
    }
  }

  void remove_unreferenced_directories() {
    // Only when no reader holds the table: a reader may still use a superseded partition.
    const std::string reader_lock = (fs::path(table_dir) / format::kReaderLock).string();
    const int fd = ::open(reader_lock.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return;
    }
    std::set<std::string> referenced;
    for (const auto& p : catalog.partitions) referenced.insert(p.dir);
    std::error_code ec;
    for (const auto& day_entry : fs::directory_iterator(table_dir, ec)) {
      const std::string day = day_entry.path().filename().string();
      if (!day_entry.is_directory(ec) || day.empty() || !std::isdigit(day[0])) continue;
      for (const auto& entry : fs::directory_iterator(day_entry.path(), ec)) {
        if (!referenced.count(day + "/" + entry.path().filename().string())) {
          fs::remove_all(entry.path(), ec);
        }
      }
      if (fs::is_empty(day_entry.path(), ec)) fs::remove(day_entry.path(), ec);
    }
    ::close(fd);
  }
};

TableWriter::TableWriter(const std::string& db, const std::string& table, SchemaPtr input,
                         const std::string& symbol_field, const LoadOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (!is_valid_name(table)) {
    throw UsageError(fmt::format("'{}' is not a valid table name ([A-Za-z_][A-Za-z0-9_]*)", table));
  }
  if (options.chunk_rows == 0 || options.chunk_rows > (size_t{1} << 24)) {
    throw UsageError("chunk rows must be between 1 and 16777216");
  }
  impl_->db = db;
  impl_->table = table;
  impl_->table_dir = (fs::path(db) / table).string();
  impl_->options = options;
  impl_->input = std::move(input);
  impl_->symbol_field = symbol_field;
  impl_->load_id = make_load_id();
  impl_->lock_and_read();
  impl_->check_schema();
  impl_->remove_unreferenced_directories();
}

TableWriter::~TableWriter() {
  abort();
}

void TableWriter::append(const Batch& batch, const std::string& symbol) {
  Impl& s = *impl_;
  if (s.done) throw RuntimeError("archive load already finished");
  const size_t n = batch.size();
  if (n == 0) return;
  std::vector<int64_t> sequence(n);
  for (size_t i = 0; i < n; ++i) sequence[i] = s.next_sequence + static_cast<int64_t>(i);
  s.next_sequence += static_cast<int64_t>(n);
  // Group the rows by partition, keeping their order. Symbols are looked up once per batch
  // and day (rows of one symbol often follow each other, so the previous row is checked first).
  std::vector<std::pair<PartitionBuilder*, std::vector<uint32_t>>> groups;
  std::unordered_map<PartitionBuilder*, size_t> group_of_builder;
  std::unordered_map<std::string_view, size_t> group_of_symbol;  // for the current day
  const StringColumn* symbols =
      s.symbol_column ? &batch.columns[*s.symbol_column].strings() : nullptr;
  int64_t day_start = 1, day_end = 0;
  std::string_view last_symbol;
  size_t last_group = SIZE_MAX;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view sym = symbols ? (*symbols)[i] : symbol;
    const int64_t t = batch.times[i];
    if (t < day_start || t >= day_end) {
      day_start = day_of(t) * kNanosPerDay;
      day_end = day_start + kNanosPerDay;
      group_of_symbol.clear();
      last_group = SIZE_MAX;
    }
    if (last_group == SIZE_MAX || sym != last_symbol) {
      auto found = group_of_symbol.find(sym);
      if (found == group_of_symbol.end()) {
        PartitionBuilder* builder = &s.builder_for(day_start / kNanosPerDay, std::string(sym));
        auto [it, added] = group_of_builder.emplace(builder, groups.size());
        if (added) groups.push_back({builder, {}});
        found = group_of_symbol.emplace(sym, it->second).first;
      }
      last_group = found->second;
      last_symbol = sym;
    }
    groups[last_group].second.push_back(static_cast<uint32_t>(i));
  }
  for (auto& [builder, rows] : groups) {
    builder->append(batch, s.stored_columns, rows, sequence, s.options.chunk_rows,
                    s.options.compression_level);
  }
  s.keep_memory_bounded();
}

LoadStats TableWriter::commit() {
  Impl& s = *impl_;
  if (s.done) throw RuntimeError("archive load already finished");
  LoadStats stats;
  std::vector<PartitionInfo> added;
  std::set<std::string> day_dirs;
  for (auto& [key, builder] : s.builders) {
    PartitionInfo info = builder->finish(s.options.compression_level);
    stats.ticks += info.ticks;
    stats.bytes += info.bytes;
    stats.raw_bytes += info.raw_bytes;
    day_dirs.insert((fs::path(s.table_dir) / day_name(info.day)).string());
    added.push_back(std::move(info));
  }
  for (const auto& dir : day_dirs) format::sync_directory(dir);
  format::sync_directory(s.table_dir);
  stats.partitions = static_cast<int64_t>(added.size());

  std::vector<PartitionInfo> partitions;
  for (auto& p : s.catalog.partitions) {
    if (s.builders.count({p.day, p.symbol})) {
      ++stats.replaced;
    } else {
      partitions.push_back(std::move(p));
    }
  }
  for (auto& p : added) partitions.push_back(std::move(p));
  std::sort(partitions.begin(), partitions.end(), [](const auto& a, const auto& b) {
    return a.day != b.day ? a.day < b.day : a.symbol < b.symbol;
  });
  s.catalog.partitions = std::move(partitions);
  // The commit point: before this rename readers see the old catalog, after it the new.
  format::write_file_durably((fs::path(s.table_dir) / format::kCatalogFile).string(),
                             format::checked_json_text(format::catalog_to_json(s.catalog)));
  s.done = true;
  s.builders.clear();
  s.remove_unreferenced_directories();
  return stats;
}

void TableWriter::abort() noexcept {
  if (!impl_ || impl_->done) return;
  impl_->done = true;
  std::error_code ec;
  for (auto& [key, builder] : impl_->builders) {
    fs::remove_all(builder->abs_dir(), ec);
    const fs::path day_dir = fs::path(builder->abs_dir()).parent_path();
    if (fs::is_empty(day_dir, ec)) fs::remove(day_dir, ec);
  }
  impl_->builders.clear();
}

}  // namespace tickflow::archive
