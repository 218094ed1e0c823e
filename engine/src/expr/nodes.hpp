// Evaluation nodes of compiled expressions. Every node computes a whole column for
// the rows of a batch at once (or one value standing for every row, a "scalar"), so
// the per-tick cost is a tight loop per operator rather than a tree walk per tick.
// Internal to the expression compiler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/expr.hpp"

namespace tickflow::expr {

// ------------------------------------------------------------ storage types

// A node's values, in the layout the evaluation loops read: one contiguous array per type,
// with strings as std::string (string functions and operators take `const std::string*`),
// where a Column holds strings in a StringColumn. The conversion happens where strings
// enter (a String field, a state read) and leave (the expression's result).
class NodeValues {
 public:
  explicit NodeValues(Type type = Type::Int) : type_(type) {}
  Type type() const { return type_; }
  // T is int64_t, double, uint8_t (Bool) or std::string, and matches type() as in Column.
  template <class T>
  std::vector<T>& of() {
    return std::get<std::vector<T>>(values_);
  }
  // Grows or shrinks to n values; new values are the type's default (SPEC §1).
  void resize(size_t n) {
    with_value_type(type_, [&]<class T>() { of<T>().resize(n, Column::default_of<T>()); });
  }

 private:
  Type type_;
  std::tuple<std::vector<int64_t>, std::vector<double>, std::vector<uint8_t>,
             std::vector<std::string>>
      values_;
};

// ------------------------------------------------------------ evaluation frame

// A node's view of its input: `rows` values, or one value for every row when scalar.
struct Operand {
  const void* data = nullptr;
  bool scalar = false;
  template <class T>
  const T* as() const {
    return static_cast<const T*>(data);
  }
};

// Per-run storage of one node, in ExprState.
struct NodeState {
  NodeValues out;             // the node's result
  NodeValues history;         // lag: the last k values seen; if: the else-branch mask
  Column read{Type::Int};     // a state read: the values the state reader gave
  std::vector<uint8_t> mask;  // and/or/if: rows whose errors count in a branch
};

class Node;

class StateImpl final : public ExprState {
 public:
  explicit StateImpl(const Node* root, size_t node_count);
  void reset() override;
  std::vector<NodeState> nodes;

 private:
  const Node* root_;
};

struct Frame {
  const Batch* batch = nullptr;
  size_t rows = 0;                  // rows to compute, lookahead included
  size_t commit_rows = 0;           // rows that are final: lag history advances by these
  const uint8_t* active = nullptr;  // null: every row's errors count
  StateImpl* state = nullptr;
  const EvalInfo* info = nullptr;

  // Whether an error at `row` must be raised: committed, and not in a branch not taken.
  bool counts(size_t row) const { return row < commit_rows && (!active || active[row]); }
  // The first row whose errors count, or rows when none does.
  size_t first_counting_row() const {
    for (size_t i = 0; i < rows; ++i) {
      if (counts(i)) return i;
    }
    return rows;
  }
};

// ------------------------------------------------------------ nodes

class Node;
using NodePtr = std::unique_ptr<Node>;
struct Ast;
class TypeErrors;

class Node {
 public:
  explicit Node(Type type) : type_(type) {}
  // Frees a long left-deep chain (a + b + c ...) without recursing once per term.
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  Type type() const { return type_; }
  virtual Operand eval(const Frame& frame) const = 0;

  // Binary operators and and/or evaluate children[0] first and on its own. Such a node
  // says so here and implements eval_after_left; a long left-deep chain of them
  // (a + b + c + ...) is then evaluated in a loop by its top node, not one stack frame
  // per term.
  virtual bool chains_left() const { return false; }
  virtual Operand eval_after_left(const Frame& frame, Operand left) const {
    (void)frame;
    return left;
  }
  // Set by the compiler on the top node of a chain of two or more such nodes: the chain
  // from the top down, so that left_chain.back()->children[0] is the innermost operand.
  std::vector<const Node*> left_chain;
  // A pure function of the children's values: folded when they are all constant.
  virtual bool foldable() const { return true; }
  virtual bool is_constant() const { return false; }
  virtual bool reads_state() const { return false; }
  // Whether evaluating this node alone may raise a run-time error.
  virtual bool may_raise() const { return false; }
  // Ticks of history (lag) or lookahead (lead) this node itself adds.
  virtual size_t lag() const { return 0; }
  virtual size_t lead() const { return 0; }
  virtual void init_state(NodeState& state) const { state.out = NodeValues(type_); }

  std::vector<NodePtr> children;
  size_t slot = 0;     // index of this node's NodeState
  std::string origin;  // "file:line:col" of the node's token, for run-time errors

 protected:
  // The node's result column resized to n values.
  template <class T>
  T* output(const Frame& frame, size_t n) const {
    auto& v = frame.state->nodes[slot].out.of<T>();
    v.resize(n);
    return v.data();
  }
  // eval() of a node that chains_left(): children[0], then eval_after_left, in a loop
  // down a long chain.
  Operand eval_left_first(const Frame& frame) const;
  [[noreturn]] void raise(const Frame& frame, size_t row, const std::string& message) const;
  // Raises at the first row whose errors count (for a failure of a scalar computation).
  void raise_scalar(const Frame& frame, const std::string& message) const {
    size_t row = frame.first_counting_row();
    if (row < frame.rows) raise(frame, row, message);
  }

 private:
  Type type_;
};

// A fixed value for every row. Produced by literals, parameters and constant folding.
class ConstantNode final : public Node {
 public:
  explicit ConstantNode(TypedValue value);
  Operand eval(const Frame&) const override { return {data_, true}; }
  bool is_constant() const override { return true; }
  const TypedValue& value() const { return value_; }

