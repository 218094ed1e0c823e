#include "expr/nodes.hpp"

#include <algorithm>
#include <cmath>

namespace tickflow::expr {

// ------------------------------------------------------------ state

namespace {
void init_tree(const Node& root, std::vector<NodeState>& states) {
  std::vector<const Node*> pending{&root};
  while (!pending.empty()) {
    const Node* node = pending.back();
    pending.pop_back();
    node->init_state(states[node->slot]);
    for (const auto& child : node->children) pending.push_back(child.get());
  }
}
}  // namespace

Node::~Node() {
  std::vector<NodePtr> pending = std::move(children);
  while (!pending.empty()) {
    NodePtr next = std::move(pending.back());
    pending.pop_back();
    for (auto& child : next->children) pending.push_back(std::move(child));
    next->children.clear();
  }
}

Operand Node::eval_left_first(const Frame& frame) const {
  if (left_chain.empty()) return eval_after_left(frame, children[0]->eval(frame));
  Operand value = left_chain.back()->children[0]->eval(frame);
  for (size_t i = left_chain.size(); i-- > 0;) value = left_chain[i]->eval_after_left(frame, value);
  return value;
}

StateImpl::StateImpl(const Node* root, size_t node_count) : nodes(node_count), root_(root) {
  reset();
}

void StateImpl::reset() {
  if (root_) init_tree(*root_, nodes);
}

void Node::raise(const Frame& frame, size_t row, const std::string& message) const {
  RuntimeError error(origin.empty() ? message : message + ", in the expression at " + origin);
  if (row < frame.batch->times.size()) error.tick_time = frame.batch->times[row];
  throw error;
}

// ------------------------------------------------------------ leaves

ConstantNode::ConstantNode(TypedValue value)
    : Node(value.type), value_(std::move(value)), column_(value_.type) {
  data_ = with_value_type(value_.type, [&]<class T>() -> const void* {
    using Stored = std::conditional_t<std::is_same_v<T, uint8_t>, bool, T>;
    column_.of<T>().push_back(static_cast<T>(std::get<Stored>(value_.value)));
    return column_.of<T>().data();
  });
}

NodePtr make_constant(TypedValue value) {
  return std::make_unique<ConstantNode>(std::move(value));
}

namespace {

// Copies `rows` strings of `from` into `to` as std::string, reusing its strings' buffers.
void copy_strings(const StringColumn& from, size_t rows, std::vector<std::string>& to) {
  to.resize(rows);
  for (size_t i = 0; i < rows; ++i) to[i].assign(from[i]);
}

// The values of a column of any type but String, as an operand's data (strings are
// copied with copy_strings).
const void* numeric_data(const Column& column) {
  return with_value_type(column.type(), [&]<class T>() -> const void* {
    if constexpr (std::is_same_v<T, std::string>) {
      return nullptr;
    } else {
      return column.values<T>().data();
    }
  });
}

// A field of the batch: no copy, the node hands out the batch's own column (strings are
// copied into the node's std::string values, the layout expression operands have).
class FieldNode final : public Node {
 public:
  FieldNode(Type type, size_t index) : Node(type), index_(index) {}
  bool foldable() const override { return false; }
  Operand eval(const Frame& frame) const override {
    const Column& c = frame.batch->columns[index_];
    if (type() == Type::String) {
      auto& out = frame.state->nodes[slot].out.of<std::string>();
      copy_strings(c.strings(), frame.rows, out);
      return {out.data(), false};
    }
    return {numeric_data(c), false};
  }

 private:
  size_t index_;
};

class TimestampNode final : public Node {
 public:
  TimestampNode() : Node(Type::Time) {}
  bool foldable() const override { return false; }
  Operand eval(const Frame& frame) const override { return {frame.batch->times.data(), false}; }
};

// SYMBOL in a run where it is not a field: the run's symbol, the same on every tick.
class RunSymbolNode final : public Node {
 public:
  RunSymbolNode() : Node(Type::String) {}
  bool foldable() const override { return false; }
  Operand eval(const Frame& frame) const override {
    std::string* out = output<std::string>(frame, 1);
    out[0].assign(frame.info->symbol);
    return {out, true};
  }
};

class StateReadNode final : public Node {
 public:
  StateReadNode(Type type, size_t id) : Node(type), id_(id) {}
  bool foldable() const override { return false; }
  bool reads_state() const override { return true; }
  void init_state(NodeState& state) const override {
    state.out = NodeValues(type());
    state.read = Column(type());
  }
  Operand eval(const Frame& frame) const override {
    if (!frame.info->state)
      throw RuntimeError("expression reads state but no state reader was given");
    NodeState& st = frame.state->nodes[slot];
    frame.info->state->read(id_, *frame.batch, frame.rows, st.read);
    if (type() == Type::String) {
      auto& out = st.out.of<std::string>();
      copy_strings(st.read.strings(), st.read.size(), out);
      return {out.data(), false};
    }
    return {numeric_data(st.read), false};
  }

