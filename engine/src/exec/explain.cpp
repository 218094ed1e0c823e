#include "tickflow/explain.hpp"

#include "tickflow/time.hpp"

namespace tickflow {
namespace {

std::string schema_text(const Schema& schema) {
  std::string out = "TIMESTAMP time";
  for (const auto& f : schema.fields()) out += ", " + f.name + " " + std::string(type_name(f.type));
  return out;
}

std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

void explain_text(const Query& query, const Plan& plan, std::ostream& os) {
  os << "query " << (query.name.empty() ? query.info.file : query.name) << "\n";
  if (query.info.range_start || query.info.range_end) {
    os << "range [" << (query.info.range_start ? format_time(*query.info.range_start) : "-inf")
       << ", " << (query.info.range_end ? format_time(*query.info.range_end) : "+inf") << ")\n";
  }
  if (!query.info.symbols.empty()) {
    os << "symbols";
    for (const auto& s : query.info.symbols) os << " " << s;
    os << "\n";
  }
  if (!query.info.state.empty()) {
    os << "\nstate:\n";
    for (const auto& v : query.info.state) {
      os << "  " << v.name << "  "
         << (v.is_container() ? std::string(state_kind_name(v.kind))
                              : std::string(type_name(v.type)));
      if (v.fields) {
        os << " {";
        for (size_t f = 0; f < v.fields->size(); ++f) {
          os << (f ? ", " : "") << (*v.fields)[f].name << " " << type_name((*v.fields)[f].type);
        }
        os << "}";
      }
      if (!v.key.empty()) {
        os << " key [";
        for (size_t k = 0; k < v.key.size(); ++k)
          os << (k ? ", " : "") << (*v.fields)[v.key[k]].name;
        os << "]";
      }
      if (v.query_scope) os << "  scope: query";
      if (!v.init_from.empty()) os << "  init_from: " << v.init_from;
      os << "\n";
    }
  }
  os << "\nnodes:\n";
  for (size_t i = 0; i < query.nodes.size(); ++i) {
    const BoundNode& n = query.nodes[i];
    os << "  " << n.id << "  (ep " << n.ep << ", " << n.ep_location.to_string() << ")\n";
    if (!n.inputs.empty()) {
      os << "    in:";
      for (const auto& in : n.input_infos) os << " " << in.name;
      os << "\n";
    }
    os << "    accumulation: " << n.accumulation.to_string() << "\n";
    for (size_t p = 0; p < n.output_schemas.size(); ++p) {
      os << "    out " << n.definition->outputs[p] << ": " << schema_text(*n.output_schemas[p])
         << (n.output_time_ordered[p] ? "" : "  [not time-ordered]") << "\n";
    }
    auto names = [&](const std::vector<size_t>& ids) {
      std::string out;
      for (size_t id : ids) out += " " + query.info.state[id].name;
      return out;
    };
    if (!n.state_reads.empty()) os << "    reads state:" << names(n.state_reads) << "\n";
    if (!n.state_writes.empty()) os << "    writes state:" << names(n.state_writes) << "\n";
    if (plan.sequential) {
      os << "    ticks: " << (plan.tick_by_tick[i] ? "one at a time" : "in batches") << "\n";
    } else {
      os << "    segment: " << plan.segment_of[i] << "\n";
    }
  }
  if (plan.sequential) {
    os << "\nplan (sequential, for state variables: the sources are interleaved in time order and "
          "each tick passes every node that touches written state, and every node before one, "
          "before the next tick enters; one thread per symbol)\n";
    os << "\noutput:";
    for (const auto& o : query.outputs) os << " " << o.name;
    os << "\n";
    return;
  }
  os << "\nplan (" << plan.segments.size() << " segment" << (plan.segments.size() == 1 ? "" : "s")
     << "; ticks go one batch at a time through a segment's nodes, and between segments "
        "through queues):\n";
  for (size_t s = 0; s < plan.segments.size(); ++s) {
    os << "  segment " << s << (plan.segments[s].is_source ? " (source)" : "") << ":";
    for (size_t n : plan.segments[s].nodes) {
      os << " " << query.nodes[n].id;
      if (query.nodes[n].accumulation.accumulates()) {
        os << "[" << query.nodes[n].accumulation.to_string() << "]";
      }
    }
    os << "\n";
  }
  os << "\noutput:";
  for (const auto& o : query.outputs) os << " " << o.name;
  if (query.outputs.empty()) os << " (none: every leaf is a sink)";
  os << "\n";
}

// One node's box: id, EP, and its accumulation (filled when it holds ticks).
void dot_node(const BoundNode& node, const std::string& note, const char* indent,
              std::ostream& os) {
  os << indent << "\"" << dot_escape(node.id) << "\" [label=\"" << dot_escape(node.id) << "\\n"
     << dot_escape(node.ep);
  if (!note.empty()) os << "\\n" << dot_escape(note);
  if (node.accumulation.accumulates()) {
    os << "\\n"
       << dot_escape(node.accumulation.to_string()) << "\", style=filled, fillcolor="
       << (node.accumulation.kind == Accumulation::Kind::Unbounded ? "\"#f4a6a6\"" : "\"#fde2a7\"")
       << ", penwidth=2";
  } else {
    os << "\"";
  }
  os << "];\n";
}

void explain_dot(const Query& query, const Plan& plan, std::ostream& os) {
  os << "digraph tickflow {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n";
  if (plan.sequential) {
    // No segments: the sources are interleaved in time order and ticks pass one at a time
    // through the nodes that touch written state (and those before them).
    os << "  label=\"sequential plan (state variables): one tick at a time through the nodes "
          "marked 'tick by tick', sources interleaved in time order; one thread per symbol\";\n"
       << "  labelloc=t;\n";
    for (size_t n = 0; n < query.nodes.size(); ++n) {
      dot_node(query.nodes[n], plan.tick_by_tick[n] ? "tick by tick" : "in batches", "  ", os);
    }
  } else {
    for (size_t s = 0; s < plan.segments.size(); ++s) {
      os << "  subgraph cluster_" << s << " {\n    label=\"segment " << s
         << "\";\n    style=dashed;\n";
      for (size_t n : plan.segments[s].nodes) dot_node(query.nodes[n], "", "    ", os);
      os << "  }\n";
    }
  }
  for (const auto& node : query.nodes) {
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const auto& [producer, port] = node.inputs[i];
      os << "  \"" << dot_escape(query.nodes[producer].id) << "\" -> \"" << dot_escape(node.id)
         << "\"";
      if (port != 0) {
        os << " [label=\"" << dot_escape(query.nodes[producer].definition->outputs[port]) << "\"]";
      }
      os << ";\n";
    }
  }
  // State variables: a writer points at the variable, the variable at each reader (dotted).
  auto state_id = [&](size_t v) {
    return "\"state:" + dot_escape(query.info.state[v].name) + "\"";
  };
  for (size_t v = 0; v < query.info.state.size(); ++v) {
    os << "  " << state_id(v) << " [shape=cylinder, style=filled, fillcolor=\"#d7e8f7\", label=\""
       << dot_escape(query.info.state[v].name) << "\\nstate\"];\n";
  }
  for (const auto& node : query.nodes) {
    for (size_t v : node.state_writes) {
      os << "  \"" << dot_escape(node.id) << "\" -> " << state_id(v)
         << " [style=dashed, color=\"#2f6fb0\", label=\"writes\"];\n";
    }
    for (size_t v : node.state_reads) {
      os << "  " << state_id(v) << " -> \"" << dot_escape(node.id)
         << "\" [style=dotted, color=\"#2f6fb0\", label=\"reads\"];\n";
    }
  }
  os << "}\n";
}

}  // namespace tickflow
