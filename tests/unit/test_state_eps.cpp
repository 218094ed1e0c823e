// Unit tests of the state EPs (set_state, state_insert, state_erase, state_dump), run
// directly through their bind functions and operators with a BindContext whose query
// declares state variables, and a StateStore owned by the test.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "builtin.hpp"
#include "tickflow/config.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/registry.hpp"
#include "tickflow/state.hpp"

using namespace tickflow;

namespace {

const Registry& registry() {
  static const Registry instance = [] {
    Registry r;
    eps::register_set_state(r);
    eps::register_state_insert_erase(r);
    eps::register_state_dump(r);
    return r;
  }();
  return instance;
}

// ---------------------------------------------------------------- state declarations

StateVariable scalar_var(std::string name, Type type, Value init) {
  StateVariable v;
  v.name = std::move(name);
  v.kind = StateKind::Scalar;
  v.type = type;
  v.init = std::move(init);
  return v;
}

StateVariable container_var(std::string name, StateKind kind, std::vector<Field> fields,
                            std::vector<std::string> key = {}, bool keep_last = false,
                            size_t max_size = 0) {
  StateVariable v;
  v.name = std::move(name);
  v.kind = kind;
  v.fields = make_schema(std::move(fields));
  for (const auto& k : key) v.key.push_back(*v.fields->index_of(k));
  v.keep_last = keep_last;
  v.max_size = max_size;
  return v;
}

QueryInfo query_with(std::vector<StateVariable> variables) {
  QueryInfo q;
  q.file = "test.yaml";
  for (size_t i = 0; i < variables.size(); ++i) variables[i].id = i;
  q.state = std::move(variables);
  return q;
}

// The variables most tests use: scalars A, B, S, N (int), D, P (double), NAME (string);
// SEEN a tick_set keyed by ID (keep first), LAST_SEEN the same with keep: last, RECENT a
// tick_deque of 2, ALL a tick_list, PAIRS a tick_set keyed by (ID, VENUE), REF a tick_set
// keyed by SYMBOL.
QueryInfo standard_query() {
  return query_with({
      scalar_var("A", Type::Int, int64_t{0}),
      scalar_var("B", Type::Int, int64_t{0}),
      scalar_var("S", Type::Int, int64_t{0}),
      scalar_var("N", Type::Int, int64_t{0}),
      scalar_var("D", Type::Double, 0.0),
      scalar_var("P", Type::Double, 0.0),
      scalar_var("NAME", Type::String, std::string("none")),
      container_var("SEEN", StateKind::TickSet, {{"ID", Type::Int}, {"PX", Type::Double}}, {"ID"}),
      container_var("LAST_SEEN", StateKind::TickSet, {{"ID", Type::Int}, {"PX", Type::Double}},
                    {"ID"}, true),
      container_var("RECENT", StateKind::TickDeque, {{"PX", Type::Double}}, {}, false, 2),
      container_var("ALL", StateKind::TickList, {{"ID", Type::Int}, {"PX", Type::Double}}),
      container_var("PAIRS", StateKind::TickSet,
                    {{"ID", Type::Int}, {"VENUE", Type::String}, {"QTY", Type::Int}},
                    {"ID", "VENUE"}),
      container_var("REF", StateKind::TickSet, {{"SYMBOL", Type::String}, {"PX", Type::Double}},
                    {"SYMBOL"}),
  });
}

size_t id_of(const QueryInfo& q, const std::string& name) {
  for (const auto& v : q.state) {
    if (v.name == name) return v.id;
  }
  FAIL("no state variable " << name);
  return 0;
}

// ---------------------------------------------------------------- binding

struct StateUse {
  std::string name;
  BindContext::StateAccess access;
  std::string location;
};

// Just enough of the engine's BindContext: parameters from a YAML snippet (defaults from
// the EP's ParamSpecs), inputs given by the test, the query's state declarations, errors
// and use_state calls collected.
class StateBind : public BindContext {
 public:
  StateBind(const std::string& ep, const std::string& params_yaml, std::vector<SchemaPtr> inputs,
            QueryInfo query = standard_query())
      : definition_(registry().find(ep)), query_(std::move(query)) {
    REQUIRE(definition_ != nullptr);
    Diagnostics diags;
    params_ = parse_yaml(params_yaml.empty() ? "{}" : params_yaml, "test.yaml", diags);
    REQUIRE_MESSAGE(!diags.has_errors(), params_yaml);
    for (const auto& spec : definition_->params) {
      if (params_.find(spec.name) || spec.default_value.empty()) continue;
      defaults_[spec.name] = parse_yaml(spec.default_value, "<default>", diags);
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      inputs_.push_back({"up" + std::to_string(i), inputs[i], true, {"test.yaml", 1, 1}});
    }
  }

  OperatorFactory bind() { return definition_->bind(*this); }

