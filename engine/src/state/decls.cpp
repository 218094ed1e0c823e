// Reading a query's `state:` section (SPEC §6) and loading the queries its variables'
// init_from name.
#include "state/decls.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/scalar_parse.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow::detail {
namespace {

const std::vector<std::string> kVariableKeys = {"type",     "init",  "fields",    "key",  "keep",
                                                "max_size", "scope", "init_from", "field"};
const std::vector<std::string> kKinds = {"int",      "double",   "bool",      "string",    "time",
                                         "duration", "tick_set", "tick_list", "tick_deque"};

// The files whose init_from queries are being loaded on this thread, to catch cycles.
thread_local std::vector<std::string> loading_files;

std::optional<Value> parse_scalar(Type type, const std::string& text) {
  switch (type) {
    case Type::Int:
      if (auto v = parse_int(text)) return Value(*v);
      break;
    case Type::Double:
      if (auto v = parse_double(text)) return Value(*v);
      break;
    case Type::Bool:
      if (auto v = parse_bool(text)) return Value(*v);
      break;
    case Type::Time:
      if (auto v = parse_time_or_nanos(text)) return Value(*v);
      break;
    case Type::Duration:
      if (auto v = parse_duration(text)) return Value(*v);
      break;
    case Type::String:
      return Value(text);
  }
  return std::nullopt;
}

// Whether a value of type `from` (an init query's field) can fill a variable field of `to`.
bool assignable(Type from, Type to) {
  return from == to || (from == Type::Int && to == Type::Double);
}

class StateSection {
 public:
  StateSection(Query& query, const Registry& registry, Diagnostics& diags)
      : query_(query), registry_(registry), diags_(diags) {}

  void read(const ConfigNode& section) {
    if (section.is_null()) return;
    if (!section.is_mapping()) {
      diags_.error(section.location(),
                   "'state:' must be a mapping of variable names to declarations such as "
                   "{type: int, init: 0}");
      return;
    }
    for (const auto& e : section.entries()) read_variable(e.key, e.key_location, e.value);
    query_.state_init_queries.resize(query_.info.state.size());
    for (auto& [id, node] : init_nodes_) load_init(query_.info.state[id], *node);
  }

 private:
  void error(const Location& loc, const std::string& name, const std::string& message) {
    diags_.error(loc, "state variable '" + name + "': " + message);
  }

  void read_variable(const std::string& name, const Location& where, const ConfigNode& body) {
    if (!is_valid_name(name)) {
      diags_.error(where, "invalid state variable name '" + name + "' (use letters, digits and _)");
      return;
    }
    if (!body.is_mapping()) {
      error(body.location().known() ? body.location() : where, name,
            "must be a mapping such as {type: int, init: 0}");
      return;
    }
    size_t errors_before = diags_.size();
    for (const auto& e : body.entries()) {
      if (std::find(kVariableKeys.begin(), kVariableKeys.end(), e.key) == kVariableKeys.end()) {
        error(e.key_location, name,
              "unknown key '" + e.key + "'" + did_you_mean(e.key, kVariableKeys));
      }
    }
    StateVariable v;
    v.name = name;
    v.location = where;
    v.id = query_.info.state.size();
    const ConfigNode* type = body.find("type");
    if (!type || !type->is_scalar()) {
      error(type ? type->location() : where, name,
            "needs 'type:' (int, double, bool, string, time, duration, tick_set, tick_list or "
            "tick_deque)");
      return;
    }
    if (type->text() == "tick_set") {
      v.kind = StateKind::TickSet;
    } else if (type->text() == "tick_list") {
      v.kind = StateKind::TickList;
    } else if (type->text() == "tick_deque") {
      v.kind = StateKind::TickDeque;
    } else if (auto scalar = parse_type(type->text())) {
      v.type = *scalar;
    } else {
      std::string hint = did_you_mean(type->text(), kKinds);
      if (hint.empty()) {
        hint =
            " (types: int, double, bool, string, time, duration, tick_set, tick_list, "
            "tick_deque)";
      }
      error(type->location(), name, "unknown type '" + type->text() + "'" + hint);
      return;
    }
    if (v.is_container()) {
      read_container(v, body, where);
    } else {
      read_scalar(v, body);
    }
    if (const ConfigNode* scope = body.find("scope")) {
      if (!scope->is_scalar() || (scope->text() != "symbol" && scope->text() != "query")) {
        error(scope->location(), name, "'scope:' must be symbol or query");
      } else {
        v.query_scope = scope->text() == "query";
      }
    }
    if (const ConfigNode* init_from = body.find("init_from")) {
      if (!init_from->is_scalar() || init_from->text().empty()) {
        error(init_from->location(), name, "'init_from:' must be the path of a query file");
      } else {
        std::filesystem::path path(init_from->text());
        if (path.is_relative()) path = std::filesystem::path(query_.info.base_dir) / path;
        v.init_from = path.lexically_normal().string();
        init_nodes_.emplace_back(v.id, init_from);
      }
    }
    if (const ConfigNode* field = body.find("field")) {
      if (v.is_container() || v.init_from.empty()) {
        error(field->location(), name,
              "'field:' names the field a scalar takes from its init_from query's last tick");
      } else if (!field->is_scalar() || !is_valid_name(field->text())) {
        error(field->location(), name, "'field:' must be a field name");
      } else {
        v.init_field = field->text();
      }
    }
    if (!v.is_container() && !v.init_from.empty() && v.init_field.empty()) v.init_field = name;
    for (const auto& other : query_.info.state) {
      if (other.name == name) error(where, name, "is declared twice");
    }
    if (diags_.size() != errors_before) {
      // Keep ids dense: a broken declaration is not added, and its init_from is not loaded.
      if (!init_nodes_.empty() && init_nodes_.back().first == v.id) init_nodes_.pop_back();
      return;
    }
    query_.info.state.push_back(std::move(v));
  }

