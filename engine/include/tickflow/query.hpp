// A loaded and bound query: the graph IR with locations, each node bound to its EP,
// schemas and accumulation known. This is what `check`, `explain` and `run` work on.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tickflow/diagnostics.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/registry.hpp"

namespace tickflow {

// Command-line settings that override or complete the query file.
struct QueryOverrides {
  std::optional<int64_t> start;
  std::optional<int64_t> end;
  // --start / --end as written: read in the query's zone by the loader (which then
  // reports a bad one); `start` / `end` win when set.
  std::optional<std::string> start_text;
  std::optional<std::string> end_text;
  std::optional<std::string> time_zone;         // --tz: an IANA name, replaces the file's `tz:`
  std::optional<std::string> output_time_zone;  // --output-tz: replaces the file's `output_tz:`
  std::vector<std::pair<std::string, std::string>> params;  // --param NAME=VALUE
  std::optional<std::vector<std::string>> symbols;
};

// A declared query parameter (`params:`) with its effective value.
struct QueryParam {
  std::string name;
  Type type;
  std::string value;  // as text; checked against `type`
  Location location;
};

struct BoundNode {
  std::string id;
  Location id_location;  // the node's key in `nodes:`
  std::string ep;
  Location ep_location;  // the value of `ep:`
  const EpDefinition* definition = nullptr;
  // Producer (node index, output port) of each input, in `in:` order.
  std::vector<std::pair<size_t, size_t>> inputs;
  std::vector<InputInfo> input_infos;
  std::vector<SchemaPtr> output_schemas;  // one per definition->outputs
  std::vector<bool> output_time_ordered;
  Accumulation accumulation;
  OperatorFactory factory;
  // State variables (ids into QueryInfo::state) the node reads and writes while ticks pass.
  std::vector<size_t> state_reads;
  std::vector<size_t> state_writes;
};

// One stream the run prints or writes: a node's output port.
struct OutputRef {
  size_t node = 0;
  size_t port = 0;
  std::string name;  // "node" for the default port, else "node.port"
};

class Query {
 public:
  QueryInfo info;
  std::string name;
  std::string description;
  std::vector<QueryParam> params;
  std::vector<BoundNode> nodes;  // in topological order (producers before consumers)
  std::vector<OutputRef> outputs;
  // EPs of the query's own `plugins:`; bound nodes may point into it.
  std::unique_ptr<Registry> plugin_registry;
  // Per state variable (same index as info.state): the query its init_from names, loaded
  // and bound, or null.
  std::vector<std::shared_ptr<const Query>> state_init_queries;

  const BoundNode* find(std::string_view id) const;
};

// A query file larger than this is refused (it is surely not a query: a data file, or a
// device such as /dev/zero).
constexpr size_t kMaxQueryFileBytes = size_t{16} << 20;

// The text of a query file; a directory, an unreadable file or one over kMaxQueryFileBytes
// is an error in `diags` (nullopt).
std::optional<std::string> read_query_file(const std::string& path, Diagnostics& diags);

// Loads, validates and binds a query file. Every problem found goes to `diags` (all of
// them, in one pass); returns nullptr when there was any.
std::unique_ptr<Query> load_query(const std::string& path, const Registry& registry,
                                  const QueryOverrides& overrides, Diagnostics& diags);

// Same, from text already in memory (`file_name` is used in locations).
std::unique_ptr<Query> load_query_text(std::string_view text, const std::string& file_name,
                                       const Registry& registry, const QueryOverrides& overrides,
                                       Diagnostics& diags);

// Same, from a tree built in memory (for example from a Python dict): `file_name` is used
// in locations and `base_dir` is the directory relative paths in the query start from.
// Locations are whatever the tree's nodes carry, so a builder can map them back to its
// own notion of place (a key path).
std::unique_ptr<Query> load_query_tree(ConfigNode root, const std::string& file_name,
                                       const std::string& base_dir, const Registry& registry,
                                       const QueryOverrides& overrides, Diagnostics& diags);

}  // namespace tickflow