 private:
  size_t id_;
};

// ------------------------------------------------------------ lag and lead

// X[-k]: row i reads X at row i-k; the first k rows read the history the previous
// batches left (the type's default at the start of the run).
class LagNode final : public Node {
 public:
  LagNode(Type type, size_t ticks) : Node(type), ticks_(ticks) {}
  bool foldable() const override { return false; }
  size_t lag() const override { return ticks_; }
  void init_state(NodeState& state) const override {
    state.out = NodeValues(type());
    state.history = NodeValues(type());
    state.history.resize(ticks_);
  }
  Operand eval(const Frame& frame) const override {
    Operand in = children[0]->eval(frame);
    return with_value_type(type(), [&]<class T>() { return shift<T>(frame, in); });
  }

 private:
  template <class T>
  Operand shift(const Frame& frame, const Operand& in) const {
    const size_t k = ticks_;
    const size_t n = frame.rows;
    const T* x = in.as<T>();
    auto value_at = [&](size_t row) -> const T& { return x[in.scalar ? 0 : row]; };
    auto& history = frame.state->nodes[slot].history.of<T>();
    T* out = output<T>(frame, n);
    // Position p of the virtual sequence history ++ x is history[p] for p < k, else x[p - k].
    for (size_t i = 0; i < n; ++i) out[i] = i < k ? history[i] : value_at(i - k);
    const size_t c = std::min(frame.commit_rows, n);
    if (c >= k) {
      for (size_t j = 0; j < k; ++j) history[j] = value_at(c - k + j);
    } else {
      std::move(history.begin() + static_cast<ptrdiff_t>(c), history.end(), history.begin());
      for (size_t j = 0; j < c; ++j) history[k - c + j] = value_at(j);
    }
    return {out, false};
  }

  size_t ticks_;
};

// X[+k]: row i reads X at row i+k of the frame (committed rows plus lookahead); past
// the rows given, the type's default.
class LeadNode final : public Node {
 public:
  LeadNode(Type type, size_t ticks) : Node(type), ticks_(ticks) {}
  bool foldable() const override { return false; }
  size_t lead() const override { return ticks_; }
  Operand eval(const Frame& frame) const override {
    Operand in = children[0]->eval(frame);
    return with_value_type(type(), [&]<class T>() -> Operand {
      const size_t n = frame.rows;
      const T* x = in.as<T>();
      T* out = output<T>(frame, n);
      const T fallback =
          std::get<std::conditional_t<std::is_same_v<T, uint8_t>, bool, T>>(default_value(type()));
      for (size_t i = 0; i < n; ++i) {
        out[i] = i + ticks_ < n ? x[in.scalar ? 0 : i + ticks_] : fallback;
      }
      return {out, false};
    });
  }