  const std::string& node_id() const override { return node_id_; }
  const Location& node_location() const override { return node_location_; }
  const QueryInfo& query() const override { return query_; }
  size_t input_count() const override { return inputs_.size(); }
  const InputInfo& input(size_t i) const override { return inputs_.at(i); }
  const ConfigNode* param(std::string_view name) const override {
    if (const ConfigNode* given = params_.find(name)) return given;
    auto it = defaults_.find(std::string(name));
    return it == defaults_.end() ? nullptr : &it->second;
  }
  std::string substitute(const std::string& text, const Location&) override { return text; }
  void error(const Location& loc, std::string message, ErrorKind) override {
    errors.push_back(loc.to_string() + ": " + message);
  }
  bool has_errors() const override { return !errors.empty(); }
  void set_output(size_t port, SchemaPtr schema, bool time_ordered) override {
    CHECK(port == 0);
    output_schema = std::move(schema);
    output_time_ordered = time_ordered;
  }
  void set_accumulation(Accumulation acc) override { accumulation = std::move(acc); }
  void use_state(const StateVariable& variable, StateAccess access, const Location& loc) override {
    uses.push_back({variable.name, access, loc.to_string()});
  }

  void set_input_time_ordered(bool ordered) { inputs_.at(0).time_ordered = ordered; }

  bool used(const std::string& name, StateAccess access) const {
    for (const auto& u : uses) {
      if (u.name == name && u.access == access) return true;
    }
    return false;
  }

  std::string all_errors() const {
    std::string text;
    for (const auto& e : errors) text += e + "\n";
    return text;
  }

  std::vector<std::string> errors;
  std::vector<StateUse> uses;
  SchemaPtr output_schema;
  bool output_time_ordered = false;
  Accumulation accumulation{Accumulation::Kind::Unbounded, {}};

 private:
  const EpDefinition* definition_;
  QueryInfo query_;
  ConfigNode params_;
  std::map<std::string, ConfigNode> defaults_;
  std::vector<InputInfo> inputs_;
  std::string node_id_ = "node";
  Location node_location_{"test.yaml", 1, 1};
};

struct CollectingSink : OutputSink {
  std::vector<Batch> batches;
  void emit(size_t port, Batch&& batch) override {
    CHECK(port == 0);
    batches.push_back(std::move(batch));
  }
};

// ---------------------------------------------------------------- ticks and text

std::string value_text(const Value& v) {
  std::ostringstream out;
  if (const auto* i = std::get_if<int64_t>(&v)) {
    out << *i;
  } else if (const auto* d = std::get_if<double>(&v)) {
    out << *d;
  } else if (const auto* b = std::get_if<bool>(&v)) {
    out << (*b ? "true" : "false");
  } else {
    out << '"' << std::get<std::string>(v) << '"';
  }
  return out.str();
}

// One line per tick: "TIME|v1|v2...".
std::vector<std::string> rows_of(const std::vector<Batch>& batches) {
  std::vector<std::string> rows;
  for (const auto& batch : batches) {
    for (size_t r = 0; r < batch.size(); ++r) {
      std::string line = std::to_string(batch.times[r]);
      for (const auto& column : batch.columns) line += "|" + value_text(column.value(r));
      rows.push_back(line);
    }
  }
  return rows;
}

// The entries of a container, one "v1|v2..." line each, in iteration order.
std::vector<std::string> entries_of(const TickContainer& container) {
  std::vector<std::string> lines;
  container.for_each([&](const StateEntry& entry) {
    std::string line;
    for (const auto& v : entry) line += (line.empty() ? "" : "|") + value_text(v);
    lines.push_back(line);
  });
  return lines;
}

using Rows = std::vector<std::vector<Value>>;

// Ticks of `schema`, stamped first_time, first_time + 1, ...
Batch make_ticks(const SchemaPtr& schema, const Rows& rows, int64_t first_time = 100) {
  Batch b(schema);
  for (size_t r = 0; r < rows.size(); ++r) {
    b.times.push_back(first_time + static_cast<int64_t>(r));
    for (size_t c = 0; c < schema->size(); ++c) b.columns[c].append(rows[r][c]);
  }
  return b;
}

// X int: the schema of the simplest input.
SchemaPtr x_schema() {
  return make_schema({{"X", Type::Int}});
}
Rows x_rows(const std::vector<int64_t>& xs) {
  Rows rows;
  for (int64_t x : xs) rows.push_back({x});
  return rows;
}

// ID int, PX double, VENUE string.
SchemaPtr order_schema() {
  return make_schema({{"ID", Type::Int}, {"PX", Type::Double}, {"VENUE", Type::String}});
}

// A bound node, its store and one operator, fed batch by batch.
struct Run {
  explicit Run(StateBind& bind, size_t batch_size = 4096, std::string symbol = "SYM")
      : bind_(bind), store(bind.query().state) {
    OperatorFactory factory = bind.bind();
    REQUIRE_MESSAGE(factory, bind.all_errors());
    CHECK_MESSAGE(bind.errors.empty(), bind.all_errors());
    RunContext run;
    run.node_id = "node";
    run.symbol = std::move(symbol);
    run.batch_size = batch_size;
    run.query = &bind.query();
    run.state = &store;
    op = factory(run);
  }

