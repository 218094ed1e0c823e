// YAML query file -> bound Query. Collects every error in one pass: a node whose own
// binding failed is marked broken, and nodes downstream of it skip the checks that
// would only repeat the same problem.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "core/scalar_parse.hpp"
#include "load/node_bind_context.hpp"
#include "load/node_order.hpp"
#include "load/query_params.hpp"
#include "load/query_time.hpp"
#include "state/decls.hpp"
#include "tickflow/plugin.hpp"
#include "tickflow/query.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow {

const BoundNode* Query::find(std::string_view id) const {
  for (const auto& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

namespace {

const std::vector<std::string> kTopLevelKeys = {"tickflow", "name",   "description", "params",
                                                "symbols",  "range",  "state",       "plugins",
                                                "nodes",    "output", "tz",          "output_tz"};

using detail::FieldUse;
using detail::InputRefText;
using detail::NodeBindContext;
using detail::RawNode;

class Loader {
 public:
  Loader(const std::string& file, const Registry& registry, const QueryOverrides& overrides,
         Diagnostics& diags)
      : file_(file), registry_(registry), overrides_(overrides), diags_(&diags) {}

  std::unique_ptr<Query> load(std::string_view text) {
    ConfigNode root = parse_yaml(text, file_, *diags_);
    // Duplicate keys still leave a usable tree: go on to find the file's other errors.
    if (root.is_null() && diags_->has_errors()) return nullptr;
    std::filesystem::path dir = std::filesystem::path(file_).parent_path();
    return load_tree(std::move(root), dir.empty() ? "." : dir.string());
  }

  std::unique_ptr<Query> load_tree(ConfigNode root, const std::string& base_dir) {
    root_ = std::move(root);
    query_ = std::make_unique<Query>();
    query_->info.file = file_;
    query_->info.base_dir = base_dir.empty() ? "." : base_dir;
    if (!root_.is_mapping()) {
      diags_->error(root_.location().known() ? root_.location() : Location{file_, 1, 1},
                    "a query file must be a YAML mapping with 'tickflow: 1' and 'nodes:'");
      return nullptr;
    }
    read_top_level();
    read_nodes();
    if (!raw_nodes_.empty()) {
      order_ = detail::order_nodes(raw_nodes_, *diags_);
      bind_nodes();
      read_outputs();
      if (!diags_->has_errors()) bind_again_reading_only_used_fields();
    }
    if (diags_->has_errors()) return nullptr;
    return std::move(query_);
  }

 private:
  void error(const Location& loc, std::string message) { diags_->error(loc, std::move(message)); }

  void read_top_level() {
    for (const auto& e : root_.entries()) {
      if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), e.key) == kTopLevelKeys.end()) {
        error(e.key_location, "unknown key '" + e.key + "'" + did_you_mean(e.key, kTopLevelKeys));
      }
    }
    const ConfigNode* version = root_.find("tickflow");
    if (!version) {
      error({file_, 1, 1}, "missing 'tickflow: 1' (the query format version)");
    } else if (!version->is_scalar() || version->text() != "1") {
      error(version->location(), "unsupported query format version '" + version->text() +
                                     "'; this tickflow reads version 1");
    }
    if (const ConfigNode* n = root_.find("name")) query_->name = n->text();
    if (const ConfigNode* n = root_.find("description")) query_->description = n->text();
    detail::read_params(root_, overrides_, *query_, *diags_);
    read_symbols();
    detail::read_query_time(root_, overrides_, file_, query_->info, *diags_);
    read_plugins();
    detail::read_state(root_, *query_, registry_, *diags_);
  }

  // `plugins:` paths are relative to the query file and load before any node is bound,
  // into a registry of the query's own, so one query's plugins do not leak into another.
  void read_plugins() {
    const ConfigNode* plugins = root_.find("plugins");
    if (!plugins || plugins->is_null()) return;
    std::vector<ConfigNode> items;
    if (plugins->is_scalar()) {
      items.push_back(*plugins);
    } else if (plugins->is_sequence()) {
      items = plugins->items();
    } else {
      error(plugins->location(), "'plugins:' must be a list of shared library paths");
      return;
    }
    query_->plugin_registry = std::make_unique<Registry>();
    for (const auto& item : items) {
      if (!item.is_scalar() || item.text().empty()) {
        error(item.location(), "a plugin must be a path to a shared library");
        continue;
      }
      std::filesystem::path path(item.text());
      if (path.is_relative()) path = std::filesystem::path(query_->info.base_dir) / path;
      try {
        load_plugin(path.lexically_normal().string(), *query_->plugin_registry);
      } catch (const PluginError& e) {
        error(item.location(), e.what());
      }
    }
    for (const auto* def : query_->plugin_registry->all()) {
      if (const EpDefinition* existing = registry_.find(def->name)) {
        error(plugins->location(), "plugin " + def->origin + ": EP '" + def->name +
                                       "' is already registered (by " + existing->origin + ")");
      }
    }
  }

  // An EP by name: the query's plugins first, then the registry the query is loaded with.
  const EpDefinition* find_ep(const std::string& name) const {
    if (query_->plugin_registry) {
      if (const EpDefinition* def = query_->plugin_registry->find(name)) return def;
    }
    return registry_.find(name);
  }

  void read_symbols() {
    if (overrides_.symbols) {
      query_->info.symbols = *overrides_.symbols;
      return;
    }
    const ConfigNode* symbols = root_.find("symbols");
    if (!symbols || symbols->is_null()) return;
    if (!symbols->is_sequence()) {
      error(symbols->location(), "'symbols:' must be a list such as [AAPL, MSFT]");
      return;
    }
    std::set<std::string> seen;
    for (const auto& item : symbols->items()) {
      if (!item.is_scalar() || item.text().empty()) {
        error(item.location(), "a symbol must be a non-empty name");
      } else if (!seen.insert(item.text()).second) {
        error(item.location(), "symbol '" + item.text() + "' is listed twice");
      } else {
        query_->info.symbols.push_back(item.text());
      }
    }
  }

  void read_nodes() {
    const ConfigNode* nodes = root_.find("nodes");
    if (!nodes) {
      error({file_, 1, 1}, "missing 'nodes:' (the mapping of node ids to nodes)");
      return;
    }
    if (!nodes->is_mapping() || nodes->entries().empty()) {
      error(nodes->location(), "'nodes:' must be a non-empty mapping of node ids to nodes");
      return;
    }
    std::vector<std::string> ep_names = registry_.names();
    if (query_->plugin_registry) {
      for (const auto& name : query_->plugin_registry->names()) ep_names.push_back(name);
    }
    for (const auto& e : nodes->entries()) {
      RawNode raw;
      raw.id = e.key;
      raw.id_location = e.key_location;
      raw.body = &e.value;
      raw.ep_location = e.key_location;
      if (!is_valid_name(e.key)) {
        error(e.key_location, "invalid node id '" + e.key + "' (use letters, digits and _)");
        raw.broken = true;
      }
      if (!e.value.is_mapping()) {
        error(e.value.location().known() ? e.value.location() : e.key_location,
              "node '" + e.key + "' must be a mapping with 'ep:'");
        raw.broken = true;
        static const ConfigNode kEmpty = [] {
          ConfigNode n;
          n.set_kind(ConfigNode::Kind::Mapping);
          return n;
        }();
        raw.body = &kEmpty;
        raw_nodes_.push_back(std::move(raw));
        continue;
      }
      const ConfigNode* ep = e.value.find("ep");
      if (!ep || !ep->is_scalar()) {
        error(ep ? ep->location() : e.key_location, "node '" + e.key + "' needs 'ep: NAME'");
        raw.broken = true;
      } else {
        raw.ep = ep->text();
        raw.ep_location = ep->location();
        raw.definition = find_ep(raw.ep);
        if (!raw.definition) {
          error(ep->location(), "node '" + e.key + "': unknown EP '" + raw.ep + "'" +
                                    did_you_mean(raw.ep, ep_names));
          raw.broken = true;
        }
      }
      if (const ConfigNode* in = e.value.find("in")) {
        raw.in_location = in->location();
        if (in->is_scalar()) {
          raw.inputs.push_back(parse_ref(*in));
        } else if (in->is_sequence()) {
          for (const auto& item : in->items()) {
            if (item.is_scalar()) {
              raw.inputs.push_back(parse_ref(item));
            } else {
              error(item.location(), "node '" + e.key + "': an input must be a node name");
              raw.broken = true;
            }
          }
        } else {
          error(in->location(), "node '" + e.key + "': 'in:' must be a node name or a list");
          raw.broken = true;
        }
      }
      raw_nodes_.push_back(std::move(raw));
    }
  }

  static InputRefText parse_ref(const ConfigNode& node) {
    InputRefText ref;
    ref.text = node.text();
    ref.location = node.location();
    size_t dot = ref.text.find('.');
    ref.node = ref.text.substr(0, dot);
    if (dot != std::string::npos) ref.port = ref.text.substr(dot + 1);
    return ref;
  }

  void bind_nodes() {
    std::map<std::string, size_t> bound_index;  // node id -> index in query_->nodes
    std::vector<bool> broken;
    for (size_t raw_index : order_) {
      RawNode& raw = raw_nodes_[raw_index];
      BoundNode node;
      node.id = raw.id;
      node.id_location = raw.id_location;
      node.ep = raw.ep;
      node.ep_location = raw.ep_location;
      node.definition = raw.definition;
      bool upstream_broken = false;
      if (raw.definition) check_params(raw);
      if (raw.definition) {
        check_input_count(raw);
        for (const auto& ref : raw.inputs) {
          auto it = bound_index.find(ref.node);
          if (it == bound_index.end()) {
            upstream_broken = true;
            continue;
          }
          size_t producer = it->second;
          const BoundNode& p = query_->nodes[producer];
          // Ports come from the producer's definition, so they can be checked even when
          // the producer itself failed to bind.
          if (!p.definition) {
            upstream_broken = true;
            continue;
          }
          std::optional<size_t> port = resolve_port(p, ref, raw.id);
          if (!port.has_value()) {
            raw.broken = true;
            continue;
          }
          if (broken[producer]) {
            upstream_broken = true;
            continue;
          }
          size_t port_index = port.value();
          node.inputs.emplace_back(producer, port_index);
          node.input_infos.push_back({ref.text, p.output_schemas[port_index],
                                      p.output_time_ordered[port_index], ref.location});
        }
      }
      bool ok = raw.definition && !raw.broken && !upstream_broken;
      if (ok) ok = bind_one(raw, node);
      broken.push_back(!ok);
      bound_index[raw.id] = query_->nodes.size();
      query_->nodes.push_back(std::move(node));
    }
  }

  // When a source asked which of its fields the query uses (BindContext::fields_used) and
  // some are unused, binds the query again with the answer, so that the source leaves them
  // out. Should the second binding fail (an EP that reads more than it declared), the
  // first stands: it reads every field.
  void bind_again_reading_only_used_fields() {
    const auto used = detail::fields_used_downstream(*query_, field_use_);
    bool narrower = false;
    for (size_t i = 0; i < query_->nodes.size(); ++i) {
      const BoundNode& node = query_->nodes[i];
      FieldUse& use = field_use_[node.id];
      use.used.assign(node.output_schemas.size(), std::nullopt);
      for (size_t port = 0; port < use.asked.size(); ++port) {
        if (!use.asked[port] || !used[i][port]) continue;
        std::vector<std::string> names;
        for (const std::string& name : node.output_schemas[port]->names()) {
          if (used[i][port]->count(name)) names.push_back(name);
        }
        if (names.size() == node.output_schemas[port]->size()) continue;
        use.used[port] = std::move(names);
        narrower = true;
      }
    }
    if (!narrower) return;
    std::vector<BoundNode> first_nodes = std::move(query_->nodes);
    std::vector<OutputRef> first_outputs = std::move(query_->outputs);
    query_->nodes.clear();
    query_->outputs.clear();
    for (auto& [id, use] : field_use_) {
      use.reads.clear();
      use.asked.clear();
    }
    Diagnostics second;
    Diagnostics* given = std::exchange(diags_, &second);
    bind_nodes();
    read_outputs();
    diags_ = given;
    if (second.has_errors()) {
      query_->nodes = std::move(first_nodes);
      query_->outputs = std::move(first_outputs);
    }
  }

  void check_input_count(RawNode& raw) {
    const EpDefinition& def = *raw.definition;
    size_t given = raw.inputs.size();
    const ConfigNode* in = raw.body->find("in");
    if (def.inputs.empty() && !def.variadic_inputs) {
      if (in) {
        error(in->location(),
              "node '" + raw.id + "': EP '" + def.name + "' is a source and takes no 'in:'");
        raw.broken = true;
      }
      return;
    }
    if (def.variadic_inputs) {
      if (given == 0) {
        error(raw.ep_location, "node '" + raw.id + "': EP '" + def.name +
                                   "' needs 'in: [a, b, ...]' (at least one input)");
        raw.broken = true;
      }
      return;
    }
    if (given != def.inputs.size()) {
      std::string expected = def.inputs.size() == 1
                                 ? "one input ('in: NODE')"
                                 : std::to_string(def.inputs.size()) + " inputs ('in: [" +
                                       fmt_join(def.inputs) + "]')";
      error(in ? in->location() : raw.ep_location,
            "node '" + raw.id + "': EP '" + def.name + "' needs " + expected + ", " +
                (given == 0 ? std::string("'in:' is missing") : "got " + std::to_string(given)));
      raw.broken = true;
    }
  }

  static std::string fmt_join(const std::vector<std::string>& items) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
    return out;
  }

  std::optional<size_t> resolve_port(const BoundNode& producer, const InputRefText& ref,
                                     const std::string& consumer) {
    const auto& outputs = producer.definition->outputs;
    if (outputs.empty()) {
      error(ref.location, "node '" + consumer + "': input '" + ref.node + "' (EP '" + producer.ep +
                              "') has no output to read from");
      return std::nullopt;
    }
    if (ref.port.empty()) return 0;
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i] == ref.port) return i;
    }
    error(ref.location, "node '" + consumer + "': node '" + ref.node + "' (EP '" + producer.ep +
                            "') has no output port '" + ref.port + "'; its ports are " +
                            fmt_join(outputs) + did_you_mean(ref.port, outputs));
    return std::nullopt;
  }

  // Unknown keys, missing required parameters and parameter shapes.
  void check_params(RawNode& raw) {
    const EpDefinition& def = *raw.definition;
    std::vector<std::string> known = {"ep", "in"};
    for (const auto& p : def.params) known.push_back(p.name);
    for (const auto& e : raw.body->entries()) {
      if (std::find(known.begin(), known.end(), e.key) == known.end()) {
        std::vector<std::string> params;
        for (const auto& p : def.params) params.push_back(p.name);
        error(e.key_location, "node '" + raw.id + "': unknown parameter '" + e.key + "' for EP '" +
                                  def.name + "'" + did_you_mean(e.key, params));
        raw.broken = true;
      }
    }
    for (const auto& spec : def.params) {
      const ConfigNode* value = raw.body->find(spec.name);
      if (!value || value->is_null()) {
        if (spec.required) {
          error(raw.ep_location, "node '" + raw.id + "': EP '" + def.name + "' needs parameter '" +
                                     spec.name + "' (" + spec.doc + ")");
          raw.broken = true;
        }
        continue;
      }
      std::string problem = detail::check_param_shape(spec.type, *value);
      if (!problem.empty()) {
        error(value->location(),
              "node '" + raw.id + "': parameter '" + spec.name + "': " + problem);
        raw.broken = true;
      }
    }
  }

  bool bind_one(const RawNode& raw, BoundNode& node) {
    const EpDefinition& def = *raw.definition;
    node.output_schemas.assign(def.outputs.size(), nullptr);
    node.output_time_ordered.assign(def.outputs.size(), true);
    std::map<std::string, ConfigNode> defaults;
    for (const auto& spec : def.params) {
      if (!spec.default_value.empty()) {
        Diagnostics ignored;  // defaults were validated when the EP was registered
        defaults[spec.name] =
            parse_yaml(spec.default_value, "<default of " + spec.name + ">", ignored);
      }
    }
    NodeBindContext ctx(raw, node, query_->info, query_->params, defaults, *diags_,
                        field_use_[raw.id]);
    try {
      node.factory = def.bind(ctx);
    } catch (const std::exception& e) {
      ctx.error(raw.ep_location, "EP '" + def.name + "' failed while binding: " + e.what(),
                ErrorKind::Validation);
      return false;
    }
    if (ctx.has_errors()) return false;
    if (!node.factory) {
      ctx.error(raw.ep_location, "EP '" + def.name + "' returned no operator",
                ErrorKind::Validation);
      return false;
    }
    for (size_t i = 0; i < node.output_schemas.size(); ++i) {
      if (!node.output_schemas[i]) {
        ctx.error(raw.ep_location,
                  "EP '" + def.name + "' did not declare output port '" + def.outputs[i] + "'",
                  ErrorKind::Validation);
        return false;
      }
    }
    return true;
  }

  void read_outputs() {
    const ConfigNode* output = root_.find("output");
    if (!output || output->is_null()) {
      // Default: the leaves — every node's first output port that nothing reads.
      std::vector<bool> consumed(query_->nodes.size(), false);
      for (const auto& n : query_->nodes) {
        for (const auto& [producer, port] : n.inputs) {
          if (port == 0) consumed[producer] = true;
        }
      }
      for (size_t i = 0; i < query_->nodes.size(); ++i) {
        const auto& n = query_->nodes[i];
        if (!consumed[i] && n.definition && !n.definition->outputs.empty()) {
          query_->outputs.push_back({i, 0, n.id});
        }
      }
      return;
    }
    std::vector<ConfigNode> refs;
    if (output->is_scalar()) {
      refs.push_back(*output);
    } else if (output->is_sequence()) {
      refs = output->items();
    } else {
      error(output->location(), "'output:' must be a node name or a list of them");
      return;
    }
    std::vector<std::string> ids;
    for (const auto& n : query_->nodes) ids.push_back(n.id);
    for (const auto& item : refs) {
      if (!item.is_scalar()) {
        error(item.location(), "an output must be a node name");
        continue;
      }
      InputRefText ref = parse_ref(item);
      auto it = std::find(ids.begin(), ids.end(), ref.node);
      if (it == ids.end()) {
        error(item.location(),
              "unknown output node '" + ref.node + "'" + did_you_mean(ref.node, ids));
        continue;
      }
      size_t index = static_cast<size_t>(it - ids.begin());
      const BoundNode& n = query_->nodes[index];
      if (!n.definition) continue;
      if (n.definition->outputs.empty()) {
        error(item.location(), "node '" + n.id + "' (EP '" + n.ep + "') has no output to print");
        continue;
      }
      size_t port = 0;
      if (!ref.port.empty()) {
        auto p = std::find(n.definition->outputs.begin(), n.definition->outputs.end(), ref.port);
        if (p == n.definition->outputs.end()) {
          error(item.location(), "node '" + n.id + "' has no output port '" + ref.port + "'" +
                                     did_you_mean(ref.port, n.definition->outputs));
          continue;
        }
        port = static_cast<size_t>(p - n.definition->outputs.begin());
      }
      query_->outputs.push_back({index, port, ref.text});
    }
  }

  std::string file_;
  const Registry& registry_;
  const QueryOverrides& overrides_;
  Diagnostics* diags_;
  ConfigNode root_;
  std::unique_ptr<Query> query_;
  std::vector<RawNode> raw_nodes_;
  std::vector<size_t> order_;
  // By node id: what binding said about the fields each node uses.
  std::map<std::string, detail::FieldUse> field_use_;
};

}  // namespace

std::unique_ptr<Query> load_query_text(std::string_view text, const std::string& file_name,
                                       const Registry& registry, const QueryOverrides& overrides,
                                       Diagnostics& diags) {
  Loader loader(file_name, registry, overrides, diags);
  auto query = loader.load(text);
  diags.sort();
  return query;
}

std::unique_ptr<Query> load_query_tree(ConfigNode root, const std::string& file_name,
                                       const std::string& base_dir, const Registry& registry,
                                       const QueryOverrides& overrides, Diagnostics& diags) {
  Loader loader(file_name, registry, overrides, diags);
  auto query = loader.load_tree(std::move(root), base_dir);
  diags.sort();
  return query;
}

}  // namespace tickflow