 private:
  size_t ticks_;
};

// ------------------------------------------------------------ conditionals

bool subtree_may_raise(const Node& node) {
  if (node.may_raise()) return true;
  for (const auto& child : node.children) {
    if (subtree_may_raise(*child)) return true;
  }
  return false;
}

// Fills mask[i] = active(i) && (cond[i] == want): the rows a branch is taken for.
const uint8_t* branch_mask(const Frame& frame, std::vector<uint8_t>& mask, const Operand& cond,
                           bool want) {
  mask.resize(frame.rows);
  const uint8_t* c = cond.as<uint8_t>();
  for (size_t i = 0; i < frame.rows; ++i) {
    bool taken = (c[cond.scalar ? 0 : i] != 0) == want;
    mask[i] = taken && (!frame.active || frame.active[i]);
  }
  return mask.data();
}

// `and`/`or` evaluate both sides for every row (a lag on the right must see every
// tick), but errors on the right count only where the left side did not decide.
class LogicNode final : public Node {
 public:
  LogicNode(bool is_and, bool guard_right)
      : Node(Type::Bool), is_and_(is_and), guard_right_(guard_right) {}
  Operand eval(const Frame& frame) const override { return eval_left_first(frame); }
  bool chains_left() const override { return true; }
  Operand eval_after_left(const Frame& frame, Operand left) const override {
    Frame right_frame = frame;
    if (guard_right_)
      right_frame.active = branch_mask(frame, frame.state->nodes[slot].mask, left, is_and_);
    Operand right = children[1]->eval(right_frame);
    const uint8_t* l = left.as<uint8_t>();
    const uint8_t* r = right.as<uint8_t>();
    const bool scalar = left.scalar && right.scalar;
    const size_t n = scalar ? 1 : frame.rows;
    uint8_t* out = output<uint8_t>(frame, n);
    if (!left.scalar && !right.scalar) {
      for (size_t i = 0; i < n; ++i) out[i] = is_and_ ? (l[i] & r[i]) : (l[i] | r[i]);
      return {out, false};
    }
    for (size_t i = 0; i < n; ++i) {
      const bool a = l[left.scalar ? 0 : i] != 0;
      const bool b = r[right.scalar ? 0 : i] != 0;
      out[i] = is_and_ ? (a && b) : (a || b);
    }
    return {out, scalar};
  }

 private:
  bool is_and_;
  bool guard_right_;  // only worth the mask when the right side can raise
};

class IfNode final : public Node {
 public:
  IfNode(Type type, bool guard_branches) : Node(type), guard_branches_(guard_branches) {}
  void init_state(NodeState& state) const override {
    state.out = NodeValues(type());
    state.history = NodeValues(Type::Bool);  // the else-branch mask
  }
  Operand eval(const Frame& frame) const override {
    Operand cond = children[0]->eval(frame);
    NodeState& st = frame.state->nodes[slot];
    Frame then_frame = frame;
    Frame else_frame = frame;
    if (guard_branches_) {
      then_frame.active = branch_mask(frame, st.mask, cond, true);
      else_frame.active = branch_mask(frame, st.history.of<uint8_t>(), cond, false);
    }
    Operand a = children[1]->eval(then_frame);
    Operand b = children[2]->eval(else_frame);
    return with_value_type(type(), [&]<class T>() -> Operand {
      const uint8_t* c = cond.as<uint8_t>();
      const T* x = a.as<T>();
      const T* y = b.as<T>();
      const bool scalar = cond.scalar && a.scalar && b.scalar;
      const size_t n = scalar ? 1 : frame.rows;
      T* out = output<T>(frame, n);
      if (!cond.scalar && !a.scalar && !b.scalar) {
        for (size_t i = 0; i < n; ++i) out[i] = c[i] ? x[i] : y[i];
        return {out, false};
      }
      for (size_t i = 0; i < n; ++i) {
        out[i] = c[cond.scalar ? 0 : i] ? x[a.scalar ? 0 : i] : y[b.scalar ? 0 : i];
      }
      return {out, scalar};
    });
  }

 private:
  bool guard_branches_;  // only worth the masks when a branch can raise
};

template <class T>
class InNode final : public Node {
 public:
  explicit InNode(bool negate) : Node(Type::Bool), negate_(negate) {}
  Operand eval(const Frame& frame) const override {
    std::vector<Operand> ops;
    ops.reserve(children.size());
    bool scalar = true;
    for (const auto& child : children) {
      ops.push_back(child->eval(frame));
      scalar &= ops.back().scalar;
    }
    const size_t n = scalar ? 1 : frame.rows;
    uint8_t* out = output<uint8_t>(frame, n);
    const T* x = ops[0].as<T>();
    std::fill(out, out + n, uint8_t{0});
    for (size_t k = 1; k < ops.size(); ++k) {
      const T* y = ops[k].as<T>();
      const bool ys = ops[k].scalar;
      for (size_t i = 0; i < n; ++i) out[i] |= x[ops[0].scalar ? 0 : i] == y[ys ? 0 : i];
    }
    if (negate_) {
      for (size_t i = 0; i < n; ++i) out[i] = !out[i];
    }
    return {out, scalar};
  }