  // Feeds `batch` and checks that a passing EP passed it on unchanged.
  void feed(Batch batch, bool passes = true) {
    const std::vector<std::string> before = rows_of({batch});
    const size_t emitted = sink.batches.size();
    op->process(0, std::move(batch), sink);
    if (passes) {
      REQUIRE(sink.batches.size() == emitted + 1);
      CHECK(rows_of({sink.batches.back()}) == before);
    }
  }
  // Feeds every tick of `batch` in batches of `size`.
  void feed_split(const Batch& batch, size_t size) {
    for (size_t begin = 0; begin < batch.size(); begin += size)
      feed(batch.slice(begin, std::min(batch.size(), begin + size)));
  }
  void finish() {
    op->input_finished(0, sink);
    op->finish(sink);
  }

  const Value& scalar(const std::string& name) const {
    return store.scalar(id_of(bind_.query(), name));
  }
  std::vector<std::string> entries(const std::string& name) const {
    return entries_of(store.tick_container(id_of(bind_.query(), name)));
  }
  std::vector<std::string> output() const { return rows_of(sink.batches); }

  StateBind& bind_;
  StateStore store;
  std::unique_ptr<Operator> op;
  CollectingSink sink;
};

// The errors binding `ep` with `params` reports (the factory must be empty).
std::string bind_errors(const std::string& ep, const std::string& params,
                        SchemaPtr input = order_schema(), QueryInfo query = standard_query()) {
  StateBind bind(ep, params, {std::move(input)}, std::move(query));
  OperatorFactory factory = bind.bind();
  CHECK_FALSE(factory);
  CHECK_FALSE(bind.errors.empty());
  return bind.all_errors();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

// ================================================================ set_state

TEST_CASE("set_state: assignments run in order, each tick after the previous tick's") {
  StateBind bind("set_state", "assign: {A: 'state.A + 1', B: 'state.A * 2'}", {x_schema()});
  Run run(bind);
  CHECK(*bind.output_schema == *x_schema());
  CHECK(bind.output_time_ordered);
  CHECK(bind.accumulation.kind == Accumulation::Kind::None);
  CHECK(bind.used("A", BindContext::StateAccess::Write));
  CHECK(bind.used("B", BindContext::StateAccess::Write));
  CHECK(bind.used("A", BindContext::StateAccess::Read));
  CHECK_FALSE(bind.used("B", BindContext::StateAccess::Read));
  run.feed(make_ticks(x_schema(), x_rows({5, 6, 7})));
  CHECK(std::get<int64_t>(run.scalar("A")) == 3);
  CHECK(std::get<int64_t>(run.scalar("B")) == 6);
  run.feed(make_ticks(x_schema(), x_rows({8}), 200));
  CHECK(std::get<int64_t>(run.scalar("A")) == 4);
  CHECK(std::get<int64_t>(run.scalar("B")) == 8);
}

TEST_CASE("set_state: running sum gives the same result for every batch size") {
  for (size_t size : {1, 2, 3, 7}) {
    CAPTURE(size);
    StateBind bind("set_state", "assign: {S: 'state.S + X', D: X, NAME: string(X)}", {x_schema()});
    Run run(bind);
    run.feed_split(make_ticks(x_schema(), x_rows({1, 2, 3, 4, 5})), size);
    CHECK(std::get<int64_t>(run.scalar("S")) == 15);
    CHECK(std::get<double>(run.scalar("D")) == 5.0);  // int converted for a double
    CHECK(std::get<std::string>(run.scalar("NAME")) == "5");
  }
}

TEST_CASE("set_state: without reads of its own variables the last tick wins") {
  StateBind bind("set_state", "assign: {A: 'X * 10', NAME: \"'x' + string(X)\"}", {x_schema()});
  Run run(bind);
  CHECK_FALSE(bind.used("A", BindContext::StateAccess::Read));
  run.feed(make_ticks(x_schema(), x_rows({1, 2, 3})));
  CHECK(std::get<int64_t>(run.scalar("A")) == 30);
  CHECK(std::get<std::string>(run.scalar("NAME")) == "x3");
  // An empty batch changes nothing and emits nothing.
  run.op->process(0, Batch(x_schema()), run.sink);
  CHECK(run.sink.batches.size() == 1);
}

TEST_CASE("set_state: where decides which ticks assign") {
  SUBCASE("whole batch (where reads no assigned variable)") {
    StateBind bind("set_state", "assign: {A: X}\nwhere: 'X < 3'", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({1, 2, 5, 4})));
    CHECK(std::get<int64_t>(run.scalar("A")) == 2);
    run.feed(make_ticks(x_schema(), x_rows({7, 8}), 200));
    CHECK(std::get<int64_t>(run.scalar("A")) == 2);  // no tick passed: unchanged
  }
  SUBCASE("tick by tick (running sum of odd X)") {
    StateBind bind("set_state", "assign: {S: 'state.S + X'}\nwhere: 'X % 2 == 1'", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({1, 2, 3, 4, 5})));
    CHECK(std::get<int64_t>(run.scalar("S")) == 9);
  }
  SUBCASE("the condition sees the previous ticks' writes") {
    for (size_t size : {1, 4}) {
      CAPTURE(size);
      StateBind bind("set_state", "assign: {N: 'state.N + 1', A: X}\nwhere: 'state.N < 2'",
                     {x_schema()});
      Run run(bind);
      run.feed_split(make_ticks(x_schema(), x_rows({10, 20, 30, 40})), size);
      CHECK(std::get<int64_t>(run.scalar("N")) == 2);
      CHECK(std::get<int64_t>(run.scalar("A")) == 20);
    }
  }
  SUBCASE("an expression that would fail on a skipped tick raises nothing") {
    StateBind bind("set_state", "assign: {A: '100 % X'}\nwhere: 'X != 0'", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({7, 0, 30})));
    CHECK(std::get<int64_t>(run.scalar("A")) == 10);  // 100 % 30
  }
}

