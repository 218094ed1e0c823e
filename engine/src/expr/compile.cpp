// The type checker and the public compile/evaluate API: walks the syntax tree, resolves
// names, applies the typing rules of operators.cpp and functions.cpp, folds
// constant subtrees, and reports located errors with caret snippets.
#include <algorithm>

#include "core/time_zone.hpp"
#include "expr/check.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/expr.hpp"
#include "tickflow/util.hpp"

namespace tickflow {

class CompiledExprImpl {
 public:
  std::string text;
  expr::NodePtr root;
  size_t node_count = 0;
  size_t max_lag = 0;
  size_t max_lead = 0;
  bool uses_state = false;
  std::vector<size_t> fields_read;  // ascending, each once
};

namespace expr {
namespace {

// Maps offsets in the expression text to file locations and caret snippets.
class SourceMap {
 public:
  SourceMap(std::string_view text, Location where, bool quoted)
      : text_(text), where_(std::move(where)), quoted_(quoted) {
    for (size_t i = 0; i < text_.size(); ++i) {
      if (text_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  // Every node gets a location: a binary search, so that long expressions compile in
  // linear-logarithmic rather than quadratic time.
  Diagnostic diagnostic(size_t offset, size_t length, std::string message) const {
    offset = std::min(offset, text_.size());
    const size_t line_index =
        static_cast<size_t>(std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) -
                            line_starts_.begin() - 1);
    const size_t line_start = line_starts_[line_index];
    size_t line_end = text_.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text_.size();
    const size_t column_in_line = offset - line_start;

    Diagnostic d;
    d.location = where_;
    if (where_.known()) {
      d.location.line = where_.line + static_cast<int>(line_index);
      d.location.column = where_.column + static_cast<int>(column_in_line) + (quoted_ ? 1 : 0);
    }
    d.message = std::move(message);
    length = std::max<size_t>(1, std::min(length, line_end > offset ? line_end - offset : 1));
    d.snippet.push_back("  " + std::string(text_.substr(line_start, line_end - line_start)));
    d.snippet.push_back("  " + std::string(column_in_line, ' ') + "^" +
                        std::string(length - 1, '~'));
    return d;
  }

  std::string location_text(size_t offset) const {
    return diagnostic(offset, 1, "").location.to_string();
  }
  std::string_view slice(size_t offset, size_t length) const {
    return text_.substr(offset, length);
  }

 private:
  std::string_view text_;
  Location where_;
  bool quoted_;
  std::vector<size_t> line_starts_{0};
};

// Evaluates a subtree with constant children once, at compile time.
TypedValue evaluate_constant(Node& node) {
  size_t count = 0;
  std::vector<Node*> stack{&node};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    n->slot = count++;
    for (auto& c : n->children) stack.push_back(c.get());
  }
  StateImpl state(&node, count);
  Batch batch;
  batch.times.push_back(0);
  EvalInfo info;
  Frame frame{&batch, 1, 1, nullptr, &state, &info};
  Operand result = node.eval(frame);
  Column column(node.type());
  with_value_type(node.type(), [&]<class T>() { column.values<T>().push_back(result.as<T>()[0]); });
  return {node.type(), column.value(0)};
}

class Checker final : public TypeErrors {
 public:
  Checker(const SourceMap& source, const ExprContext& context, std::vector<Diagnostic>& errors)
      : source_(source),
        context_(context),
        errors_(errors),
        zone_(is_utc_zone_name(context.time_zone) ? nullptr : find_time_zone(context.time_zone)) {}

  void error(size_t offset, size_t length, std::string message) override {
    errors_.push_back(source_.diagnostic(offset, length, std::move(message)));
    ++error_count_;
  }
  std::string_view spelling(const Ast& ast) const override {
    return source_.slice(ast.offset, ast.length);
  }
  size_t error_count() const { return error_count_; }
  // The fields named so far, ascending, each once.
  std::vector<size_t> fields_read() const {
    std::vector<size_t> fields = fields_read_;
    std::sort(fields.begin(), fields.end());
    fields.erase(std::unique(fields.begin(), fields.end()), fields.end());
    return fields;
  }

  NodePtr check(const Ast& ast) {
    NodePtr node = build(ast);
    if (!node) return nullptr;
    if (node->origin.empty()) node->origin = source_.location_text(ast.offset);
    return fold(std::move(node), ast);
  }

