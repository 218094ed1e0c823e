// Reading of a query file's time settings: `tz:`, `output_tz:` and `range:`, with their
// command-line overrides (SPEC §17). Internal to query_loader.cpp.
#pragma once

#include <string>

#include "tickflow/config.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/query.hpp"

namespace tickflow::detail {

// Sets info.time_zone, info.output_time_zone, info.range_start and info.range_end from
// `root` and `overrides` (an override wins over the file). Range times written without an
// offset are read in the query's zone. Reports problems, located, to `diags`.
void read_query_time(const ConfigNode& root, const QueryOverrides& overrides,
                     const std::string& file, QueryInfo& info, Diagnostics& diags);

}  // namespace tickflow::detail
