// Ordering of a query's nodes. Internal to query_loader.cpp.
#pragma once

#include <vector>

#include "load/node_bind_context.hpp"
#include "tickflow/diagnostics.hpp"

namespace tickflow::detail {

// Indices of `raw_nodes` with producers before consumers (stable: file order among
// independent nodes). Unknown inputs and every cycle are reported to `diags` (once per
// cycle), and the nodes involved are marked broken.
std::vector<size_t> order_nodes(std::vector<RawNode>& raw_nodes, Diagnostics& diags);

}  // namespace tickflow::detail
