// `join`: the relational join of a left and a right stream. The right input is held whole
// (its end is needed before any left tick can know all of its matches); left ticks wait
// until the right input has ended and then stream through, each followed by its matches
// in right arrival order, at the left tick's time.
//
// `keys: [ID]` is a hash join on same-named fields. `on: expr` compares every left tick
// with every right tick (O(left x right)); the expression reads left fields as L.F and
// right fields as R.F, which are renamed to L_F and R_F (same length, so error carets
// stay put) and compiled against a combined schema of both sides.
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "builtin.hpp"
#include "combine/join_common.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/expr.hpp"
#include "tickflow/group_keys.hpp"
#include "tickflow/rows.hpp"

namespace tickflow::eps {
namespace {

constexpr size_t kLeft = 0, kRight = 1;

struct Options {
  bool left_outer = false;
  JoinLayout layout;
  // `on:` only: the compiled condition, its combined schema, and which left columns it reads.
  CompiledExprPtr on;
  SchemaPtr combined;
  std::vector<uint8_t> left_used;
};

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Rewrites L.F and R.F outside string literals to L_F and R_F.
std::string rename_sides(const std::string& text) {
  std::string out = text;
  char quote = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    if (quote) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      continue;
    }
    const bool starts_name =
        i == 0 || (!is_name_char(out[i - 1]) && out[i - 1] != '.' && out[i - 1] != '$');
    if ((c == 'L' || c == 'R') && starts_name && i + 2 < out.size() && out[i + 1] == '.' &&
        (std::isalpha(static_cast<unsigned char>(out[i + 2])) || out[i + 2] == '_')) {
      out[i + 1] = '_';
    }
  }
  return out;
}

// Turns the compiler's L_F / R_F back into the L.F / R.F the user wrote.
std::string restore_sides(std::string message) {
  for (const char* side : {"'L_", "'R_"}) {
    for (size_t at = message.find(side); at != std::string::npos; at = message.find(side, at + 1)) {
      message[at + 2] = '.';
    }
  }
  return message;
}

bool mentions(const std::string& text, const std::string& name) {
  for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
    const bool before = at == 0 || !is_name_char(text[at - 1]);
    const bool after = at + name.size() == text.size() || !is_name_char(text[at + name.size()]);
    if (before && after) return true;
  }
  return false;
}

class JoinOperator : public Operator {
 public:
  JoinOperator(SchemaPtr right_schema, std::shared_ptr<const Options> options,
               const RunContext& run)
      : options_(std::move(options)),
        right_(std::move(right_schema)),
        symbol_(run.symbol),
        state_reader_(run.state),
        batch_size_(std::max<size_t>(1, run.batch_size)) {
    if (options_->on) state_ = options_->on->make_state();
  }

  void process(size_t input, Batch&& batch, OutputSink& out) override {
    if (batch.empty()) return;
    held_bytes_ += static_cast<int64_t>(batch.bytes());
    if (input == kRight) {
      append_batch_moving(right_, std::move(batch));
    } else if (!right_done_) {
      left_ticks_ += static_cast<int64_t>(batch.size());
      waiting_left_.push_back(std::move(batch));
    } else {
      held_bytes_ -= static_cast<int64_t>(batch.bytes());
      join_left(batch, out);
    }
  }

  void input_finished(size_t input, OutputSink& out) override {
    if (input != kRight) return;
    right_done_ = true;
    prepare_right();
    while (!waiting_left_.empty()) {
      Batch batch = std::move(waiting_left_.front());
      waiting_left_.pop_front();
      left_ticks_ -= static_cast<int64_t>(batch.size());
      held_bytes_ -= static_cast<int64_t>(batch.bytes());
      join_left(batch, out);
    }
  }

  Held held() const override {
    return {static_cast<int64_t>(right_.size()) + left_ticks_, held_bytes_};
  }

  // Until the right input ends nothing can be emitted, so only the right input is needed.
  bool needs_input(size_t input) const override {
    return input == kRight ? !right_done_ : right_done_;
  }

 private:
  void prepare_right() {
    const auto& keys = options_->layout.key_columns[kRight];
    if (!options_->on) {
      for (size_t row = 0; row < right_.size(); ++row) {
        encode_key(right_, keys, row, scratch_);
        matches_[scratch_].push_back(static_cast<RowIndex>(row));
      }
      return;
    }
    // The combined batch: left columns (filled per left tick), right columns, then
    // L_TIMESTAMP and R_TIMESTAMP.
    const Schema& combined = *options_->combined;
    const size_t left_count = options_->left_used.size();
    combined_ = Batch(options_->combined);
    combined_.times.assign(right_.size(), 0);
    for (size_t c = 0; c < combined.size(); ++c) combined_.columns[c].resize(right_.size());
    for (size_t c = 0; c < right_.columns.size(); ++c)
      combined_.columns[left_count + c] = right_.columns[c];
    combined_.columns[combined.size() - 1].ints() = right_.times;
  }

