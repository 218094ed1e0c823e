// The engine side of tickflow.Query: a query tree (from a YAML file or a dict) that is
// bound once as it stands and again for a run with other symbols, range or DataFrame
// sources. Errors are raised as tickflow.QueryError / tickflow.RunError.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dict_config.hpp"
#include "sources/table_source.hpp"
#include "tickflow/query.hpp"
#include "tickflow/run.hpp"
#include "tickflow/shard.hpp"

namespace tickflow::python {

// What q.run(...) asks for beyond the query as loaded.
struct RunRequest {
  std::optional<std::vector<std::string>> symbols;
  std::optional<int64_t> start, end;
  // A range bound written without an offset, read in the query's zone (SPEC §17).
  std::optional<std::string> start_text, end_text;
  std::optional<std::string> time_zone;         // tz=: replaces the query's tz:
  std::optional<std::string> output_time_zone;  // output_tz=: replaces output_tz:
  size_t threads = 1;
  size_t batch_size = 4096;
  bool merge_symbols = false;
  // Source node id -> the table that replaces it (as a `dataframe` node).
  std::vector<std::pair<std::string, std::shared_ptr<const eps::TickTable>>> sources;
  // Run one shard (tickflow.distributed): the symbols at positions = I mod N of the list, or
  // the I-th run of the range's days, as `tickflow run --shard` (tickflow/shard.hpp).
  std::optional<ShardSpec> shard;
  // Write each output stream to this file (csv or jsonl; with `shard`, its manifest beside
  // it) instead of returning arrays; run() then returns the paths.
  std::vector<std::string> output_paths;
  OutputFormat output_format = OutputFormat::Csv;
};

class QueryObject {
 public:
  // Loads a YAML file; `params` are NAME=VALUE overrides of `params:`.
  static std::unique_ptr<QueryObject> load(const std::string& path,
                                           std::vector<std::pair<std::string, std::string>> params);
  // Builds the query from a dict. `other(value)` converts values the dict walker does not
  // know: it returns their text, a TableHandle (a DataFrame made into a table), or None.
  static std::unique_ptr<QueryObject> from_dict(
      pybind11::handle dict, const std::string& base_dir,
      std::vector<std::pair<std::string, std::string>> params, pybind11::function other);

  std::string explain(bool dot) const;
  // Output stream names, in order.
  std::vector<std::string> outputs() const;
  // Node ids of the query's source nodes (no inputs).
  std::vector<std::string> source_nodes() const;
  const std::string& name() const { return bound_->name; }
  // The query's own symbols and range (before a run's overrides).
  const std::vector<std::string>& symbols() const { return bound_->info.symbols; }
  std::pair<std::optional<int64_t>, std::optional<int64_t>> range() const {
    return {bound_->info.range_start, bound_->info.range_end};
  }
  // The query's `tz:` ("UTC" by default) and `output_tz:` ("" when output is plain UTC).
  const std::string& time_zone() const { return bound_->info.time_zone; }
  const std::string& output_time_zone() const { return bound_->info.output_time_zone; }
  // Runs; returns a list of (output name, list of (column name, array)).
  pybind11::list run(const RunRequest& request);

 private:
  QueryObject() = default;
  // Binds the tree with overrides and replaced sources; raises QueryError on problems.
  std::unique_ptr<Query> bind(const QueryOverrides& overrides,
                              const std::vector<std::pair<std::string, std::string>>& replaced,
                              const std::string& context) const;
  [[noreturn]] void raise_query_error(const Diagnostics& diags) const;

  ConfigNode root_;
  std::string file_;
  std::string base_dir_;
  KeyPaths paths_;
  QueryOverrides overrides_;
  std::unique_ptr<Query> bound_;
  std::vector<std::shared_ptr<const eps::TickTable>> tables_;  // DataFrames in the dict
};

// A table made from a DataFrame, known to `dataframe` nodes by its handle while it lives.
struct TableHandle {
  std::shared_ptr<const eps::TickTable> table;
  std::string handle;
};

// The registry every Python query is bound with: the built-in EPs, `dataframe`, and the
// plugins of TICKFLOW_PLUGIN_PATH.
const Registry& python_registry();

// Registers a table for `dataframe` nodes; the handle text names it in a query. The table
// stays known while a shared_ptr to it lives.
std::string register_table(const std::shared_ptr<const eps::TickTable>& table);

}  // namespace tickflow::python