 private:
  TypedValue value_;
  NodeValues column_;
  const void* data_ = nullptr;
};

NodePtr make_constant(TypedValue value);
NodePtr make_field(Type type, size_t column_index);
NodePtr make_timestamp();
NodePtr make_run_symbol();
NodePtr make_state_read(Type type, size_t id);
// state.NAME.method(args) (state_nodes.cpp): type-checks a container method call
// against the variable `ref` resolved (nullptr when unknown, already reported), checking
// the argument expressions with `check`, and builds its node; nullptr after an error.
NodePtr build_state_method(const Ast& ast, const StateRef* ref,
                           const std::function<NodePtr(const Ast&)>& check, TypeErrors& errors);
NodePtr make_lag(NodePtr operand, size_t ticks);
NodePtr make_lead(NodePtr operand, size_t ticks);
NodePtr make_and(NodePtr left, NodePtr right);
NodePtr make_or(NodePtr left, NodePtr right);
// cond ? a : b; a and b must have the same type.
NodePtr make_if(NodePtr cond, NodePtr a, NodePtr b);
// values[0] in (values[1..]); all of one type. `negate` for "not in".
NodePtr make_in(std::vector<NodePtr> values, bool negate);
// min or max of arguments of one type; NaN wins for doubles.
NodePtr make_min_max(std::vector<NodePtr> args, bool is_max);
// Converts an int operand to double (others unchanged).
NodePtr promote_to_double(NodePtr node);

// ------------------------------------------------------------ generic map nodes

// out[i] = f(a[i]).
template <class R, class A, class F>
class Map1Node final : public Node {
 public:
  Map1Node(Type type, F f) : Node(type), f_(std::move(f)) {}
  Operand eval(const Frame& frame) const override {
    Operand a = children[0]->eval(frame);
    const A* x = a.as<A>();
    const size_t n = a.scalar ? 1 : frame.rows;
    R* out = output<R>(frame, n);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<R>(f_(x[i]));
    return {out, a.scalar};
  }

 private:
  F f_;
};

// out[i] = f(a[i], b[i]), with a loop per combination of column and scalar operands
// so that each stays a simple vectorizable loop.
template <class R, class A, class B, class F>
class Map2Node final : public Node {
 public:
  Map2Node(Type type, F f) : Node(type), f_(std::move(f)) {}
  Operand eval(const Frame& frame) const override { return eval_left_first(frame); }
  bool chains_left() const override { return true; }
  Operand eval_after_left(const Frame& frame, Operand a) const override {
    Operand b = children[1]->eval(frame);
    const A* x = a.as<A>();
    const B* y = b.as<B>();
    const size_t n = frame.rows;
    if (a.scalar && b.scalar) {
      R* out = output<R>(frame, 1);
      out[0] = static_cast<R>(f_(x[0], y[0]));
      return {out, true};
    }
    R* out = output<R>(frame, n);
    if (a.scalar) {
      const A& xs = x[0];
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<R>(f_(xs, y[i]));
    } else if (b.scalar) {
      const B& ys = y[0];
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<R>(f_(x[i], ys));
    } else {
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<R>(f_(x[i], y[i]));
    }
    return {out, false};
  }

 private:
  F f_;
};

// Like Map1Node/Map2Node for any arity, for functions that may fail: f(out, args...)
// returns false on failure and message(args...) says why. Failures raise only in rows
// whose errors count (see Frame::counts).
template <class R, class F, class M, class... Args>
class TryMapNode final : public Node {
 public:
  TryMapNode(Type type, F f, M message)
      : Node(type), f_(std::move(f)), message_(std::move(message)) {}
  bool may_raise() const override { return true; }

  Operand eval(const Frame& frame) const override {
    Operand ops[sizeof...(Args)];
    for (size_t k = 0; k < sizeof...(Args); ++k) ops[k] = children[k]->eval(frame);
    bool all_scalar = true;
    for (const auto& op : ops) all_scalar &= op.scalar;
    const size_t n = all_scalar ? 1 : frame.rows;
    R* out = output<R>(frame, n);
    run(frame, ops, out, n, all_scalar, std::index_sequence_for<Args...>{});
    return {out, all_scalar};
  }

 private:
  template <size_t... K>
  void run(const Frame& frame, const Operand* ops, R* out, size_t n, bool all_scalar,
           std::index_sequence<K...>) const {
    for (size_t i = 0; i < n; ++i) {
      if (f_(out[i], ops[K].template as<Args>()[ops[K].scalar ? 0 : i]...)) continue;
      out[i] = R{};
      const std::string why = message_(ops[K].template as<Args>()[ops[K].scalar ? 0 : i]...);
      if (all_scalar)
        raise_scalar(frame, why);
      else if (frame.counts(i))
        raise(frame, i, why);
    }
  }

  F f_;
  M message_;
};

template <class R, class A, class F>
NodePtr map1(Type type, NodePtr a, F f) {
  auto node = std::make_unique<Map1Node<R, A, F>>(type, std::move(f));
  node->children.push_back(std::move(a));
  return node;
}

template <class R, class A, class B, class F>
NodePtr map2(Type type, NodePtr a, NodePtr b, F f) {
  auto node = std::make_unique<Map2Node<R, A, B, F>>(type, std::move(f));
  node->children.push_back(std::move(a));
  node->children.push_back(std::move(b));
  return node;
}

template <class R, class... Args, class F, class M, class... Nodes>
NodePtr try_map(Type type, F f, M message, Nodes... args) {
  auto node =
      std::make_unique<TryMapNode<R, F, M, Args...>>(type, std::move(f), std::move(message));
  (node->children.push_back(std::move(args)), ...);
  return node;
}

}  // namespace tickflow::expr