TEST_CASE("set_state: lags see every tick this node saw") {
  SUBCASE("difference to the previous tick, across batches") {
    StateBind bind("set_state", "assign: {D: 'X - X[-1]'}", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({1, 4})));
    CHECK(std::get<double>(run.scalar("D")) == 3.0);
    run.feed(make_ticks(x_schema(), x_rows({9}), 200));
    CHECK(std::get<double>(run.scalar("D")) == 5.0);
  }
  SUBCASE("tick by tick with a lag") {
    for (size_t size : {1, 2, 5}) {
      CAPTURE(size);
      StateBind bind("set_state", "assign: {S: 'state.S + X[-1]'}", {x_schema()});
      Run run(bind);
      run.feed_split(make_ticks(x_schema(), x_rows({1, 2, 3, 4, 5})), size);
      CHECK(std::get<int64_t>(run.scalar("S")) == 10);  // 0 + 1 + 2 + 3 + 4
    }
  }
  SUBCASE("ticks skipped by where still count for the lag") {
    StateBind bind("set_state", "assign: {P: 'X[-1]', S: 'state.S + X[-1]'}\nwhere: 'X > 2'",
                   {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({1, 2, 3, 4})));
    CHECK(std::get<double>(run.scalar("P")) == 3.0);
    CHECK(std::get<int64_t>(run.scalar("S")) == 5);  // 2 (at X=3) + 3 (at X=4)
  }
}

TEST_CASE("set_state: reads the store of its run and fails without one") {
  StateBind bind("set_state", "assign: {A: 'state.A + X'}", {x_schema()});
  OperatorFactory factory = bind.bind();
  REQUIRE(factory);
  RunContext run;
  run.query = &bind.query();
  auto op = factory(run);  // no state store
  CollectingSink sink;
  CHECK_THROWS_WITH_AS(op->process(0, make_ticks(x_schema(), x_rows({1})), sink),
                       "the query declares no state", RuntimeError);
}

TEST_CASE("set_state: load-time errors") {
  SUBCASE("unknown variable, with did-you-mean at the key") {
    std::string e = bind_errors("set_state", "assign:\n  SEEM: 1\n");
    CHECK(contains(e, "test.yaml:2:3: unknown state variable 'SEEM' (did you mean 'SEEN'?)"));
  }
  SUBCASE("a query without state") {
    std::string e = bind_errors("set_state", "assign: {A: 1}", order_schema(), QueryInfo{});
    CHECK(contains(e, "unknown state variable 'A' (the query declares no state:)"));
  }
  SUBCASE("state. prefix") {
    std::string e = bind_errors("set_state", "assign: {state.A: 1}");
    CHECK(contains(e, "name the variable without 'state.': A"));
  }
  SUBCASE("a container") {
    std::string e = bind_errors("set_state", "assign:\n  SEEN: 1\n");
    CHECK(contains(e,
                   "test.yaml:2:3: state variable 'SEEN' is a tick_set; set_state assigns "
                   "scalars (state_insert and state_erase change containers)"));
  }
  SUBCASE("wrong type") {
    std::string e = bind_errors("set_state", "assign:\n  A: VENUE\n");
    CHECK(contains(e, "test.yaml:2:6: the value of state.A must be int, found string"));
  }
  SUBCASE("double for an int") {
    std::string e = bind_errors("set_state", "assign: {A: PX}");
    CHECK(contains(e, "the value of state.A must be int, found double"));
  }
  SUBCASE("where must be bool") {
    std::string e = bind_errors("set_state", "assign: {A: 1}\nwhere: ID");
    CHECK(contains(e, "the 'where' condition must be bool, found int"));
  }
  SUBCASE("unknown field") {
    std::string e = bind_errors("set_state", "assign: {A: IDX}");
    CHECK(contains(e, "IDX"));
  }
  SUBCASE("a lead, located at the bracket") {
    std::string e = bind_errors("set_state", "assign:\n  D: PX - PX[+1]\n");
    CHECK(contains(e, "test.yaml:2:13: set_state cannot look ahead"));
    CHECK(contains(e, "use a lag X[-k]"));
    CHECK(contains(e, "\n  PX - PX[+1]\n         ^~~~"));
  }
  SUBCASE("a lead in a quoted where") {
    std::string e = bind_errors("set_state", "assign: {A: 1}\nwhere: \"PX[+2] > 1\"");
    CHECK(contains(e, "test.yaml:2:11: set_state cannot look ahead"));
  }
  SUBCASE("no assignment") {
    std::string e = bind_errors("set_state", "assign: {}");
    CHECK(contains(e, "assign: sets no variable"));
  }
  SUBCASE("every error is reported") {
    std::string e = bind_errors("set_state", "assign: {AA: 1, SEEN: 2, B: VENUE}");
    CHECK(contains(e, "'AA'"));
    CHECK(contains(e, "'SEEN'"));
    CHECK(contains(e, "state.B must be int"));
  }
}