 private:
  NodePtr build(const Ast& ast) {
    switch (ast.kind) {
      case AstKind::IntLiteral:
        return make_constant({Type::Int, ast.int_value});
      case AstKind::DoubleLiteral:
        return make_constant({Type::Double, ast.double_value});
      case AstKind::StringLiteral:
        return make_constant({Type::String, ast.text});
      case AstKind::BoolLiteral:
        return make_constant({Type::Bool, ast.int_value != 0});
      case AstKind::DurationLiteral:
        return make_constant({Type::Duration, ast.int_value});
      case AstKind::Name:
        return name(ast);
      case AstKind::Param:
        return param(ast);
      case AstKind::State:
        return state(ast);
      case AstKind::StateMethod:
        return state_method(ast);
      case AstKind::Unary: {
        NodePtr operand = check(*ast.children[0]);
        return operand ? build_unary(ast, std::move(operand), *this) : nullptr;
      }
      case AstKind::Binary:
        return binary(ast);
      case AstKind::In: {
        std::vector<NodePtr> values;
        bool ok = true;
        for (const auto& child : ast.children) {
          values.push_back(check(*child));
          ok &= values.back() != nullptr;
        }
        return ok ? build_in(ast, std::move(values), *this) : nullptr;
      }
      case AstKind::Call:
        return call(ast);
      case AstKind::Shift: {
        if (ast.int_value > 0 && !context_.no_leads.empty()) {
          error_at(ast, context_.no_leads);
          return nullptr;
        }
        NodePtr operand = check(*ast.children[0]);
        if (!operand || ast.int_value == 0) return operand;
        const size_t ticks =
            static_cast<size_t>(ast.int_value < 0 ? -ast.int_value : ast.int_value);
        return ast.int_value < 0 ? make_lag(std::move(operand), ticks)
                                 : make_lead(std::move(operand), ticks);
      }
    }
    return nullptr;
  }

  // A left-deep chain (a + b - c ...) is checked in a loop from its innermost operand up,
  // so that its length costs no stack.
  NodePtr binary(const Ast& top) {
    std::vector<const Ast*> chain{&top};
    while (chain.back()->children[0]->kind == AstKind::Binary)
      chain.push_back(chain.back()->children[0].get());
    NodePtr left = check(*chain.back()->children[0]);
    bool ok = left != nullptr;
    for (size_t i = chain.size(); i-- > 0;) {
      const Ast& ast = *chain[i];
      // The right side of and/or only matters where the left side did not decide.
      const bool guarded = ast.text == "and" || ast.text == "or";
      conditional_depth_ += guarded;
      NodePtr right = check(*ast.children[1]);
      conditional_depth_ -= guarded;
      ok &= right != nullptr;
      if (!ok) continue;
      left = build_binary(ast, std::move(left), std::move(right), *this);
      if (!left) {
        ok = false;
        continue;
      }
      if (i == 0) break;  // check() finishes the top node
      if (left->origin.empty()) left->origin = source_.location_text(ast.offset);
      left = fold(std::move(left), ast);
      ok = left != nullptr;
    }
    return ok ? std::move(left) : nullptr;
  }

  NodePtr call(const Ast& ast) {
    const bool known = is_function(ast.text);
    if (!known) {
      std::string hint = did_you_mean(ast.text, function_names());
      if (context_.schema && context_.schema->contains(ast.text))
        hint = " ('" + ast.text + "' is a field)";
      error_at(ast, "unknown function '" + ast.text + "'" + hint);
    }
    std::vector<NodePtr> args;
    bool ok = known;
    for (size_t i = 0; i < ast.children.size(); ++i) {
      const bool guarded = ast.text == "if" && i > 0;
      conditional_depth_ += guarded;
      args.push_back(check(*ast.children[i]));
      conditional_depth_ -= guarded;
      ok &= args.back() != nullptr;
    }
    return ok ? build_call(ast, std::move(args), *this, zone_) : nullptr;
  }

