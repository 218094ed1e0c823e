// The tick archive (SPEC §16): ticks stored per table, UTC day and symbol, column by column,
// in zstd-compressed chunks with a time index and checksums. docs/archive.md describes the
// layout on disk and the guarantees; this header is the API the `db` source EP and the
// `tickflow load` / `tickflow db` commands use (plugins may use it too).
//
//   DB/TABLE/catalog.json                 schema + every committed partition (replaced atomically)
//   DB/TABLE/YYYY-MM-DD/SYMBOL.LOADID/    one partition: manifest.json + one file per column
//
// Guarantees:
//  - A load is all or nothing: partitions are written under new names, synced, and become
//    visible only when the catalog that lists them is renamed into place. A load that fails or
//    is killed leaves the catalog, and so the archive as readers see it, as it was.
//  - A reader takes the table's reader lock (shared) for as long as it reads, so the files of
//    partitions a --replace load superseded stay until no reader can still be using them.
//  - Every chunk of every column file carries a checksum (XXH3-64 of its compressed bytes),
//    each manifest's checksum is in the catalog, and the catalog carries its own: damage is an
//    error naming the file (and chunk), never wrong ticks.
// Errors are thrown as RuntimeError (a damaged or missing archive file is a data error).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/schema.hpp"

namespace tickflow::archive {

constexpr int kFormatVersion = 1;
// Ticks per chunk: the unit of compression, checksums and the time index.
constexpr size_t kDefaultChunkRows = 65536;

// UTC day number (days since 1970-01-01) of a time, and its "YYYY-MM-DD" name.
int64_t day_of(int64_t time);
std::string day_name(int64_t day);
constexpr int64_t kNanosPerDay = 86'400'000'000'000;

// One day of one symbol, as the catalog lists it.
struct PartitionInfo {
  int64_t day = 0;
  std::string symbol;
  std::string dir;  // relative to the table directory
  int64_t ticks = 0;
  int64_t min_time = 0;
  int64_t max_time = 0;
  int64_t bytes = 0;      // on disk (column files + manifest)
  int64_t raw_bytes = 0;  // the same ticks uncompressed (8 bytes a number, string bytes + 4)
  uint64_t manifest_checksum = 0;
};

// What `catalog.json` says about a table.
struct TableCatalog {
  std::string table_dir;
  std::string table;
  // Every field ever loaded, in order, including the symbol field (a string).
  Schema schema;
  std::string symbol_field;               // the field whose value names a tick's partition
  std::vector<PartitionInfo> partitions;  // sorted by (day, symbol)
};

// Names of the tables of an archive (directories holding a catalog.json), sorted.
std::vector<std::string> list_tables(const std::string& db);
bool table_exists(const std::string& db, const std::string& table);
// Throws RuntimeError when the catalog is missing or damaged.
TableCatalog read_catalog(const std::string& db, const std::string& table);

// Holds the table's reader lock (shared) while alive; take it before read_catalog when
// partitions will be opened afterwards. Does nothing for a table that does not exist.
class ReaderLock {
 public:
  ReaderLock(const std::string& db, const std::string& table);
  ~ReaderLock();
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  int fd_ = -1;
};

// Runs body(part) for part in [0, parts), possibly concurrently (e.g. work_in_parts).
using ParallelFor = std::function<void(size_t parts, const std::function<void(size_t)>& body)>;

// Reads the ticks of one partition with TIMESTAMP in [start, end), chunk by chunk, skipping
// chunks whose time range lies outside. Only the requested fields' files are read; a field
// the partition lacks (added to the table by a later load) reads as the type's default.
// `fields` must not contain the symbol field. Opens its files in the constructor.
class PartitionReader {
 public:
  PartitionReader(const TableCatalog& catalog, const PartitionInfo& partition,
                  std::vector<Field> fields, bool with_sequence, std::optional<int64_t> start,
                  std::optional<int64_t> end);
  ~PartitionReader();
  PartitionReader(PartitionReader&&) noexcept;

  // Decodes the next chunk that holds ticks in the range into `out` (schema: the fields
  // asked for), replacing its contents; false when there is none. The columns of a chunk
  // are decompressed through `parallel`.
  bool next_chunk(Batch& out, const ParallelFor& parallel);
  // The same, for reading a chunk in row ranges straight into batches: the chunk's times
  // (clipped to the range) replace `times`, and its columns are checked whole but decoded
  // only by append_rows.
  bool next_chunk_rows(std::vector<int64_t>& times, const ParallelFor& parallel);
  // Appends rows [begin, end) of that chunk (positions in its clipped times) of the field at
  // `field` (in the order asked for) to `out`.
  void append_rows(size_t field, size_t begin, size_t end, Column& out) const;
  // The load sequence numbers of the ticks of the last chunk (with_sequence only): the
  // order in which they were loaded, which orders equal timestamps across partitions.
  const std::vector<int64_t>& sequence() const;
  const PartitionInfo& partition() const;
  // Chunks decompressed so far (those the time index skipped are not counted).
  int64_t chunks_read() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ------------------------------------------------------------------ loading

struct LoadOptions {
  bool replace = false;  // overwrite partitions that exist (else loading one is an error)
  int compression_level = 3;
  size_t chunk_rows = kDefaultChunkRows;
};

struct LoadStats {
  int64_t ticks = 0;
  int64_t partitions = 0;
  int64_t bytes = 0;
  int64_t raw_bytes = 0;
  int64_t replaced = 0;
};

// Writes one load into a table. The constructor takes the table's writer lock (one load at a
// time per table; a second waits), creates the table when needed, and checks `input` against
// the table's schema: a field the table lacks is added; the same name with another type is an
// error naming both types. `symbol_field` names the field that selects each tick's partition;
// when `input` has no such field, append() gets the symbol for its ticks instead.
//
// Ticks of a partition must arrive in non-decreasing time order. Nothing is visible to readers
// until commit(); destruction without commit removes what was written.
class TableWriter {
 public:
  TableWriter(const std::string& db, const std::string& table, SchemaPtr input,
              const std::string& symbol_field, const LoadOptions& options);
  ~TableWriter();
  TableWriter(const TableWriter&) = delete;
  TableWriter& operator=(const TableWriter&) = delete;

  // `symbol` is used when the input has no symbol field; ignored otherwise.
  void append(const Batch& batch, const std::string& symbol = "");
  // Syncs every new file, then replaces the catalog; throws RuntimeError on failure (and the
  // archive stays as it was).
  LoadStats commit();
  void abort() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickflow::archive