  // Fills rows of the combined batch with left tick `row` and returns the matching right rows.
  void match_on(const Batch& left, size_t row, std::vector<RowIndex>& found) {
    const size_t left_count = options_->left_used.size();
    for (size_t c = 0; c < left_count; ++c) {
      if (!options_->left_used[c]) continue;
      Column& target = combined_.columns[c];
      const Column& source = left.columns[c];
      with_value_type(target.type(), [&]<class T>() {
        auto& values = target.values<T>();
        if constexpr (std::is_same_v<T, std::string>) {
          const size_t n = values.size();
          values.clear();
          values.append_repeated(source.strings()[row], n);
        } else {
          std::fill(values.begin(), values.end(), source.values<T>()[row]);
        }
      });
    }
    std::fill(combined_.times.begin(), combined_.times.end(), left.times[row]);
    auto& left_time = combined_.columns[options_->combined->size() - 2].ints();
    std::fill(left_time.begin(), left_time.end(), left.times[row]);
    options_->on->evaluate(combined_, *state_, result_, {symbol_, state_reader_});
    const auto& pass = result_.bools();
    for (size_t r = 0; r < pass.size(); ++r) {
      if (pass[r]) found.push_back(static_cast<RowIndex>(r));
    }
  }

  void join_left(const Batch& left, OutputSink& out) {
    constexpr int64_t kNoMatch = -1;
    std::vector<RowIndex> left_rows;
    std::vector<int64_t> right_rows;
    std::vector<RowIndex> found;
    const auto& keys = options_->layout.key_columns[kLeft];
    for (size_t row = 0; row < left.size(); ++row) {
      found.clear();
      if (options_->on) {
        if (!right_.empty()) match_on(left, row, found);
      } else {
        encode_key(left, keys, row, scratch_);
        if (auto it = matches_.find(scratch_); it != matches_.end()) found = it->second;
      }
      for (RowIndex r : found) {
        left_rows.push_back(static_cast<RowIndex>(row));
        right_rows.push_back(r);
      }
      if (found.empty() && options_->left_outer) {
        left_rows.push_back(static_cast<RowIndex>(row));
        right_rows.push_back(kNoMatch);
      }
      if (left_rows.size() >= batch_size_) emit(left, left_rows, right_rows, out);
    }
    emit(left, left_rows, right_rows, out);
  }

  void emit(const Batch& left, std::vector<RowIndex>& left_rows, std::vector<int64_t>& right_rows,
            OutputSink& out) {
    if (left_rows.empty()) return;
    Batch batch(options_->layout.schema);
    const size_t n = left_rows.size();
    batch.times.resize(n);
    for (size_t i = 0; i < n; ++i) batch.times[i] = left.times[left_rows[i]];
    size_t column = 0;
    for (size_t c : options_->layout.output_columns[kLeft]) {
      Column& target = batch.columns[column++];
      target.reserve(n);
      for (RowIndex r : left_rows) target.append_from(left.columns[c], r);
    }
    for (size_t c : options_->layout.output_columns[kRight]) {
      Column& target = batch.columns[column++];
      target.reserve(n);
      for (int64_t r : right_rows) {
        if (r < 0) {
          target.append_default();
        } else {
          target.append_from(right_.columns[c], static_cast<size_t>(r));
        }
      }
    }
    out.emit(0, std::move(batch));
    left_rows.clear();
    right_rows.clear();
  }

  std::shared_ptr<const Options> options_;
  Batch right_;
  std::string symbol_;
  const StateReader* state_reader_ = nullptr;
  size_t batch_size_;
  bool right_done_ = false;
  std::deque<Batch> waiting_left_;
  int64_t left_ticks_ = 0;
  int64_t held_bytes_ = 0;
  std::unordered_map<std::string, std::vector<RowIndex>> matches_;
  std::string scratch_;
  std::unique_ptr<ExprState> state_;
  Batch combined_;
  Column result_{Type::Bool};
};