  NodePtr name(const Ast& ast) {
    if (ast.text == "TIMESTAMP") return make_timestamp();
    if (context_.schema) {
      if (auto index = context_.schema->index_of(ast.text)) {
        fields_read_.push_back(*index);
        return make_field((*context_.schema)[*index].type, *index);
      }
    }
    if (ast.text == "SYMBOL") return make_run_symbol();
    std::vector<std::string> candidates =
        context_.schema ? context_.schema->names() : std::vector<std::string>{};
    candidates.push_back("TIMESTAMP");
    candidates.push_back("SYMBOL");
    std::string hint = did_you_mean(ast.text, candidates);
    if (hint.empty() && is_function(ast.text))
      hint = " ('" + ast.text + "' is a function: write " + ast.text + "(...))";
    if (hint.empty() && (ast.text == "True" || ast.text == "TRUE"))
      hint = " (did you mean 'true'?)";
    if (hint.empty() && (ast.text == "False" || ast.text == "FALSE"))
      hint = " (did you mean 'false'?)";
    if (hint.empty() && (ast.text == "NaN" || ast.text == "NAN")) hint = " (did you mean 'nan'?)";
    error_at(ast, "unknown field '" + ast.text + "'" + hint);
    return nullptr;
  }

  NodePtr param(const Ast& ast) {
    std::optional<TypedValue> value;
    if (context_.param) value = context_.param(ast.text);
    if (value) return make_constant(*value);
    std::vector<std::string> names;
    for (const auto& n : context_.param_names) names.push_back(n);
    std::string hint = did_you_mean(ast.text, names);
    if (!hint.empty()) hint = " (did you mean '$" + closest_name(ast.text, names) + "'?)";
    if (context_.param_names.empty()) hint = " (the query declares no params:)";
    error_at(ast, "unknown parameter '$" + ast.text + "'" + hint);
    return nullptr;
  }

  // Resolves state.NAME, reporting an unknown name.
  std::optional<StateRef> state_ref(const Ast& ast) {
    std::optional<StateRef> ref;
    if (context_.state) ref = context_.state(ast.text);
    if (ref) return ref;
    std::string hint = did_you_mean(ast.text, context_.state_names);
    if (context_.state_names.empty()) hint = " (the query declares no state:)";
    error_at(ast, "unknown state variable 'state." + ast.text + "'" + hint);
    return std::nullopt;
  }

  NodePtr state(const Ast& ast) {
    std::optional<StateRef> ref = state_ref(ast);
    if (!ref) return nullptr;
    const StateVariable* var = ref->variable;
    if (var && var->is_container()) {
      const std::string full = "state." + ast.text;
      error_at(ast, full + " is a " + std::string(state_kind_name(var->kind)) + "; use " + full +
                        (var->kind == StateKind::TickSet ? ".has(...), .value(...) or .size()"
                                                         : ".value(...) or .size()"));
      return nullptr;
    }
    return make_state_read(ref->type, ref->id);
  }

  // state.NAME.method(args): has, value and size of containers (SPEC §6).
  NodePtr state_method(const Ast& ast) {
    std::optional<StateRef> ref = state_ref(ast);
    return build_state_method(
        ast, ref ? &*ref : nullptr, [this](const Ast& arg) { return check(arg); }, *this);
  }

  // Replaces a foldable node whose children are all constant by its value. A failure
  // (1 % 0, time('junk')) is an error unless the node sits in a branch that may never
  // be taken (if, and/or), where it stays for run time to decide.
  NodePtr fold(NodePtr node, const Ast& ast) {
    if (node->is_constant() || !node->foldable()) return node;
    for (const auto& c : node->children) {
      if (!c->is_constant()) return node;
    }
    try {
      return make_constant(evaluate_constant(*node));
    } catch (const RuntimeError& e) {
      if (conditional_depth_ == 0) {
        std::string message = e.message();
        const size_t cut = message.rfind(", in the expression at ");
        if (cut != std::string::npos) message.resize(cut);
        error_at(ast, message);
        return nullptr;
      }
      return node;
    }
  }

