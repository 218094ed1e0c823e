// Reading of a query file's `state:` section. Internal to query_loader.cpp.
#pragma once

#include "tickflow/config.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/query.hpp"
#include "tickflow/registry.hpp"

namespace tickflow::detail {

// Reads the state variable declarations of `root` into query.info.state (ids dense, in
// declaration order) and loads and binds each init_from query into
// query.state_init_queries, checking that its output can fill the variable. Problems go to
// `diags`, those of an init_from query with that file's own locations.
void read_state(const ConfigNode& root, Query& query, const Registry& registry, Diagnostics& diags);

}  // namespace tickflow::detail