// ================================================================ state_insert

TEST_CASE("state_insert: tick_set keep first and keep last") {
  const Rows rows = {{int64_t{1}, 10.0, std::string("A")},
                     {int64_t{2}, 20.0, std::string("B")},
                     {int64_t{1}, 11.0, std::string("C")}};
  SUBCASE("keep first") {
    StateBind bind("state_insert", "into: SEEN", {order_schema()});
    Run run(bind);
    CHECK(bind.used("SEEN", BindContext::StateAccess::Write));
    CHECK(*bind.output_schema == *order_schema());
    CHECK(bind.accumulation.kind == Accumulation::Kind::None);
    run.feed(make_ticks(order_schema(), rows));
    CHECK(run.entries("SEEN") == std::vector<std::string>{"1|10", "2|20"});
  }
  SUBCASE("keep last replaces in place") {
    StateBind bind("state_insert", "into: LAST_SEEN", {order_schema()});
    Run run(bind);
    run.feed_split(make_ticks(order_schema(), rows), 1);
    CHECK(run.entries("LAST_SEEN") == std::vector<std::string>{"1|11", "2|20"});
  }
}

TEST_CASE("state_insert: a tick_deque keeps its newest max_size entries") {
  StateBind bind("state_insert", "into: RECENT", {order_schema()});
  Run run(bind);
  run.feed(make_ticks(order_schema(), {{int64_t{1}, 1.5, std::string()},
                                       {int64_t{2}, 2.5, std::string()},
                                       {int64_t{3}, 3.5, std::string()}}));
  CHECK(run.entries("RECENT") == std::vector<std::string>{"2.5", "3.5"});
}

TEST_CASE("state_insert: fields: expressions, defaults, where") {
  SUBCASE("expressions and same-named fields") {
    StateBind bind("state_insert", "into: ALL\nfields: {PX: 'PX * 2 + ID'}", {order_schema()});
    Run run(bind);
    run.feed(make_ticks(order_schema(),
                        {{int64_t{1}, 1.0, std::string()}, {int64_t{2}, 5.0, std::string()}}));
    CHECK(run.entries("ALL") == std::vector<std::string>{"1|3", "2|12"});
  }
  SUBCASE("an int expression and an int input field fill double fields") {
    StateBind bind("state_insert", "into: ALL\nfields: {PX: X * 3, ID: X}", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({1, 2})));
    CHECK(run.entries("ALL") == std::vector<std::string>{"1|3", "2|6"});
    const StateEntry* last = run.store.tick_container(id_of(bind.query(), "ALL")).at(-1);
    REQUIRE(last);
    CHECK(std::holds_alternative<double>((*last)[1]));
  }
  SUBCASE("an int input field fills a double container field") {
    auto input = make_schema({{"PX", Type::Int}});
    StateBind bind("state_insert", "into: RECENT", {input});
    Run run(bind);
    run.feed(make_ticks(input, x_rows({4, 5})));
    CHECK(run.entries("RECENT") == std::vector<std::string>{"4", "5"});
    CHECK(std::holds_alternative<double>(
        (*run.store.tick_container(id_of(bind.query(), "RECENT")).at(0))[0]));
  }
  SUBCASE("where, with a lag over every tick") {
    StateBind bind("state_insert", "into: ALL\nwhere: 'PX > 10'\nfields: {PX: 'PX[-1]'}",
                   {order_schema()});
    Run run(bind);
    run.feed(make_ticks(order_schema(), {{int64_t{1}, 5.0, std::string()},
                                         {int64_t{2}, 15.0, std::string()},
                                         {int64_t{3}, 7.0, std::string()},
                                         {int64_t{4}, 20.0, std::string()}}));
    CHECK(run.entries("ALL") == std::vector<std::string>{"2|5", "4|7"});
  }
  SUBCASE("a SYMBOL field the input lacks takes the run's symbol") {
    StateBind bind("state_insert", "into: REF", {order_schema()});
    Run run(bind, 4096, "AAPL");
    run.feed(make_ticks(order_schema(), {{int64_t{1}, 5.0, std::string()}}));
    CHECK(run.entries("REF") == std::vector<std::string>{"\"AAPL\"|5"});
  }
}

TEST_CASE("state_insert: a condition on the container sees the ticks before") {
  // Insert only while fewer than 2 entries are held: reads what it writes, tick by tick.
  for (size_t size : {1, 3, 5}) {
    CAPTURE(size);
    StateBind bind("state_insert", "into: ALL\nwhere: 'state.ALL.size() < 2'", {order_schema()});
    Run run(bind);
    CHECK(bind.used("ALL", BindContext::StateAccess::Read));
    Rows rows;
    for (int64_t i = 1; i <= 5; ++i) rows.push_back({i, static_cast<double>(i), std::string()});
    run.feed_split(make_ticks(order_schema(), rows), size);
    CHECK(run.entries("ALL") == std::vector<std::string>{"1|1", "2|2"});
  }
}

