// Binding of the `aggregate` EP: parses `aggs:` entries ("fn(args)", the arguments
// expressions) with the expression parser, the bucket and window specs, checks types and fields
// with located errors, and registers the EP.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "aggregate/aggregate.hpp"
#include "builtin.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps {
namespace {

using agg::AggSpec;
using agg::Fn;
using agg::Options;

// What the arguments of a function must be.
enum class Arg { Numeric, Ordered, AnyField, Fraction };

struct FunctionInfo {
  std::string_view name;
  Fn fn;
  std::vector<Arg> args;
};

const std::vector<FunctionInfo>& functions() {
  static const std::vector<FunctionInfo> table = {
      {"count", Fn::Count, {}},
      {"sum", Fn::Sum, {Arg::Numeric}},
      {"mean", Fn::Mean, {Arg::Numeric}},
      {"min", Fn::Min, {Arg::Ordered}},
      {"max", Fn::Max, {Arg::Ordered}},
      {"first", Fn::First, {Arg::AnyField}},
      {"last", Fn::Last, {Arg::AnyField}},
      {"var", Fn::Var, {Arg::Numeric}},
      {"std", Fn::Std, {Arg::Numeric}},
      {"var_pop", Fn::VarPop, {Arg::Numeric}},
      {"std_pop", Fn::StdPop, {Arg::Numeric}},
      {"vwap", Fn::Vwap, {Arg::Numeric, Arg::Numeric}},
      {"twap", Fn::Twap, {Arg::Numeric}},
      {"median", Fn::Median, {Arg::Numeric}},
      {"percentile", Fn::Percentile, {Arg::Numeric, Arg::Fraction}},
      {"distinct_count", Fn::DistinctCount, {Arg::AnyField}},
      {"first_time", Fn::FirstTime, {}},
      {"last_time", Fn::LastTime, {}},
  };
  return table;
}

std::string signature(const FunctionInfo& info) {
  static const char* kArgNames[] = {"FIELD", "FIELD", "FIELD", "P"};
  std::string text = std::string(info.name) + "(";
  for (size_t i = 0; i < info.args.size(); ++i) {
    if (i > 0) text += ", ";
    text += kArgNames[static_cast<int>(info.args[i])];
  }
  if (info.fn == Fn::Vwap) text = "vwap(PRICE, SIZE";
  return text + ")";
}

bool is_numeric(Type type) {
  return type == Type::Int || type == Type::Double;
}

Type result_type(Fn fn, const std::vector<Type>& types) {
  switch (fn) {
    case Fn::Count:
    case Fn::DistinctCount:
      return Type::Int;
    case Fn::Sum:
      return types[0];
    case Fn::Min:
    case Fn::Max:
    case Fn::First:
    case Fn::Last:
      return types[0];
    case Fn::FirstTime:
    case Fn::LastTime:
      return Type::Time;
    default:
      return Type::Double;
  }
}

// Arguments that are not bare fields become derived columns, numbered after the input's.
struct DerivedColumns {
  size_t first = 0;  // the input's field count
  std::vector<CompiledExprPtr> exprs;
};

std::optional<AggSpec> parse_agg(BindContext& ctx, const ConfigNode::Entry& entry,
                                 const ExprContext& cx, DerivedColumns& derived) {
  std::vector<Diagnostic> errors;
  auto call = compile_call(entry.value, cx, "an aggregation as fn(args), e.g. sum(SIZE) or count()",
                           errors);
  report_expr_errors(ctx, errors);
  if (!call) return std::nullopt;
  for (const ExprCall::Argument& arg : call->args) {
    if (arg.expr) ctx.reads_only(0, field_names_read(*arg.expr, *cx.schema));
  }
  const std::string& name = call->name;
  const FunctionInfo* info = nullptr;
  std::vector<std::string> names;
  for (const FunctionInfo& f : functions()) {
    names.emplace_back(f.name);
    if (f.name == name) info = &f;
  }
  if (!info) {
    ctx.error(call->name_location, "unknown aggregation '" + name + "'" +
                                       did_you_mean(name, names) +
                                       "; aggregations are count sum mean min max first "
                                       "last var std var_pop std_pop vwap twap median "
                                       "percentile distinct_count first_time last_time");
    return std::nullopt;
  }
  if (call->args.size() != info->args.size()) {
    const size_t n = info->args.size();
    ctx.error(call->name_location,
              name + " takes " + std::to_string(n) + (n == 1 ? " argument" : " arguments") +
                  ", got " + std::to_string(call->args.size()) + ": write " + signature(*info));
    return std::nullopt;
  }
  AggSpec spec;
  spec.output = entry.key;
  spec.fn = info->fn;
  bool ok = true;
  for (size_t a = 0; a < call->args.size(); ++a) {
    const ExprCall::Argument& arg = call->args[a];
    if (info->args[a] == Arg::Fraction) {
      const auto value = arg.expr->constant_value();
      const double p = !value                        ? std::nan("")
                       : value->type == Type::Double ? std::get<double>(value->value)
                       : value->type == Type::Int
                           ? static_cast<double>(std::get<int64_t>(value->value))
                           : std::nan("");
      if (!(p >= 0 && p <= 1)) {
        ctx.error(arg.location,
                  "percentile: p must be a number between 0 and 1 (0.5 is the median), got '" +
                      arg.text + "'");
        ok = false;
      }
      spec.p = p;
      continue;
    }
    const Type type = arg.expr->type();
    const char* what = arg.field ? " field" : " value";
    if (info->args[a] == Arg::Numeric && !is_numeric(type)) {
      ctx.error(arg.location, name + " needs an int or double" + what + ", but " + arg.text +
                                  " is " + std::string(type_name(type)));
      ok = false;
    } else if (info->args[a] == Arg::Ordered && type == Type::Bool) {
      ctx.error(arg.location, name + " needs an ordered" + what +
                                  " (int, double, time, duration or string), but " + arg.text +
                                  " is bool");
      ok = false;
    }
    if (arg.field) {
      spec.columns.push_back(*arg.field);
    } else {
      spec.columns.push_back(derived.first + derived.exprs.size());
      derived.exprs.push_back(arg.expr);
    }
    spec.types.push_back(type);
  }
  if (!ok) return std::nullopt;
  if (spec.fn == Fn::Median) spec.p = 0.5;
  spec.result_type = result_type(spec.fn, spec.types);
  return spec;
}

// A positive tick count in a {ticks: N} mapping.
std::optional<int64_t> read_ticks(BindContext& ctx, const ConfigNode& value, const char* what) {
  int64_t n = 0;
  const std::string& text = value.text();
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (!value.is_scalar() || error != std::errc() || end != text.data() + text.size() || n <= 0) {
    ctx.error(value.location(),
              std::string(what) + ": ticks must be a positive integer, got '" + text + "'");
    return std::nullopt;
  }
  return n;
}

std::optional<int64_t> read_duration(BindContext& ctx, const ConfigNode& value, const char* what) {
  const std::string text = ctx.substitute(value.text(), value.location());
  const auto duration = parse_duration(text);
  if (!duration || *duration <= 0) {
    ctx.error(value.location(), std::string(what) +
                                    ": expected a positive duration such as 1m, a mapping "
                                    "{ticks: N}" +
                                    (std::string(what) == "bucket" ? " or {when: CONDITION}" : "") +
                                    ", got '" + text + "'");
    return std::nullopt;
  }
  return duration;
}

// Checks the keys of a {...} spec against `allowed`.
bool check_keys(BindContext& ctx, const ConfigNode& spec, const std::vector<std::string>& allowed,
                const char* what) {
  bool ok = true;
  for (const auto& entry : spec.entries()) {
    if (std::find(allowed.begin(), allowed.end(), entry.key) == allowed.end()) {
      std::string list;
      for (const auto& key : allowed) list += (list.empty() ? "" : ", ") + key;
      ctx.error(entry.key_location, std::string(what) + ": unknown key '" + entry.key + "'" +
                                        did_you_mean(entry.key, allowed) + "; expected " + list);
      ok = false;
    }
  }
  return ok;
}

}  // namespace

