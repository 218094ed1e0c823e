// Topological order of a query's nodes, with unknown inputs and cycles reported.
#include "load/node_order.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "tickflow/util.hpp"

namespace tickflow::detail {

// Orders nodes so producers come first (stable: file order among independent nodes),
// reporting unknown inputs and cycles.
std::vector<size_t> order_nodes(std::vector<RawNode>& raw_nodes, Diagnostics& diags) {
  std::vector<size_t> order;
  std::map<std::string, size_t> index;
  std::vector<std::string> ids;
  for (size_t i = 0; i < raw_nodes.size(); ++i) {
    index[raw_nodes[i].id] = i;
    ids.push_back(raw_nodes[i].id);
  }
  size_t n = raw_nodes.size();
  std::vector<std::vector<size_t>> deps(n);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& ref : raw_nodes[i].inputs) {
      auto it = index.find(ref.node);
      if (it == index.end()) {
        std::vector<std::string> others;
        for (const auto& id : ids) {
          if (id != raw_nodes[i].id) others.push_back(id);
        }
        diags.error(ref.location, "node '" + raw_nodes[i].id + "': unknown input '" + ref.node +
                                      "'" + did_you_mean(ref.node, others));
        raw_nodes[i].broken = true;
      } else {
        deps[i].push_back(it->second);
      }
    }
  }
  std::vector<int> state(n, 0);  // 0 new, 1 on stack, 2 done
  std::vector<size_t> path;
  std::set<size_t> reported;
  std::function<void(size_t)> visit = [&](size_t v) {
    state[v] = 1;
    path.push_back(v);
    for (size_t d : deps[v]) {
      if (state[d] == 1) {
        auto start = std::find(path.begin(), path.end(), d);
        std::string cycle;
        bool fresh = false;
        for (auto it = start; it != path.end(); ++it) {
          cycle += raw_nodes[*it].id + " -> ";
          fresh |= reported.insert(*it).second;
          raw_nodes[*it].broken = true;
        }
        cycle += raw_nodes[d].id;
        if (fresh) {
          diags.error(raw_nodes[v].in_location, "the graph has a cycle: " + cycle);
        }
      } else if (state[d] == 0) {
        visit(d);
      }
    }
    path.pop_back();
    state[v] = 2;
    order.push_back(v);
  };
  for (size_t i = 0; i < n; ++i) {
    if (state[i] == 0) visit(i);
  }
  return order;
}

}  // namespace tickflow::detail