TEST_CASE("state_insert: load-time errors") {
  SUBCASE("unknown variable") {
    std::string e = bind_errors("state_insert", "into: SEN");
    CHECK(contains(e, "test.yaml:1:7: unknown state variable 'SEN' (did you mean 'SEEN'?)"));
  }
  SUBCASE("a scalar") {
    std::string e = bind_errors("state_insert", "into: A");
    CHECK(contains(e,
                   "test.yaml:1:7: state variable 'A' is a scalar; state_insert needs a "
                   "tick_set, tick_list or tick_deque (set_state assigns scalars)"));
  }
  SUBCASE("a missing input field") {
    std::string e = bind_errors("state_insert", "into: ALL", x_schema());
    CHECK(contains(e, "test.yaml:1:7: input 'up0' has no field ID for field ID of state.ALL"));
    CHECK(contains(e, "give its value under fields: (fields: {PX: expression})"));
  }
  SUBCASE("an input field of another type") {
    auto input = make_schema({{"ID", Type::String}, {"PX", Type::Double}});
    std::string e = bind_errors("state_insert", "into: SEEN", input);
    CHECK(contains(e,
                   "field ID of state.SEEN is int but input 'up0' has ID as string; give its "
                   "value under fields:"));
  }
  SUBCASE("a key of fields: that is not a container field") {
    std::string e = bind_errors("state_insert", "into: SEEN\nfields:\n  PRICE: PX\n");
    CHECK(contains(e, "test.yaml:3:3: 'PRICE' is not a field of state.SEEN (ID, PX)"));
  }
  SUBCASE("a fields: value of the wrong type") {
    std::string e = bind_errors("state_insert", "into: SEEN\nfields: {PX: VENUE}");
    CHECK(contains(e, "the value of PX must be double, found string"));
  }
  SUBCASE("a lead") {
    std::string e = bind_errors("state_insert", "into: SEEN\nfields: {PX: 'PX[+1]'}");
    CHECK(contains(e, "state_insert cannot look ahead"));
  }
  SUBCASE("where must be bool") {
    std::string e = bind_errors("state_insert", "into: SEEN\nwhere: PX");
    CHECK(contains(e, "the 'where' condition must be bool, found double"));
  }
}

// ================================================================ state_erase

namespace {

// Fills SEEN / ALL / PAIRS of `run` directly through the store.
void fill(Run& run, const std::string& name, const std::vector<StateEntry>& entries) {
  TickContainer& c = run.store.tick_container(id_of(run.bind_.query(), name));
  for (const auto& e : entries) c.insert(e);
}

std::vector<StateEntry> seen_entries() {
  return {{int64_t{1}, 10.0}, {int64_t{2}, 20.0}, {int64_t{3}, 30.0}};
}

}  // namespace

TEST_CASE("state_erase: by key expressions") {
  StateBind bind("state_erase", "from: SEEN\nkey: ['X + 1']", {x_schema()});
  Run run(bind);
  CHECK(bind.used("SEEN", BindContext::StateAccess::Write));
  CHECK(*bind.output_schema == *x_schema());
  fill(run, "SEEN", seen_entries());
  run.feed(make_ticks(x_schema(), x_rows({0, 2, 7})));  // erases 1 and 3; 8 is not there
  CHECK(run.entries("SEEN") == std::vector<std::string>{"2|20"});
}

TEST_CASE("state_erase: a single key expression may be written without a list") {
  StateBind bind("state_erase", "from: SEEN\nkey: X", {x_schema()});
  Run run(bind);
  fill(run, "SEEN", seen_entries());
  run.feed(make_ticks(x_schema(), x_rows({2})));
  CHECK(run.entries("SEEN") == std::vector<std::string>{"1|10", "3|30"});
}

TEST_CASE("state_erase: by default the key is the tick's same-named fields") {
  StateBind bind("state_erase", "from: PAIRS", {order_schema()});
  Run run(bind);
  fill(run, "PAIRS",
       {{int64_t{1}, std::string("X"), int64_t{5}}, {int64_t{1}, std::string("Y"), int64_t{6}}});
  run.feed(make_ticks(order_schema(),
                      {{int64_t{1}, 0.0, std::string("Y")}, {int64_t{2}, 0.0, std::string("X")}}));
  CHECK(run.entries("PAIRS") == std::vector<std::string>{"1|\"X\"|5"});
}

TEST_CASE("state_erase: where decides whether a tick erases") {
  StateBind bind("state_erase", "from: SEEN\nwhere: 'PX > 0'", {order_schema()});
  Run run(bind);
  fill(run, "SEEN", seen_entries());
  run.feed(make_ticks(order_schema(), {{int64_t{1}, 0.0, std::string()},
                                       {int64_t{2}, 1.0, std::string()},
                                       {int64_t{3}, -1.0, std::string()}}));
  CHECK(run.entries("SEEN") == std::vector<std::string>{"1|10", "3|30"});
}