  const SourceMap& source_;
  const ExprContext& context_;
  std::vector<Diagnostic>& errors_;
  const date::time_zone* zone_;  // nullptr: UTC
  size_t error_count_ = 0;
  int conditional_depth_ = 0;
  std::vector<size_t> fields_read_;
};

// Numbers the nodes, sums lags and leads along each path and links the left chains
// (see Node::left_chain); a loop, so that a chain of any length costs no stack.
void finish(CompiledExprImpl& impl) {
  struct Visit {
    Node* node;
    size_t lag, lead;
    bool chained;  // evaluated by the top of its left chain
  };
  std::vector<Visit> pending{{impl.root.get(), 0, 0, false}};
  while (!pending.empty()) {
    Visit v = pending.back();
    pending.pop_back();
    Node& node = *v.node;
    node.slot = impl.node_count++;
    v.lag += node.lag();
    v.lead += node.lead();
    impl.max_lag = std::max(impl.max_lag, v.lag);
    impl.max_lead = std::max(impl.max_lead, v.lead);
    impl.uses_state |= node.reads_state();
    if (node.chains_left() && !v.chained && node.children[0]->chains_left()) {
      for (Node* n = &node; n->chains_left(); n = n->children[0].get())
        node.left_chain.push_back(n);
    }
    for (size_t i = 0; i < node.children.size(); ++i) {
      const bool chained = i == 0 && node.chains_left() && node.children[0]->chains_left();
      pending.push_back({node.children[i].get(), v.lag, v.lead, chained});
    }
  }
}

}  // namespace
}  // namespace expr

// ------------------------------------------------------------ public API

CompiledExpr::CompiledExpr(std::unique_ptr<CompiledExprImpl> impl) : impl_(std::move(impl)) {}
CompiledExpr::~CompiledExpr() = default;

Type CompiledExpr::type() const {
  return impl_->root->type();
}
const std::string& CompiledExpr::text() const {
  return impl_->text;
}
bool CompiledExpr::is_constant() const {
  return impl_->root->is_constant();
}
std::optional<TypedValue> CompiledExpr::constant_value() const {
  if (!is_constant()) return std::nullopt;
  return static_cast<const expr::ConstantNode&>(*impl_->root).value();
}
size_t CompiledExpr::max_lag() const {
  return impl_->max_lag;
}
size_t CompiledExpr::max_lead() const {
  return impl_->max_lead;
}
bool CompiledExpr::uses_state() const {
  return impl_->uses_state;
}
const std::vector<size_t>& CompiledExpr::fields_read() const {
  return impl_->fields_read;
}

std::unique_ptr<ExprState> CompiledExpr::make_state() const {
  return std::make_unique<expr::StateImpl>(impl_->root.get(), impl_->node_count);
}

void CompiledExpr::evaluate(const Batch& batch, size_t rows, ExprState& state, Column& out,
                            const EvalInfo& info, const uint8_t* active) const {
  using namespace expr;
  auto& st = static_cast<StateImpl&>(state);
  rows = std::min(rows, batch.size());
  Frame frame{&batch, batch.size(), rows, active, &st, &info};
  const Node& root = *impl_->root;
  Operand result = root.eval(frame);
  if (out.type() != root.type()) out = Column(root.type());
  with_value_type(root.type(), [&]<class T>() {
    auto& dst = out.values<T>();
    auto& scratch = st.nodes[root.slot].out.of<T>();
    if constexpr (std::is_same_v<T, std::string>) {
      // Into the column's StringColumn, whichever node's values the result is.
      const T* src = result.as<T>();
      dst.clear();
      dst.reserve(rows);
      for (size_t i = 0; i < rows; ++i) dst.push_back(src[result.scalar ? 0 : i]);
    } else if (result.scalar) {
      dst.assign(rows, result.as<T>()[0]);
    } else if (result.data == scratch.data()) {
      // The root's own column: hand it over instead of copying.
      dst.swap(scratch);
      dst.resize(rows);
    } else {
      const T* src = result.as<T>();
      dst.assign(src, src + rows);
    }
  });
}

namespace expr {
namespace {

// Type-checks and compiles one parsed (sub)expression that ends at offset `end` of the text
// `source` maps; `text` becomes the compiled expression's text().
CompiledExprPtr compile_tree(const Ast& ast, size_t end, std::string_view text,
                             const SourceMap& source, const ExprContext& context,
                             std::vector<Diagnostic>& errors) {
  Checker checker(source, context, errors);
  NodePtr root = checker.check(ast);
  if (!root || checker.error_count() > 0) return nullptr;
  if (context.required_type && root->type() != *context.required_type) {
    if (*context.required_type == Type::Double && root->type() == Type::Int) {
      root = promote_to_double(std::move(root));
    } else {
      checker.error(ast.start, end - ast.start,
                    context.what + " must be " + std::string(type_name(*context.required_type)) +
                        ", found " + std::string(type_name(root->type())));
      return nullptr;
    }
  }
  auto impl = std::make_unique<CompiledExprImpl>();
  impl->text = std::string(text);
  impl->root = std::move(root);
  impl->fields_read = checker.fields_read();
  finish(*impl);
  return std::make_shared<const CompiledExpr>(std::move(impl));
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace
}  // namespace expr

CompiledExprPtr compile_expr(std::string_view text, const Location& where, bool quoted,
                             const ExprContext& context, std::vector<Diagnostic>& errors) {
  using namespace expr;
  SourceMap source(text, where, quoted);
  SyntaxError syntax;
  AstPtr ast = parse_expression(text, syntax);
  if (!ast) {
    errors.push_back(source.diagnostic(syntax.offset, syntax.length, syntax.message));
    return nullptr;
  }
  return compile_tree(*ast, text.size(), text, source, context, errors);
}

std::optional<ExprCall> compile_call(const ConfigNode& node, const ExprContext& context,
                                     std::string_view shape, std::vector<Diagnostic>& errors) {
  using namespace expr;
  if (!node.is_scalar() || node.is_null()) {
    // compile_expr's message for a value that is not a scalar (e.g. an unquoted {...}).
    compile_expr(node, context, errors);
    return std::nullopt;
  }
  const std::string_view text = node.text();
  SourceMap source(text, node.location(), node.quoted());
  SyntaxError syntax;
  AstPtr ast = parse_expression(text, syntax);
  if (!ast) {
    errors.push_back(source.diagnostic(syntax.offset, syntax.length, syntax.message));
    return std::nullopt;
  }
  if (ast->kind != AstKind::Call) {
    if (ast->kind == AstKind::Name) {
      errors.push_back(
          source.diagnostic(ast->offset + ast->length, 1,
                            "expected '(' after '" + ast->text + "': write " + std::string(shape)));
    } else if (ast->kind == AstKind::Binary || ast->kind == AstKind::In ||
               ast->kind == AstKind::Shift) {
      // sum(X) + 1: point at the operator that makes it an expression.
      errors.push_back(
          source.diagnostic(ast->offset, ast->length,
                            "expected " + std::string(shape) + ", found an expression with '" +
                                std::string(source.slice(ast->offset, ast->length)) + "'"));
    } else {
      errors.push_back(source.diagnostic(ast->start, 1, "expected " + std::string(shape)));
    }
    return std::nullopt;
  }
  ExprCall call;
  call.name = ast->text;
  call.name_location = source.diagnostic(ast->offset, ast->length, "").location;
  // An argument runs from its start to the next one's (less the comma), the last one to
  // the call's closing parenthesis.
  size_t close = text.size();
  while (close > 0 && is_space(text[close - 1])) --close;
  if (close > 0) --close;  // the ')'
  bool ok = true;
  for (size_t a = 0; a < ast->children.size(); ++a) {
    const Ast& arg = *ast->children[a];
    size_t end = a + 1 < ast->children.size() ? ast->children[a + 1]->start : close;
    if (a + 1 < ast->children.size()) end = text.rfind(',', end - 1);
    while (end > arg.start && is_space(text[end - 1])) --end;
    ExprCall::Argument argument;
    argument.text = std::string(text.substr(arg.start, end - arg.start));
    argument.location = source.diagnostic(arg.start, 1, "").location;
    argument.expr = compile_tree(arg, end, argument.text, source, context, errors);
    if (arg.kind == AstKind::Name && context.schema) {
      argument.field = context.schema->index_of(arg.text);
    }
    ok &= argument.expr != nullptr;
    call.args.push_back(std::move(argument));
  }
  if (!ok) return std::nullopt;
  return call;
}

CompiledExprPtr compile_expr(const ConfigNode& node, const ExprContext& context,
                             std::vector<Diagnostic>& errors) {
  if (node.is_scalar())
    return compile_expr(node.text(), node.location(), node.quoted(), context, errors);
  Diagnostic d;
  d.location = node.location();
  if (node.is_null()) {
    d.message = "expected an expression, found nothing";
  } else {
    d.message =
        "expected an expression, found a YAML " + std::string(node.kind_name()) +
        " (an expression starting with '[', '{', '-', '*', '&' or '!', or holding ': ' or ' #', "
        "must be quoted, e.g. \"-X\")";
  }
  errors.push_back(std::move(d));
  return nullptr;
}

}  // namespace tickflow
