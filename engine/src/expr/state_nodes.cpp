// The container methods of state variables in expressions (SPEC §6):
// state.X.size(), state.SEEN.has(k...), state.SEEN.value('F', k...) and
// state.RECENT.value('F', i): their type checking (build_state_method, called by the
// checker of compile.cpp) and their evaluation nodes. The arguments are evaluated as
// whole columns like every other node's; the lookups then run row by row (one hash lookup
// or index per tick), reusing one key vector per evaluation. The nodes are never folded:
// a container changes while ticks flow.
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "expr/check.hpp"
#include "expr/nodes.hpp"
#include "tickflow/util.hpp"

namespace tickflow::expr {
namespace {

// The Value a container entry holds for storage type T (Bool is bool in a Value).
template <class T>
using ValueAlt = std::conditional_t<std::is_same_v<T, uint8_t>, bool, T>;

// Stores row `row` of an operand of storage type T in `v`, reusing a string's buffer.
template <class T>
void store(Value& v, const Operand& op, size_t row) {
  const T& x = op.as<T>()[op.scalar ? 0 : row];
  if constexpr (std::is_same_v<T, std::string>) {
    if (auto* s = std::get_if<std::string>(&v)) {
      s->assign(x);
      return;
    }
    v = x;
  } else {
    v = static_cast<ValueAlt<T>>(x);
  }
}

// The value of storage type T in `v`, or `fallback` when it holds another alternative.
template <class T>
T load(const Value& v, const T& fallback) {
  if (const auto* x = std::get_if<ValueAlt<T>>(&v)) return static_cast<T>(*x);
  return fallback;
}

// A node reading container `id` of the run's StateReader.
class ContainerNode : public Node {
 public:
  ContainerNode(Type type, size_t id, std::string name)
      : Node(type), id_(id), name_(std::move(name)) {}
  bool foldable() const override { return false; }
  bool reads_state() const override { return true; }

 protected:
  const TickContainer& container(const Frame& frame) const {
    if (!frame.info || !frame.info->state)
      throw RuntimeError("expression reads state but no state reader was given");
    const TickContainer* c = frame.info->state->container(id_);
    if (!c) raise(frame, 0, "the state variable '" + name_ + "' has no container in this run");
    return *c;
  }

  // Evaluates every child; true when all of them are scalars.
  bool eval_children(const Frame& frame, std::vector<Operand>& ops) const {
    ops.clear();
    bool all_scalar = true;
    for (const auto& child : children) {
      ops.push_back(child->eval(frame));
      all_scalar &= ops.back().scalar;
    }
    return all_scalar;
  }

 private:
  size_t id_;
  std::string name_;
};

// state.X.size(): the same for every row of one evaluation.
class SizeNode final : public ContainerNode {
 public:
  SizeNode(size_t id, std::string name) : ContainerNode(Type::Int, id, std::move(name)) {}
  Operand eval(const Frame& frame) const override {
    const TickContainer& c = container(frame);
    int64_t* out = output<int64_t>(frame, 1);
    out[0] = static_cast<int64_t>(c.size());
    return {out, true};
  }
};

// has() and the tick_set form of value(): the children are the key values, of the key
// fields' types. `field` is the field value() reads; has() has none.
template <class T>
class KeyLookupNode final : public ContainerNode {
 public:
  KeyLookupNode(Type type, size_t id, std::string name, std::optional<size_t> field)
      : ContainerNode(type, id, std::move(name)), field_(field) {}

  Operand eval(const Frame& frame) const override {
    const TickContainer& c = container(frame);
    std::vector<Operand> ops;
    const bool all_scalar = eval_children(frame, ops);
    const size_t n = all_scalar ? 1 : frame.rows;
    T* out = output<T>(frame, n);
    const T fallback = std::get<ValueAlt<T>>(default_value(type()));
    std::vector<Value> key(children.size());
    for (size_t i = 0; i < n; ++i) {
      for (size_t k = 0; k < ops.size(); ++k) {
        with_value_type(children[k]->type(), [&]<class K>() { store<K>(key[k], ops[k], i); });
      }
      const StateEntry* entry = c.find(key);
      if constexpr (std::is_same_v<T, uint8_t>) {
        if (!field_) {
          out[i] = entry != nullptr;
          continue;
        }
      }
      out[i] = entry && *field_ < entry->size() ? load<T>((*entry)[*field_], fallback) : fallback;
    }
    return {out, all_scalar};
  }