TEST_CASE("state_erase: a list loses its oldest entry per erasing tick") {
  SUBCASE("every tick") {
    StateBind bind("state_erase", "from: ALL", {x_schema()});
    Run run(bind);
    fill(run, "ALL", seen_entries());
    run.feed(make_ticks(x_schema(), x_rows({0, 0})));
    CHECK(run.entries("ALL") == std::vector<std::string>{"3|30"});
    run.feed(make_ticks(x_schema(), x_rows({0, 0}), 200));  // the second finds it empty
    CHECK(run.entries("ALL").empty());
  }
  SUBCASE("with where") {
    StateBind bind("state_erase", "from: ALL\nwhere: 'X == 1'", {x_schema()});
    Run run(bind);
    fill(run, "ALL", seen_entries());
    run.feed(make_ticks(x_schema(), x_rows({0, 1, 0})));
    CHECK(run.entries("ALL") == std::vector<std::string>{"2|20", "3|30"});
  }
  SUBCASE("a condition on the container itself, tick by tick") {
    for (size_t size : {1, 4}) {
      CAPTURE(size);
      StateBind bind("state_erase", "from: ALL\nwhere: 'state.ALL.size() > 1'", {x_schema()});
      Run run(bind);
      fill(run, "ALL", seen_entries());
      run.feed_split(make_ticks(x_schema(), x_rows({0, 0, 0, 0})), size);
      CHECK(run.entries("ALL") == std::vector<std::string>{"3|30"});
    }
  }
}

TEST_CASE("state_erase: load-time errors") {
  SUBCASE("a key for a list") {
    std::string e = bind_errors("state_erase", "from: ALL\nkey: [ID]");
    CHECK(contains(e,
                   "test.yaml:2:6: a tick_list has no key: state_erase removes its oldest "
                   "entry on each erasing tick"));
  }
  SUBCASE("a key for a deque") {
    std::string e = bind_errors("state_erase", "from: RECENT\nkey: [ID]");
    CHECK(contains(e, "a tick_deque has no key"));
  }
  SUBCASE("the wrong number of key values") {
    std::string e = bind_errors("state_erase", "from: PAIRS\nkey: [ID]");
    CHECK(contains(e, "state.PAIRS has 2 key fields (ID, VENUE) but key: gives 1 value"));
  }
  SUBCASE("key: is not a list of expressions") {
    std::string e = bind_errors("state_erase", "from: SEEN\nkey: {ID: 1}");
    CHECK(contains(e, "key: expected a list of expressions, one per key field of state.SEEN (ID)"));
  }
  SUBCASE("a key value of the wrong type") {
    std::string e = bind_errors("state_erase", "from: SEEN\nkey: [VENUE]");
    CHECK(contains(e, "test.yaml:2:7: the key value for ID must be int, found string"));
  }
  SUBCASE("the default key is missing from the input") {
    std::string e = bind_errors("state_erase", "from: SEEN", x_schema());
    CHECK(contains(e, "test.yaml:1:7: input 'up0' has no field ID for field ID of state.SEEN"));
    CHECK(contains(e, "give the key as key: [expression, ...] (ID)"));
  }
  SUBCASE("a scalar") {
    std::string e = bind_errors("state_erase", "from: N");
    CHECK(contains(e, "state variable 'N' is a scalar; state_erase needs a tick_set"));
  }
  SUBCASE("unknown") {
    std::string e = bind_errors("state_erase", "from: PAIR");
    CHECK(contains(e, "unknown state variable 'PAIR' (did you mean 'PAIRS'?)"));
  }
  SUBCASE("a lead in the key") {
    std::string e = bind_errors("state_erase", "from: SEEN\nkey: ['ID[+1]']");
    CHECK(contains(e, "test.yaml:2:10: state_erase cannot look ahead"));
  }
}

// ================================================================ state_dump