bool agg::read_bucket(BindContext& ctx, Options& options) {
  const ConfigNode* bucket = ctx.param("bucket");
  if (!bucket) return true;
  if (bucket->is_scalar()) {
    auto duration = read_duration(ctx, *bucket, "bucket");
    if (!duration) return false;
    options.bucket = Options::Bucket::Time;
    options.bucket_duration = *duration;
    return require_time_ordered(
        ctx, 0, "time buckets assign ticks to [start, end) intervals in time order");
  }
  if (!bucket->is_mapping()) {
    ctx.error(bucket->location(),
              "bucket: expected a duration such as 1m, {ticks: N} or "
              "{when: CONDITION, boundary_tick: new|previous}");
    return false;
  }
  if (!check_keys(ctx, *bucket, {"ticks", "when", "boundary_tick"}, "bucket")) return false;
  const ConfigNode* ticks = bucket->find("ticks");
  const ConfigNode* when = bucket->find("when");
  const ConfigNode* boundary = bucket->find("boundary_tick");
  if ((ticks != nullptr) == (when != nullptr)) {
    ctx.error(bucket->location(), "bucket: give either ticks: N or when: CONDITION");
    return false;
  }
  if (ticks) {
    if (boundary) {
      ctx.error(bucket->find_entry("boundary_tick")->key_location,
                "bucket: boundary_tick applies to when: buckets only");
      return false;
    }
    auto n = read_ticks(ctx, *ticks, "bucket");
    if (!n) return false;
    options.bucket = Options::Bucket::Ticks;
    options.bucket_ticks = *n;
    return true;
  }
  options.bucket = Options::Bucket::Condition;
  if (boundary) {
    if (boundary->text() != "new" && boundary->text() != "previous") {
      ctx.error(boundary->location(),
                "boundary_tick: expected new (the tick where the condition holds starts the next "
                "bucket) or previous (it ends the current one), got '" +
                    boundary->text() + "'");
      return false;
    }
    options.boundary_new = boundary->text() == "new";
  }
  ExprContext cx = make_expr_context(ctx, *ctx.input(0).schema);
  cx.required_type = Type::Bool;
  cx.what = "the bucket condition";
  std::vector<Diagnostic> errors;
  options.condition = compile_expr(*when, cx, errors);
  report_expr_errors(ctx, errors);
  if (!options.condition) return false;
  if (options.condition->max_lead() > 0 || options.condition->uses_state()) {
    ctx.error(when->location(), "the bucket condition cannot look ahead (X[+k]) or read state");
    options.condition = nullptr;
    return false;
  }
  return true;
}