 private:
  bool negate_;
};

template <class T>
class MinMaxNode final : public Node {
 public:
  MinMaxNode(Type type, bool is_max) : Node(type), is_max_(is_max) {}
  Operand eval(const Frame& frame) const override {
    std::vector<Operand> ops;
    bool scalar = true;
    for (const auto& child : children) {
      ops.push_back(child->eval(frame));
      scalar &= ops.back().scalar;
    }
    const size_t n = scalar ? 1 : frame.rows;
    T* out = output<T>(frame, n);
    const T* first = ops[0].as<T>();
    for (size_t i = 0; i < n; ++i) out[i] = first[ops[0].scalar ? 0 : i];
    for (size_t k = 1; k < ops.size(); ++k) {
      const T* y = ops[k].as<T>();
      const bool ys = ops[k].scalar;
      for (size_t i = 0; i < n; ++i) out[i] = pick(out[i], y[ys ? 0 : i]);
    }
    return {out, scalar};
  }

 private:
  T pick(const T& a, const T& b) const {
    if constexpr (std::is_same_v<T, double>) {
      if (std::isnan(a) || std::isnan(b)) return std::nan("");
    }
    return is_max_ ? (b > a ? b : a) : (b < a ? b : a);
  }
  bool is_max_;
};

}  // namespace

NodePtr make_field(Type type, size_t column_index) {
  return std::make_unique<FieldNode>(type, column_index);
}
NodePtr make_timestamp() {
  return std::make_unique<TimestampNode>();
}
NodePtr make_run_symbol() {
  return std::make_unique<RunSymbolNode>();
}
NodePtr make_state_read(Type type, size_t id) {
  return std::make_unique<StateReadNode>(type, id);
}

NodePtr make_lag(NodePtr operand, size_t ticks) {
  auto node = std::make_unique<LagNode>(operand->type(), ticks);
  node->children.push_back(std::move(operand));
  return node;
}

NodePtr make_lead(NodePtr operand, size_t ticks) {
  auto node = std::make_unique<LeadNode>(operand->type(), ticks);
  node->children.push_back(std::move(operand));
  return node;
}

NodePtr make_and(NodePtr left, NodePtr right) {
  auto node = std::make_unique<LogicNode>(true, subtree_may_raise(*right));
  node->children.push_back(std::move(left));
  node->children.push_back(std::move(right));
  return node;
}

NodePtr make_or(NodePtr left, NodePtr right) {
  auto node = std::make_unique<LogicNode>(false, subtree_may_raise(*right));
  node->children.push_back(std::move(left));
  node->children.push_back(std::move(right));
  return node;
}

NodePtr make_if(NodePtr cond, NodePtr a, NodePtr b) {
  const bool guard = subtree_may_raise(*a) || subtree_may_raise(*b);
  auto node = std::make_unique<IfNode>(a->type(), guard);
  node->children.push_back(std::move(cond));
  node->children.push_back(std::move(a));
  node->children.push_back(std::move(b));
  return node;
}

NodePtr make_in(std::vector<NodePtr> values, bool negate) {
  NodePtr node = with_value_type(
      values[0]->type(), [&]<class T>() -> NodePtr { return std::make_unique<InNode<T>>(negate); });
  node->children = std::move(values);
  return node;
}

NodePtr make_min_max(std::vector<NodePtr> args, bool is_max) {
  const Type type = args[0]->type();
  NodePtr node = with_value_type(
      type, [&]<class T>() -> NodePtr { return std::make_unique<MinMaxNode<T>>(type, is_max); });
  node->children = std::move(args);
  return node;
}

NodePtr promote_to_double(NodePtr node) {
  if (node->type() != Type::Int) return node;
  // Constants stay constants, so that the node built on top of them folds too.
  if (node->is_constant()) {
    const int64_t v = std::get<int64_t>(static_cast<const ConstantNode&>(*node).value().value);
    return make_constant({Type::Double, static_cast<double>(v)});
  }
  return map1<double, int64_t>(Type::Double, std::move(node),
                               [](int64_t v) { return static_cast<double>(v); });
}

}  // namespace tickflow::expr
