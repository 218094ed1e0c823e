// Checks shared by EPs, built on the public EP API only (plugins may use them too).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "tickflow/ep.hpp"

namespace tickflow {

// Time order as a checked property (SPEC §4): an EP that relies on its input being in
// TIMESTAMP order (merge, joins, time buckets, time windows) calls this at bind time for
// each such input. When input `input` is not time-ordered it reports an error at the
// input's `in:` location naming this node and the input node, saying `why` order is needed
// (e.g. "an as-of join matches ticks by time") and suggesting update_timestamp, and returns
// false. Returns true when the input is time-ordered.
bool require_time_ordered(BindContext& ctx, size_t input, std::string_view why);

// The items of a FieldList (or other list) parameter as individual nodes, so that each
// name can be located on its own; any other node (a scalar) is a one-item list; nullptr
// gives none.
std::vector<const ConfigNode*> list_items(const ConfigNode* list);

}  // namespace tickflow
