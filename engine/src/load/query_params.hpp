// Reading of a query file's `params:` section. Internal to query_loader.cpp.
#pragma once

#include "tickflow/config.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/query.hpp"

namespace tickflow::detail {

// Reads the declared parameters of `root` into query.params, applies the --param values
// of `overrides` and copies the result to query.info.params. Reports problems to `diags`.
void read_params(const ConfigNode& root, const QueryOverrides& overrides, Query& query,
                 Diagnostics& diags);

}  // namespace tickflow::detail
