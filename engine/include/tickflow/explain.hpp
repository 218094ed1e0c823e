// `tickflow explain`: a bound query and its plan as text or as a Graphviz graph. Used by
// the CLI and the Python package (Query.explain).
#pragma once

#include <ostream>

#include "tickflow/query.hpp"
#include "tickflow/run.hpp"

namespace tickflow {

// Nodes with their EP, inputs, accumulation, output schemas and state use, then the
// segments of the plan and the output streams.
void explain_text(const Query& query, const Plan& plan, std::ostream& os);
// The graph in Graphviz dot: one cluster per segment, accumulating nodes highlighted.
void explain_dot(const Query& query, const Plan& plan, std::ostream& os);

}  // namespace tickflow
