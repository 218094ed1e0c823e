// Shared helpers of the state EP unit tests: a BindContext whose query declares state
// variables, a run harness with a StateStore owned by the test, and tick/text helpers.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "builtin.hpp"
#include "test_bind_support.hpp"
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

// The BindContext of the state EP tests: an EP of registry(), and by default the
// standard_query() state declarations.
class StateBind : public bind_test::EpBind {
 public:
  StateBind(const std::string& ep, const std::string& params_yaml, std::vector<SchemaPtr> inputs,
            QueryInfo query = standard_query())
      : EpBind(registry(), ep, params_yaml, std::move(inputs), std::move(query)) {}
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
