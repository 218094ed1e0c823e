// What binding says about the fields each node uses (BindContext::reads_only,
// fields_used), and the walk that finds which fields of each output the rest of a query
// uses. Internal to the loader (query_loader.cpp, node_bind_context.cpp).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tickflow/query.hpp"

namespace tickflow::detail {

// What binding one node said about the fields it uses, and what the loader found the rest
// of the query uses of a source's fields (BindContext::reads_only, fields_used).
struct FieldUse {
  // Per input: the only fields the EP reads, or nullopt: every field.
  std::vector<std::optional<std::vector<std::string>>> reads;
  // Per output port: true when the EP asked which of its fields are used.
  std::vector<bool> asked;
  // Per output port: the fields the rest of the query uses, once the loader knows.
  std::vector<std::optional<std::vector<std::string>>> used;
};

// Per node and output port of a bound query: the names of the fields the rest of it uses,
// or nullopt for every field. `declared` holds, by node id, what binding said.
using FieldSet = std::optional<std::set<std::string>>;
std::vector<std::vector<FieldSet>> fields_used_downstream(
    const Query& query, const std::map<std::string, FieldUse>& declared);

}  // namespace tickflow::detail
