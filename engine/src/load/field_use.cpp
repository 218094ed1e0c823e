#include "load/field_use.hpp"

namespace tickflow::detail {

// Per node and output port: the fields the rest of the query uses, or nullopt for every
// field. A query output uses every field; a consumer that declared what it reads
// (BindContext::reads_only) uses those fields and the ones its used outputs pass on,
// any other consumer every field. Consumers come after their producers, so one pass
// from the last node back sees each node's uses complete before its producers'.
std::vector<std::vector<FieldSet>> fields_used_downstream(
    const Query& query, const std::map<std::string, FieldUse>& declared_by_node) {
  const auto& nodes = query.nodes;
  std::vector<std::vector<FieldSet>> used(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    used[i].assign(nodes[i].output_schemas.size(), std::set<std::string>{});
  }
  for (const OutputRef& out : query.outputs) used[out.node][out.port] = std::nullopt;
  for (size_t c = nodes.size(); c-- > 0;) {
    const BoundNode& consumer = nodes[c];
    auto declared = declared_by_node.find(consumer.id);
    for (size_t k = 0; k < consumer.inputs.size(); ++k) {
      const auto [producer, port] = consumer.inputs[k];
      FieldSet& target = used[producer][port];
      if (!target) continue;
      const bool declares = declared != declared_by_node.end() &&
                            k < declared->second.reads.size() && declared->second.reads[k];
      if (!declares) {
        target = std::nullopt;
        continue;
      }
      target->insert(declared->second.reads[k]->begin(), declared->second.reads[k]->end());
      const Schema& input = *consumer.input_infos[k].schema;
      for (size_t r = 0; r < used[c].size(); ++r) {
        const std::vector<std::string> passed =
            used[c][r] ? std::vector<std::string>(used[c][r]->begin(), used[c][r]->end())
                       : consumer.output_schemas[r]->names();
        for (const std::string& name : passed) {
          if (input.contains(name)) target->insert(name);
        }
      }
    }
  }
  return used;
}

}  // namespace tickflow::detail
