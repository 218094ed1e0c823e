// Sharded runs (SPEC §15, docs/scale.md): `tickflow run --shard I/N`, `tickflow concat` and
// tickflow.distributed in the Python package.
//
// A shard runs part of a query: by symbol, the symbols whose position in the symbol list
// is ≡ I (mod N); by day, the I-th of N contiguous runs of whole UTC days of the query's
// range. Next to each output file F it writes F.shard.json (the manifest): which shard it
// is, the whole symbol list, the output order and, for output in symbol blocks, how many
// ticks each symbol's block has. `tickflow concat` reads the manifests, checks that the N
// parts belong together and are complete, and merges them into the bytes the unsharded run
// writes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/query.hpp"
#include "tickflow/tick_writer.hpp"

namespace tickflow {

enum class ShardBy { Symbol, Day };

struct ShardSpec {
  size_t index = 0;  // I, from 0
  size_t count = 1;  // N
  ShardBy by = ShardBy::Symbol;
};

// Parses "I/N" (0 <= I < N, N >= 1); throws UsageError saying what is wrong.
ShardSpec parse_shard(const std::string& text);

// The symbols of shard `spec` (positions ≡ I mod N), in list order.
std::vector<std::string> shard_symbols(const std::vector<std::string>& symbols,
                                       const ShardSpec& spec);

// The part of [start, end) that shard `spec` runs when sharding by day: the UTC days the
// range touches, D of them, are cut into N contiguous runs, shard I taking days
// [floor(I*D/N), floor((I+1)*D/N)). nullopt when that run is empty (N > D).
std::optional<std::pair<int64_t, int64_t>> shard_day_range(int64_t start, int64_t end,
                                                           const ShardSpec& spec);

// What F.shard.json records about one output file of a shard.
struct ShardManifest {
  ShardSpec spec;
  bool time_order = false;           // --merge-symbols: one time-ordered stream
  std::string format;                // csv or jsonl
  std::vector<std::string> symbols;  // the whole list ([] in a run without symbols)
  // Output in symbol blocks: (position in `symbols`, ticks) of each block, in file order.
  std::vector<std::pair<size_t, int64_t>> blocks;
  int64_t ticks = 0;   // ticks in the file
  uint64_t bytes = 0;  // size of the file
};

std::string manifest_path(const std::string& output_path);

// The manifest as JSON text; reading it back throws UsageError naming `path` and the field.
std::string manifest_json(const ShardManifest& manifest);
ShardManifest read_manifest(const std::string& path);

// The output files of one run, one per output stream of the query ("" = standard output):
// a TickWriter on an OutputFile each, with a SYMBOL column following the symbol of the
// batches in a run with symbols. With `shard`, each file F gets its manifest F.shard.json
// (ticks per symbol block counted as they are written). Nothing is visible at the targets
// until commit(); abort() (or destruction without commit) leaves them as they were.
class RunOutputFiles {
 public:
  // Opens the temporary files; throws RuntimeError when one cannot be created.
  // `shard.symbols` must hold the whole (unsharded) symbol list.
  RunOutputFiles(const Query& query, OutputFormat format, const std::vector<std::string>& targets,
                 std::optional<ShardManifest> shard = std::nullopt);
  ~RunOutputFiles();
  // A SymbolOutputWriter (tickflow/run.hpp) can forward here. Throws RuntimeError on I/O.
  void write(size_t output, const std::string& symbol, const Batch& batch);
  // Finishes and renames every file, then writes the manifests. Throws RuntimeError; a
  // file whose manifest cannot be written is removed again.
  void commit();
  void abort() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `tickflow concat`: the parts of a sharded run (every shard's output file, or every
// shard's -o directory) merged into `output` ("" = standard output; a directory for
// directory parts) as the unsharded run wrote it. Throws UsageError when the parts are not
// the N complete shards of one run (nothing is written then), RuntimeError on I/O errors.
void concat_shards(const std::vector<std::string>& parts, const std::string& output);

}  // namespace tickflow
