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
  // Tick passage matters only for variables something writes: a variable nobody writes
  // keeps its initial value for the whole run, whatever order its readers run in.
  std::vector<bool> written(query.info.state.size(), false);
  for (const auto& node : query.nodes) {
    for (size_t id : node.state_writes) written[id] = true;
  }
  plan.tick_by_tick.assign(query.nodes.size(), false);
  for (size_t i = query.nodes.size(); i-- > 0;) {
    const BoundNode& node = query.nodes[i];
    bool touches = false;
    for (size_t id : node.state_reads) touches |= written[id];
    for (size_t id : node.state_writes) touches |= written[id];
    if (touches) plan.tick_by_tick[i] = true;
    if (plan.tick_by_tick[i]) {
      plan.sequential = true;
      // Producers must hand this node one tick at a time too (nodes are in topological
      // order, so producers come earlier and are visited later in this loop).
      for (const auto& [producer, port] : node.inputs) plan.tick_by_tick[producer] = true;
    }
  }
  return plan;
}

}  // namespace tickflow