// Compiles `on:` against the combined schema; false after reporting errors.
bool compile_on(BindContext& ctx, Options& options) {
  const ConfigNode& on = *ctx.param("on");
  if (!on.is_scalar()) {
    ctx.error(on.location(),
              "on: must be an expression such as \"L.ID == R.ID\"; put it in quotes");
    return false;
  }
  std::vector<Field> fields;
  const Schema& left = *ctx.input(kLeft).schema;
  const Schema& right = *ctx.input(kRight).schema;
  const std::string text = rename_sides(on.text());
  for (const Field& f : left.fields()) {
    fields.push_back({"L_" + f.name, f.type});
    options.left_used.push_back(mentions(text, "L_" + f.name));
  }
  for (const Field& f : right.fields()) fields.push_back({"R_" + f.name, f.type});
  fields.push_back({"L_TIMESTAMP", Type::Time});
  fields.push_back({"R_TIMESTAMP", Type::Time});
  options.combined = make_schema(std::move(fields));
  ExprContext cx = make_expr_context(ctx, *options.combined);
  cx.required_type = Type::Bool;
  cx.what = "the join condition 'on'";
  std::vector<Diagnostic> errors;
  options.on = compile_expr(text, on.location(), on.quoted(), cx, errors);
  for (Diagnostic& d : errors) {
    d.message = restore_sides(std::move(d.message));
    // Snippets quote the renamed text; show the user's own line instead.
    for (std::string& line : d.snippet) {
      size_t from = 0;
      for (size_t at = 0; at <= text.size(); ++at) {
        if (at < text.size() && text[at] != '\n') continue;
        const std::string_view renamed(text.data() + from, at - from);
        if (line.size() >= renamed.size() && !renamed.empty() &&
            line.compare(line.size() - renamed.size(), renamed.size(), renamed) == 0) {
          line.replace(line.size() - renamed.size(), renamed.size(), on.text(), from, at - from);
          break;
        }
        from = at + 1;
      }
    }
  }
  report_expr_errors(ctx, errors);
  if (!options.on) return false;
  if (options.on->max_lag() > 0 || options.on->max_lead() > 0) {
    ctx.error(on.location(),
              "on: cannot use lags or leads such as X[-1]: it compares pairs of "
              "ticks, not a stream");
    return false;
  }
  return true;
}

OperatorFactory bind_join(BindContext& ctx) {
  auto options = std::make_shared<Options>();
  bool ok = true;
  const std::string how = ctx.get_string("how");
  if (how == "left_outer") {
    options->left_outer = true;
  } else if (how != "inner") {
    ctx.error(ctx.location("how"), "how must be 'inner' or 'left_outer', found '" + how + "'");
    ok = false;
  }
  const bool has_keys = ctx.has("keys"), has_on = ctx.has("on");
  if (has_keys == has_on) {
    ctx.error(has_on ? ctx.location("on") : ctx.node_location(),
              has_on
                  ? "give either keys: or on:, not both"
                  : "join needs keys: [FIELDS] (equal values) or on: \"L.F == R.F\" (a condition)");
    ok = false;
  }
  if (has_on && !has_keys) ok &= compile_on(ctx, *options);
  ok &= plan_join_output(ctx, {kLeft, kRight}, "keys", options->layout);
  if (!ok) return {};
  ctx.set_output(0, options->layout.schema, ctx.input(kLeft).time_ordered);
  ctx.set_accumulation(Accumulation::unbounded());
  SchemaPtr right_schema = ctx.input(kRight).schema;
  std::shared_ptr<const Options> shared = options;
  return [right_schema, shared](const RunContext& run) {
    return std::make_unique<JoinOperator>(right_schema, shared, run);
  };
}

// Shown by `tickflow eps join` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample join_example() {
  return {.query = R"~(# Each trade with its symbol's reference data (a hash join on SYMBOL).
tickflow: 1
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
  sectors:
    ep: ticks
    rows:
      - {SYMBOL: AAPL, SECTOR: tech, LOT: 100}
      - {SYMBOL: MSFT, SECTOR: software, LOT: 100}
  with_sector:
    ep: join
    in: [trades, sectors]
    keys: [SYMBOL]
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE,SIZE,SECTOR,LOT
2024-01-02 09:30:00.000000000,AAPL,185.25,100,tech,100
2024-01-02 09:30:20.000000000,MSFT,370.5,300,software,100
2024-01-02 09:30:40.000000000,AAPL,185.5,200,tech,100
)~"};
}

}  // namespace

void register_join(Registry& registry) {
  EpDefinition def;
  def.name = "join";
  def.example = join_example();
  def.doc =
      "Joins each left tick with the right ticks that match it: keys: [ID] matches equal values "
      "of same-named fields (hash join); on: \"L.PX > R.PX\" is any condition over left fields "
      "L.F and right fields R.F (L.TIMESTAMP, R.TIMESTAMP too; compares every pair, O(left x "
      "right)). Output at the left ticks' times, in left order, each left tick followed by its "
      "matches in right arrival order; how: inner (default) drops left ticks without a match, "
      "left_outer keeps them once with right fields at their defaults. Columns: left fields, then "
      "right fields (keys once); prefix (one prefix, or {input: P_}) renames right fields, and "
      "name clashes are load errors. Holds the whole right input, and the left ticks that arrive "
      "before the right input ends.";
  def.inputs = {"left", "right"};
  def.outputs = {"out"};
  def.params = {
      {.name = "keys",
       .type = ParamType::FieldList,
       .doc = "fields that must be equal on both sides"},
      {.name = "on",
       .type = ParamType::Any,
       .doc = "join condition over L.F and R.F (instead of keys)"},
      {.name = "how",
       .type = ParamType::String,
       .default_value = "inner",
       .doc = "inner or left_outer"},
      {.name = "prefix", .type = ParamType::Any, .doc = "prefix for right fields, or {input: P_}"},
  };
  def.accumulation = "unbounded (right input)";
  def.bind = bind_join;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