 private:
  std::optional<size_t> field_;
};

// The tick_list / tick_deque form of value(): children[0] is the int index.
template <class T>
class IndexLookupNode final : public ContainerNode {
 public:
  IndexLookupNode(Type type, size_t id, std::string name, size_t field)
      : ContainerNode(type, id, std::move(name)), field_(field) {}

  Operand eval(const Frame& frame) const override {
    const TickContainer& c = container(frame);
    const Operand index = children[0]->eval(frame);
    const int64_t* x = index.as<int64_t>();
    const size_t n = index.scalar ? 1 : frame.rows;
    T* out = output<T>(frame, n);
    const T fallback = std::get<ValueAlt<T>>(default_value(type()));
    for (size_t i = 0; i < n; ++i) {
      const StateEntry* entry = c.at(x[i]);
      out[i] = entry && field_ < entry->size() ? load<T>((*entry)[field_], fallback) : fallback;
    }
    return {out, index.scalar};
  }

 private:
  size_t field_;
};

NodePtr make_state_size(size_t id, std::string name) {
  return std::make_unique<SizeNode>(id, std::move(name));
}

NodePtr make_state_has(size_t id, std::string name, std::vector<NodePtr> key) {
  auto node =
      std::make_unique<KeyLookupNode<uint8_t>>(Type::Bool, id, std::move(name), std::nullopt);
  node->children = std::move(key);
  return node;
}

NodePtr make_state_key_value(size_t id, std::string name, Type type, size_t field,
                             std::vector<NodePtr> key) {
  NodePtr node = with_value_type(type, [&]<class T>() -> NodePtr {
    return std::make_unique<KeyLookupNode<T>>(type, id, std::move(name), field);
  });
  node->children = std::move(key);
  return node;
}

NodePtr make_state_index_value(size_t id, std::string name, Type type, size_t field,
                               NodePtr index) {
  NodePtr node = with_value_type(type, [&]<class T>() -> NodePtr {
    return std::make_unique<IndexLookupNode<T>>(type, id, std::move(name), field);
  });
  node->children.push_back(std::move(index));
  return node;
}

}  // namespace

NodePtr build_state_method(const Ast& ast, const StateRef* ref,
                           const std::function<NodePtr(const Ast&)>& check, TypeErrors& errors) {
  const StateVariable* var = ref ? ref->variable : nullptr;
  const std::string full = "state." + ast.text;
  const std::string& method = ast.method;
  auto method_error = [&](std::string message) {
    errors.error(ast.method_offset, ast.method_length, std::move(message));
  };

  // Which method, and whether the variable has it.
  bool ok = ref != nullptr;
  if (ref && !(var && var->is_container())) {
    method_error(full + " is a scalar (" + std::string(type_name(ref->type)) +
                 "), not a container: it has no method '" + method + "' (read it as " + full + ")");
    ok = false;
  } else if (ref) {
    const std::string kind(state_kind_name(var->kind));
    const bool is_set = var->kind == StateKind::TickSet;
    if (method != "has" && method != "value" && method != "size" && method != "find") {
      std::string hint = did_you_mean(method, {"has", "value", "find", "size"});
      if (hint.empty())
        hint = is_set ? " (a tick_set has has(), value(), find() and size())"
                      : " (a " + kind + " has value() and size())";
      method_error("unknown method '" + method + "' of " + full + hint);
      ok = false;
    } else if ((method == "has" || method == "find") && !is_set) {
      method_error(method + "() needs a tick_set; " + full + " is a " + kind + " (use " + full +
                   ".value('FIELD', i) or " + full + ".size())");
      ok = false;
    }
  }

  // The arguments (value()'s field name is a literal, not an expression).
  // find('FIELD', default, key...) is value() with a default of the caller's choosing.
  const bool is_find = method == "find";
  const bool named_field = method == "value" || is_find;
  std::vector<NodePtr> args;
  for (size_t i = 0; i < ast.children.size(); ++i) {
    if (named_field && i == 0) {
      args.push_back(nullptr);
      continue;
    }
    args.push_back(check(*ast.children[i]));
    ok &= args.back() != nullptr;
  }
  if (!ok) return nullptr;

  const bool is_set = var->kind == StateKind::TickSet;
  static const Schema no_fields;
  const Schema& fields = var->fields ? *var->fields : no_fields;
  std::string keys;  // "ID, VENUE": the key fields, for signatures
  for (size_t k : var->key) keys += (keys.empty() ? "" : ", ") + fields[k].name;

  // Argument count.
  size_t want = 0;
  std::string signature;
  if (method == "size") {
    signature = full + ".size()";
  } else if (method == "has") {
    want = var->key.size();
    signature = full + ".has(" + keys + ")";
  } else if (is_find) {
    want = 2 + var->key.size();
    signature = full + ".find('FIELD', default" + (keys.empty() ? "" : ", " + keys) + ")";
  } else if (is_set) {
    want = 1 + var->key.size();
    signature = full + ".value('FIELD'" + (keys.empty() ? "" : ", " + keys) + ")";
  } else {
    want = 2;
    signature = full + ".value('FIELD', index)";
  }
  if (args.size() != want) {
    const std::string count =
        want == 0 ? "no arguments" : std::to_string(want) + " argument" + (want == 1 ? "" : "s");
    method_error(method + "() takes " + count + ", found " + std::to_string(args.size()) + " (" +
                 signature + ")");
    return nullptr;
  }
  if (method == "size") return make_state_size(ref->id, ast.text);

  // value(): the field.
  size_t field = 0;
  if (named_field) {
    std::vector<std::string> names = fields.names();
    std::string listing;
    for (const auto& n : names) listing += (listing.empty() ? "" : ", ") + n;
    const Ast& name_arg = *ast.children[0];
    if (name_arg.kind != AstKind::StringLiteral) {
      std::string hint = " (" + full + " has fields " + listing + ")";
      if (name_arg.kind == AstKind::Name && fields.contains(name_arg.text))
        hint = " (write '" + name_arg.text + "')";
      errors.error(name_arg.start, 1, "value() needs a field name in quotes as argument 1" + hint);
      ok = false;
    } else if (auto index = fields.index_of(name_arg.text)) {
      field = *index;
    } else {
      std::string hint = did_you_mean(name_arg.text, names);
      if (hint.empty()) hint = " (its fields: " + listing + ")";
      errors.error_at(name_arg, full + " has no field '" + name_arg.text + "'" + hint);
      ok = false;
    }
  }

  // find()'s default: of the field's type (an int is taken for a double field).
  NodePtr fallback;
  if (is_find && ok) {
    const Type want_type = fields[field].type;
    if (args[1]->type() == Type::Int && want_type == Type::Double) {
      fallback = promote_to_double(std::move(args[1]));
    } else if (args[1]->type() == want_type) {
      fallback = std::move(args[1]);
    } else {
      errors.error(ast.children[1]->start, 1,
                   "find() needs a default of the field's type (" +
                       std::string(type_name(want_type)) + " for " + fields[field].name +
                       ") as argument 2, found " + std::string(type_name(args[1]->type())));
      ok = false;
    }
  }

  // The key values or the index.
  const size_t first = is_find ? 2 : named_field ? 1 : 0;
  auto reject = [&](size_t i, const std::string& expected) {
    const std::string position = args.size() > 1 ? " as argument " + std::to_string(i + 1) : "";
    errors.error(ast.children[i]->start, 1,
                 method + "() needs " + expected + position + ", found " +
                     std::string(type_name(args[i]->type())));
    ok = false;
  };
  if (!is_set) {
    if (args[1]->type() != Type::Int) reject(1, "an int index");
    if (!ok) return nullptr;
    return make_state_index_value(ref->id, ast.text, fields[field].type, field, std::move(args[1]));
  }
  std::vector<NodePtr> key;
  for (size_t k = 0; k < var->key.size(); ++k) {
    const size_t i = first + k;
    const Field& key_field = fields[var->key[k]];
    if (args[i]->type() == Type::Int && key_field.type == Type::Double) {
      args[i] = promote_to_double(std::move(args[i]));
    } else if (args[i]->type() != key_field.type) {
      reject(i, std::string(type_name(key_field.type)) + " for the key field " + key_field.name);
      continue;
    }
    key.push_back(std::move(args[i]));
  }
  if (!ok) return nullptr;
  if (method == "has") return make_state_has(ref->id, ast.text, std::move(key));
  if (is_find) {
    // has(key) ? value(field, key) : default; the key expressions are built a second time
    // for the test (they are pure: the same values on every evaluation).
    std::vector<NodePtr> test_key;
    for (size_t k = 0; k < var->key.size(); ++k) {
      NodePtr again = check(*ast.children[first + k]);
      if (!again) return nullptr;
      if (again->type() == Type::Int && fields[var->key[k]].type == Type::Double)
        again = promote_to_double(std::move(again));
      test_key.push_back(std::move(again));
    }
    return make_if(
        make_state_has(ref->id, ast.text, std::move(test_key)),
        make_state_key_value(ref->id, ast.text, fields[field].type, field, std::move(key)),
        std::move(fallback));
  }
  return make_state_key_value(ref->id, ast.text, fields[field].type, field, std::move(key));
}

}  // namespace tickflow::expr