TEST_CASE("state_dump: when: end") {
  SUBCASE("stamped with the last input tick") {
    StateBind bind("state_dump", "var: SEEN", {x_schema()});
    Run run(bind);
    CHECK(bind.used("SEEN", BindContext::StateAccess::Read));
    CHECK(*bind.output_schema == *bind.query().state[id_of(bind.query(), "SEEN")].fields);
    CHECK(bind.output_time_ordered);
    CHECK(bind.accumulation.kind == Accumulation::Kind::None);
    fill(run, "SEEN", seen_entries());
    run.feed(make_ticks(x_schema(), x_rows({0, 0})), false);
    run.feed(make_ticks(x_schema(), x_rows({0}), 500), false);
    CHECK(run.sink.batches.empty());
    fill(run, "SEEN", {{int64_t{4}, 40.0}});
    run.finish();
    CHECK(run.output() == std::vector<std::string>{"500|1|10", "500|2|20", "500|3|30", "500|4|40"});
  }
  SUBCASE("no tick: the range end") {
    QueryInfo q = standard_query();
    q.range_end = 9'000;
    StateBind bind("state_dump", "var: ALL\nwhen: end", {x_schema()}, q);
    Run run(bind);
    fill(run, "ALL", {{int64_t{1}, 1.0}});
    run.finish();
    CHECK(run.output() == std::vector<std::string>{"9000|1|1"});
  }
  SUBCASE("no tick and no range: the epoch") {
    StateBind bind("state_dump", "var: ALL", {x_schema()});
    Run run(bind);
    fill(run, "ALL", {{int64_t{1}, 1.0}});
    run.finish();
    CHECK(run.output() == std::vector<std::string>{"0|1|1"});
  }
  SUBCASE("an empty container emits nothing") {
    StateBind bind("state_dump", "var: ALL", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({0})), false);
    run.finish();
    CHECK(run.sink.batches.empty());
  }
  SUBCASE("in batches of the run's batch size, list front to back") {
    StateBind bind("state_dump", "var: ALL", {x_schema()});
    Run run(bind, 2);
    fill(run, "ALL", {{int64_t{3}, 1.0}, {int64_t{1}, 2.0}, {int64_t{2}, 3.0}});
    run.feed(make_ticks(x_schema(), x_rows({0})), false);
    run.finish();
    REQUIRE(run.sink.batches.size() == 2);
    CHECK(run.sink.batches[0].size() == 2);
    CHECK(run.output() == std::vector<std::string>{"100|3|1", "100|1|2", "100|2|3"});
  }
  SUBCASE("a tick_set in order of first insertion, with keep: last values") {
    StateBind bind("state_dump", "var: LAST_SEEN", {x_schema()});
    Run run(bind);
    fill(run, "LAST_SEEN", {{int64_t{5}, 1.0}, {int64_t{2}, 2.0}, {int64_t{5}, 3.0}});
    run.finish();
    CHECK(run.output() == std::vector<std::string>{"0|5|3", "0|2|2"});
  }
  SUBCASE("a scalar") {
    StateBind bind("state_dump", "var: NAME", {x_schema()});
    Run run(bind);
    CHECK(*bind.output_schema == Schema({{"NAME", Type::String}}));
    run.feed(make_ticks(x_schema(), x_rows({0})), false);
    run.finish();
    CHECK(run.output() == std::vector<std::string>{"100|\"none\""});
  }
}

TEST_CASE("state_dump: when: every_tick") {
  StateBind bind("state_dump", "var: RECENT\nwhen: every_tick", {x_schema()});
  bind.set_input_time_ordered(false);
  Run run(bind);
  CHECK_FALSE(bind.output_time_ordered);                 // as ordered as the trigger
  run.feed(make_ticks(x_schema(), x_rows({0})), false);  // empty: nothing
  CHECK(run.sink.batches.empty());
  fill(run, "RECENT", {{1.5}, {2.5}});
  run.feed(make_ticks(x_schema(), x_rows({0, 0}), 200), false);
  fill(run, "RECENT", {{3.5}});
  run.feed(make_ticks(x_schema(), x_rows({0}), 300), false);
  run.finish();
  CHECK(run.output() ==
        std::vector<std::string>{"200|1.5", "200|2.5", "201|1.5", "201|2.5", "300|2.5", "300|3.5"});
}

TEST_CASE("state_dump: a scalar on every tick follows set_state") {
  // set_state then state_dump on the same ticks, one tick at a time as the planner runs them.
  QueryInfo q = standard_query();
  StateBind set("set_state", "assign: {S: 'state.S + X'}", {x_schema()}, q);
  StateBind dump("state_dump", "var: S\nwhen: every_tick", {x_schema()}, q);
  StateStore store(q.state);
  RunContext ctx;
  ctx.query = &q;
  ctx.state = &store;
  auto set_op = set.bind()(ctx);
  auto dump_op = dump.bind()(ctx);
  CollectingSink middle, out;
  Batch ticks = make_ticks(x_schema(), x_rows({1, 2, 3}));
  for (size_t i = 0; i < ticks.size(); ++i) {
    set_op->process(0, ticks.slice(i, i + 1), middle);
    dump_op->process(0, std::move(middle.batches.back()), out);
  }
  CHECK(rows_of(out.batches) == std::vector<std::string>{"100|1", "101|3", "102|6"});
}

TEST_CASE("state_dump: load-time errors") {
  SUBCASE("unknown variable") {
    std::string e = bind_errors("state_dump", "var: RECNT");
    CHECK(contains(e, "test.yaml:1:6: unknown state variable 'RECNT' (did you mean 'RECENT'?)"));
  }
  SUBCASE("bad when") {
    std::string e = bind_errors("state_dump", "var: ALL\nwhen: every");
    CHECK(contains(e, "test.yaml:2:7: when: expected end or every_tick, got 'every'"));
  }
}

TEST_CASE("state EPs are documented") {
  for (const char* name : {"set_state", "state_insert", "state_erase", "state_dump"}) {
    CAPTURE(name);
    const EpDefinition* def = registry().find(name);
    REQUIRE(def);
    CHECK_FALSE(def->doc.empty());
    CHECK(def->accumulation == "none");
    for (const auto& p : def->params) CHECK_FALSE(p.doc.empty());
  }
}