namespace {

bool read_running(BindContext& ctx, Options& options) {
  options.running = ctx.get_bool("running");
  const ConfigNode* window = ctx.param("window");
  if (!window) return true;
  if (!options.running) {
    ctx.error(window->location(),
              "window: applies to running: true only; without it, use "
              "bucket: to cut the stream into buckets");
    return false;
  }
  if (window->is_scalar()) {
    auto duration = read_duration(ctx, *window, "window");
    if (!duration) return false;
    options.window = Options::Window::Time;
    options.window_duration = *duration;
    return require_time_ordered(ctx, 0, "a time window holds the ticks of the last duration");
  }
  if (!window->is_mapping() || !check_keys(ctx, *window, {"ticks", "per_group"}, "window") ||
      !window->find("ticks")) {
    ctx.error(window->location(),
              "window: expected a duration such as 5s or {ticks: N[, per_group: false]}");
    return false;
  }
  auto n = read_ticks(ctx, *window->find("ticks"), "window");
  if (!n) return false;
  options.window = Options::Window::Ticks;
  options.window_ticks = *n;
  if (const ConfigNode* per_group = window->find("per_group")) {
    const std::string text = per_group->is_scalar() ? per_group->text() : "";
    if (text != "true" && text != "false") {
      ctx.error(per_group->location(),
                "window: per_group: expected true (the last N ticks of each group, the "
                "default) or false (the last N ticks of the stream, aggregated per group)");
      return false;
    }
    options.window_per_group = text == "true";
  }
  return true;
}

Accumulation accumulation_of(const Options& options) {
  bool holds = false;
  for (const AggSpec& spec : options.aggs) holds = holds || agg::holds_values(spec.fn);
  const std::string per_group = options.key_columns.empty() ? "" : " per group";
  if (options.running) {
    if (options.window == Options::Window::Ticks) {
      return Accumulation::bounded(std::to_string(options.window_ticks) + " ticks" +
                                   (options.window_per_group ? per_group : ""));
    }
    if (options.window == Options::Window::Time) {
      return Accumulation::bounded(format_duration(options.window_duration) + per_group);
    }
    return holds ? Accumulation::unbounded() : Accumulation::none();
  }
  // Streaming functions keep a few numbers per group; median, percentile and distinct_count
  // keep their bucket's values.
  if (!holds) return Accumulation::none();
  switch (options.bucket) {
    case Options::Bucket::Ticks:
      return Accumulation::bounded(std::to_string(options.bucket_ticks) + " ticks");
    case Options::Bucket::Time:
      return Accumulation::bounded(format_duration(options.bucket_duration));
    default:
      return Accumulation::unbounded();
  }
}

OperatorFactory bind_aggregate(BindContext& ctx) {
  auto options = std::make_shared<Options>();
  bool ok = read_key_fields(ctx, options->key_columns, "group_by", "use a time bucket instead");
  std::vector<Field> key_fields;
  for (size_t c : options->key_columns) key_fields.push_back((*ctx.input(0).schema)[c]);
  ok = agg::read_bucket(ctx, *options) && ok;
  // What it reads: the keys, a bucket condition and the arguments (parse_agg). With
  // exit_ticks: leaving, the input's other fields are passed on under their names.
  ctx.reads_only(0, field_names(*ctx.input(0).schema, options->key_columns));
  if (options->condition) {
    ctx.reads_only(0, field_names_read(*options->condition, *ctx.input(0).schema));
  }
  ok = read_running(ctx, *options) && ok;
  if (options->running && ctx.has("bucket")) {
    ctx.error(ctx.location("bucket"),
              "running: true emits on every tick and does not take "
              "bucket:; use window: for a sliding window");
    ok = false;
  }
  const std::string bucket_time = ctx.get_string("bucket_time");
  if (bucket_time != "end" && bucket_time != "start" && bucket_time != "close") {
    ctx.error(ctx.location("bucket_time"),
              "bucket_time: expected end, start or close, got '" + bucket_time + "'");
    ok = false;
  }
  options->stamp_start = bucket_time == "start";
  options->stamp_close = bucket_time == "close";
  options->emit_empty = ctx.get_bool("emit_empty");

  std::vector<Field> fields = key_fields;
  std::set<std::string> names = {"TIMESTAMP"};
  for (const Field& field : key_fields) names.insert(field.name);
  // Aggregation arguments are expressions over the input; a lead would need lookahead
  // the buckets do not have.
  ExprContext cx = make_expr_context(ctx, *ctx.input(0).schema);
  cx.what = "the aggregation argument";
  cx.no_leads =
      "an aggregation argument cannot look ahead (X[+k]); compute it with add_field first";
  DerivedColumns derived{ctx.input(0).schema->size(), {}};
  const ConfigNode* aggs = ctx.param("aggs");
  if (aggs->entries().empty()) {
    ctx.error(aggs->location(), "aggs: list at least one aggregation, e.g. {N: count()}");
    ok = false;
  }
  for (const auto& entry : aggs->entries()) {
    if (!is_valid_name(entry.key)) {
      ctx.error(entry.key_location, "'" + entry.key +
                                        "' is not a valid field name (letters, digits and _, "
                                        "not starting with a digit)");
      ok = false;
      continue;
    }
    if (!names.insert(entry.key).second) {
      ctx.error(entry.key_location,
                "output field " + entry.key +
                    (entry.key == "TIMESTAMP" ? " is reserved" : " is also a group_by field"));
      ok = false;
      continue;
    }
    auto spec = parse_agg(ctx, entry, cx, derived);
    if (!spec) {
      ok = false;
      continue;
    }
    if (spec->fn == Fn::Twap && (options->running || options->bucket == Options::Bucket::Ticks ||
                                 options->bucket == Options::Bucket::Condition)) {
      // A time weight needs the bucket's start and end in time; tick and condition buckets
      // and running windows have no such bounds fixed in advance.
      ctx.error(entry.value.location(),
                "twap needs time buckets (bucket: 1m) or the whole run (no bucket); it is not "
                "available with " +
                    std::string(options->running ? "running: true" : "tick or condition buckets"));
      ok = false;
      continue;
    }
    fields.push_back({spec->output, spec->result_type});
    options->aggs.push_back(std::move(*spec));
  }
  if (!ok) return {};
  options->arguments = std::move(derived.exprs);
  const std::string exit_ticks = ctx.get_string("exit_ticks");
  if (exit_ticks == "leaving") {
    if (!options->running || options->window != Options::Window::Time) {
      ctx.error(ctx.location("exit_ticks"),
                "exit_ticks: leaving needs running: true with a time window (window: 5s)");
      ok = false;
    }
    options->exit_leaving = true;
    // The input's fields follow the aggregates, except those already in the output.
    const Schema& input = *ctx.input(0).schema;
    for (size_t c = 0; c < input.size(); ++c) {
      if (names.count(input[c].name)) continue;
      options->carried_columns.push_back(c);
      fields.push_back(input[c]);
    }
  } else if (exit_ticks != "after") {
    ctx.error(ctx.location("exit_ticks"),
              "exit_ticks: expected after (the default: one tick per group and exit time, "
              "showing the window after the removal) or leaving (one tick per leaving tick, "
              "with its fields and the window before its removal)" +
                  did_you_mean(exit_ticks, {"after", "leaving"}));
    ok = false;
  }
  if (!ok) return {};
  if (options->exit_leaving) {
    std::vector<Field> carried;
    for (size_t c : options->carried_columns) carried.push_back((*ctx.input(0).schema)[c]);
    options->carried_schema = make_schema(std::move(carried));
  }
  options->key_schema = make_schema(key_fields);
  options->output_schema = make_schema(std::move(fields));
  options->range_start = ctx.query().range_start;
  options->range_end = ctx.query().range_end;
  if (options->bucket == Options::Bucket::Time &&
      options->bucket_duration >= 86400 * kNanosPerSecond) {
    // The loader has checked the name.
    options->bucket_zone = query_zone(ctx.query());
  }
  // Buckets and windows stamp ticks in input order; only an unordered input makes the
  // output unordered (time buckets and time windows reject such an input above).
  ctx.set_output(0, options->output_schema, ctx.input(0).time_ordered);
  ctx.set_accumulation(accumulation_of(*options));
  return agg::make_aggregate_factory(options);
}

// Shown by `tickflow eps aggregate` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample aggregate_example() {
  return {
      .query =
          R"~(# One-minute bars per symbol: trade count, volume, high and VWAP, stamped at the bucket end.
tickflow: 1
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
      - {TIMESTAMP: "2024-01-02 09:31:10", SYMBOL: AAPL, PRICE: 185.0, SIZE: 500}
      - {TIMESTAMP: "2024-01-02 09:31:30", SYMBOL: MSFT, PRICE: 371.0, SIZE: 100}
  bars:
    ep: aggregate
    in: trades
    bucket: 1m
    group_by: [SYMBOL]
    aggs:
      TRADES: count()
      VOLUME: sum(SIZE)
      HIGH: max(PRICE)
      VWAP: vwap(PRICE, SIZE)
)~",
      .output = R"~(TIMESTAMP,SYMBOL,TRADES,VOLUME,HIGH,VWAP
2024-01-02 09:31:00.000000000,AAPL,2,300,185.5,185.41666666666666
2024-01-02 09:31:00.000000000,MSFT,1,300,370.5,370.5
2024-01-02 09:32:00.000000000,AAPL,1,500,185,185
2024-01-02 09:32:00.000000000,MSFT,1,100,371,371
)~"};
}

}  // namespace