  void read_scalar(StateVariable& v, const ConfigNode& body) {
    for (const char* key : {"fields", "key", "keep", "max_size"}) {
      if (const auto* e = body.find_entry(key)) {
        error(e->key_location, v.name,
              std::string("'") + key + "' is for tick containers; '" + v.name + "' is a " +
                  std::string(type_name(v.type)));
      }
    }
    v.init = default_value(v.type);
    const ConfigNode* init = body.find("init");
    if (!init || init->is_null()) return;
    auto value = init->is_scalar() ? parse_scalar(v.type, init->text()) : std::nullopt;
    if (!value) {
      error(
          init->location(), v.name,
          "'init:' must be a " + std::string(type_name(v.type)) + ", found '" + init->text() + "'");
      return;
    }
    v.init = std::move(*value);
  }

  void read_container(StateVariable& v, const ConfigNode& body, const Location& where) {
    const std::string kind(state_kind_name(v.kind));
    if (const auto* e = body.find_entry("init")) {
      error(e->key_location, v.name,
            "'init:' is for scalars; a " + kind + " starts empty (or use init_from:)");
    }
    const ConfigNode* fields = body.find("fields");
    std::vector<Field> schema;
    std::set<std::string> declared;  // including fields whose type is wrong (already reported)
    if (!fields || !fields->is_mapping() || fields->entries().empty()) {
      error(fields ? fields->location() : where, v.name,
            "a " + kind + " needs 'fields:' such as {ID: int, PX: double}");
    } else {
      for (const auto& f : fields->entries()) {
        declared.insert(f.key);
        auto type = f.value.is_scalar() ? parse_type(f.value.text()) : std::nullopt;
        if (!is_valid_name(f.key) || f.key == "TIMESTAMP") {
          error(f.key_location, v.name, "invalid field name '" + f.key + "'");
        } else if (!type) {
          error(f.value.location(), v.name,
                "field '" + f.key + "': unknown type '" + f.value.text() + "'" +
                    did_you_mean(f.value.text(),
                                 {"int", "double", "bool", "string", "time", "duration"}));
        } else {
          schema.push_back({f.key, *type});
        }
      }
    }
    v.fields = make_schema(schema);
    const ConfigNode* key = body.find("key");
    if (v.kind == StateKind::TickSet) {
      if (!key || !key->is_sequence() || key->items().empty()) {
        error(key ? key->location() : where, v.name,
              "a tick_set needs 'key: [FIELD, ...]' naming fields of 'fields:'");
      } else {
        for (const auto& k : key->items()) {
          auto index = v.fields->index_of(k.text());
          if (k.is_scalar() && !index && declared.count(k.text())) continue;
          if (!k.is_scalar() || !index) {
            error(k.location(), v.name,
                  "key field '" + k.text() + "' is not in 'fields:'" +
                      did_you_mean(k.text(), v.fields->names()));
          } else {
            v.key.push_back(*index);
          }
        }
      }
      if (const ConfigNode* keep = body.find("keep")) {
        if (!keep->is_scalar() || (keep->text() != "first" && keep->text() != "last")) {
          error(keep->location(), v.name, "'keep:' must be first or last");
        } else {
          v.keep_last = keep->text() == "last";
        }
      }
    } else {
      if (key) error(body.find_entry("key")->key_location, v.name, "'key:' is for tick_set");
      if (const auto* e = body.find_entry("keep")) {
        error(e->key_location, v.name, "'keep:' is for tick_set");
      }
    }
    const ConfigNode* max_size = body.find("max_size");
    if (v.kind == StateKind::TickDeque) {
      auto n = max_size && max_size->is_scalar() ? parse_int(max_size->text()) : std::nullopt;
      if (!n || *n <= 0) {
        error(max_size ? max_size->location() : where, v.name,
              "a tick_deque needs 'max_size:' (a positive number of entries)");
      } else {
        v.max_size = static_cast<size_t>(*n);
      }
    } else if (max_size) {
      error(body.find_entry("max_size")->key_location, v.name, "'max_size:' is for tick_deque");
    }
  }

