#include "tickflow/run.hpp"

namespace tickflow {

Plan plan_query(const Query& query) {
  Plan plan;
  plan.segment_of.assign(query.nodes.size(), 0);
  for (size_t i = 0; i < query.nodes.size(); ++i) {
    const BoundNode& node = query.nodes[i];
    // A node starts its own segment when fusing it into its producer would be wrong
    // (several inputs arrive from different segments) or wasteful: an unbounded
    // accumulator, or a sink (an EP without outputs, such as a file writer, whose
    // formatting is as costly as producing), is better run on its own worker while its
    // producer keeps going.
    bool is_sink = node.output_schemas.empty();
    bool starts_segment = node.inputs.size() != 1 || is_sink ||
                          node.accumulation.kind == Accumulation::Kind::Unbounded;
    if (starts_segment) {
      plan.segment_of[i] = plan.segments.size();
      plan.segments.push_back({{i}, node.inputs.empty()});
    } else {
      size_t segment = plan.segment_of[node.inputs[0].first];
      plan.segment_of[i] = segment;
      plan.segments[segment].nodes.push_back(i);
    }
  }
  return plan;
}

}  // namespace tickflow