void register_aggregate(Registry& registry) {
  EpDefinition def;
  def.name = "aggregate";
  def.example = aggregate_example();
  def.doc =
      "Aggregations per bucket and group: aggs: {OUT: \"fn(args)\"} with count() sum mean min "
      "max first last var std (sample) var_pop std_pop (population) vwap(PRICE, SIZE) twap(X) "
      "(time-weighted, time buckets) median "
      "percentile(X, P) "
      "distinct_count first_time() last_time(). Buckets: a duration (time buckets [start, end) "
      "aligned to the range start, or to midnight UTC of the first tick's day), {ticks: N}, "
      "{when: CONDITION, boundary_tick: new|previous}, or none (one bucket for the whole run). "
      "running: true emits after every tick, over everything so far or a sliding window: "
      "(duration or {ticks: N}); a time window also emits when ticks leave it. Output: "
      "TIMESTAMP, the group_by fields, then the aggs in declared order; within a bucket, groups "
      "in order of first appearance. See docs/aggregate.md.";
  def.inputs = {"in"};
  def.outputs = {"out"};
  def.params = {
      {.name = "aggs",
       .type = ParamType::ExprMap,
       .required = true,
       .doc = "OUT: \"fn(ARG, ...)\" in output order; the arguments are expressions, e.g. "
              "sum(PRICE * SIZE)"},
      {.name = "bucket",
       .type = ParamType::Any,
       .doc = "duration, {ticks: N} or {when: CONDITION, boundary_tick: new|previous}; absent: one "
              "bucket for the whole run"},
      {.name = "bucket_time",
       .type = ParamType::String,
       .default_value = "end",
       .doc =
           "output TIMESTAMP of a bucket: end, start, or close (OneTick's: a when: bucket at the "
           "tick that closed it, the open last when:/ticks bucket at the range end)"},
      {.name = "emit_empty",
       .type = ParamType::Bool,
       .default_value = "true",
       .doc =
           "emit every bucket for every group seen so far, with count 0 and defaults when empty"},
      {.name = "running",
       .type = ParamType::Bool,
       .default_value = "false",
       .doc = "emit after every input tick"},
      {.name = "window",
       .type = ParamType::Any,
       .doc = "running only: sliding window, a duration (ticks in (t - d, t]) or {ticks: N} (the "
              "last N ticks of each group; per_group: false: of the whole stream, aggregated "
              "per group)"},
      {.name = "group_by", .type = ParamType::FieldList, .doc = "fields whose values form groups"},
      {.name = "exit_ticks",
       .type = ParamType::String,
       .default_value = "after",
       .doc = "time windows: after (one tick per group and exit time, the window after the "
              "removal) or leaving (one tick per leaving tick, with its fields and the window "
              "before its removal; every output carries the input's fields)"},
  };
  def.accumulation =
      "none (bucketed streaming functions); bounded(window) for sliding windows; median, "
      "percentile and distinct_count hold their bucket's values";
  def.bind = bind_aggregate;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