  // Loads and binds the init_from query now, so its errors are load-time errors of this
  // query (reported with the other file's own locations), and checks that its output can
  // fill the variable.
  void load_init(const StateVariable& v, const ConfigNode& where) {
    std::error_code ec;
    std::string canonical = std::filesystem::weakly_canonical(v.init_from, ec).string();
    std::string self = std::filesystem::weakly_canonical(query_.info.file, ec).string();
    if (canonical == self ||
        std::find(loading_files.begin(), loading_files.end(), canonical) != loading_files.end()) {
      error(where.location(), v.name, "init_from '" + where.text() + "' leads back to itself");
      return;
    }
    loading_files.push_back(self);
    size_t errors_before = diags_.size();
    std::shared_ptr<const Query> init = load_query(v.init_from, registry_, {}, diags_);
    loading_files.pop_back();
    if (!init) {
      (void)errors_before;
      error(where.location(), v.name,
            "init_from query '" + where.text() + "' could not be loaded (see above)");
      return;
    }
    if (init->outputs.size() != 1) {
      error(where.location(), v.name,
            "init_from query '" + where.text() + "' must have exactly one output stream, it has " +
                std::to_string(init->outputs.size()));
      return;
    }
    const OutputRef& out = init->outputs[0];
    const Schema& schema = *init->nodes[out.node].output_schemas[out.port];
    auto check_field = [&](const std::string& field, Type wanted) {
      auto index = schema.index_of(field);
      if (!index) {
        if (field == "SYMBOL" && wanted == Type::String) return;  // filled with the symbol
        error(where.location(), v.name,
              "init_from query '" + where.text() + "' has no field '" + field + "' in its output" +
                  did_you_mean(field, schema.names()));
      } else if (!assignable(schema[*index].type, wanted)) {
        error(where.location(), v.name,
              "field '" + field + "' of init_from query '" + where.text() + "' is " +
                  std::string(type_name(schema[*index].type)) + ", the variable needs " +
                  std::string(type_name(wanted)));
      }
    };
    if (v.is_container()) {
      for (const auto& f : v.fields->fields()) check_field(f.name, f.type);
    } else {
      check_field(v.init_field, v.type);
    }
    query_.state_init_queries[v.id] = std::move(init);
  }

  Query& query_;
  const Registry& registry_;
  Diagnostics& diags_;
  std::vector<std::pair<size_t, const ConfigNode*>> init_nodes_;
};

}  // namespace

void read_state(const ConfigNode& root, Query& query, const Registry& registry,
                Diagnostics& diags) {
  if (const ConfigNode* section = root.find("state")) {
    StateSection(query, registry, diags).read(*section);
  }
}

}  // namespace tickflow::detail
