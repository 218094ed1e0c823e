// State variables through the planner and the sequential executor: which nodes go tick
// by tick, that two sources interleave in time order as SPEC §6's tick passage needs (checked
// against a direct model of it), container accounting apart from accumulation.
#include <doctest/doctest.h>

#include <algorithm>

#include "builtin.hpp"
#include "tickflow/query.hpp"
#include "tickflow/run.hpp"

using namespace tickflow;

namespace {

const Registry& builtins() {
  static Registry registry = [] {
    Registry r;
    eps::register_builtins(r);
    return r;
  }();
  return registry;
}

std::unique_ptr<Query> load(const std::string& yaml) {
  Diagnostics diags;
  auto query = load_query_text(yaml, "test.yaml", builtins(), {}, diags);
  for (const auto& d : diags.items()) MESSAGE(d.to_string());
  REQUIRE(query);
  return query;
}

struct Collected {
  std::vector<int64_t> times;
  std::vector<int64_t> values;  // the column named `field`
};

Collected run(const Query& query, size_t threads, size_t batch, const std::string& field,
              RunResult* result_out = nullptr, std::optional<int64_t> max_held = {}) {
  Collected out;
  const OutputRef& o = query.outputs.at(0);
  size_t column = *query.nodes[o.node].output_schemas[o.port]->index_of(field);
  std::vector<OutputTap> taps{{o.node, o.port,
                               [&](const Batch& b) {
                                 out.times.insert(out.times.end(), b.times.begin(), b.times.end());
                                 const auto& v = b.columns[column].ints();
                                 out.values.insert(out.values.end(), v.begin(), v.end());
                               },
                               nullptr}};
  RunOptions options;
  options.threads = threads;
  options.batch_size = batch;
  options.max_accumulated_ticks = max_held;
  RunResult result = run_query(query, plan_query(query), options, taps);
  if (result.error) MESSAGE(result.error->describe());
  REQUIRE(!result.error);
  if (result_out) *result_out = std::move(result);
  return out;
}

// `count` ticks from `first` ms every `step` ms with V = base + (i * 7) % 13.
std::string rows(int first, int count, int step, int base) {
  std::string out = "[";
  for (int i = 0; i < count; ++i) {
    out += (i ? ", " : "") + std::string("{TIMESTAMP: ") +
           std::to_string(static_cast<int64_t>(first + i * step) * 1'000'000) +
           ", V: " + std::to_string(base + (i * 7) % 13) + "}";
  }
  return out + "]";
}

}  // namespace

TEST_CASE("plan: nodes touching written state and those before them go tick by tick") {
  auto query = load(R"(tickflow: 1
state:
  S: {type: int, init: 0}
  K: {type: int, init: 7, scope: query}
nodes:
  src: {ep: ticks, fields: {V: int}, rows: []}
  before: {ep: add_field, in: src, set: {W: V * 2}}
  write: {ep: set_state, in: before, assign: {S: state.S + W}}
  read: {ep: add_field, in: write, set: {T: state.S}}
  after: {ep: add_field, in: read, set: {U: T + state.K}}
  side: {ep: add_field, in: src, set: {Z: state.K}}
output: after
)");
  Plan plan = plan_query(*query);
  CHECK(plan.sequential);
  auto marked = [&](const char* id) {
    for (size_t i = 0; i < query->nodes.size(); ++i) {
      if (query->nodes[i].id == id) return static_cast<bool>(plan.tick_by_tick[i]);
    }
    FAIL("no node " << id);
    return false;
  };
  CHECK(marked("src"));
  CHECK(marked("before"));
  CHECK(marked("write"));
  CHECK(marked("read"));
  // K is never written: reading it needs no ordering.
  CHECK_FALSE(marked("after"));
  CHECK_FALSE(marked("side"));
}

TEST_CASE("plan: a query that only reads state keeps the parallel segment plan") {
  auto query = load(R"(tickflow: 1
state:
  K: {type: int, init: 7}
nodes:
  src: {ep: ticks, fields: {V: int}, rows: []}
  read: {ep: add_field, in: src, set: {T: state.K + V}}
)");
  CHECK_FALSE(plan_query(*query).sequential);
}

TEST_CASE("tick passage: a writer on one source and a reader on another interleave by time") {
  // a: every 2 ms from 0; b: every 3 ms from 1 (ties with a at 4, 10, 16, ... ms).
  const int a_count = 300, b_count = 200;
  auto query = load(std::string(R"(tickflow: 1
state:
  S: {type: int, init: 0}
nodes:
  a: {ep: ticks, fields: {V: int}, rows: )") +
                    rows(0, a_count, 2, 0) + R"(}
  b: {ep: ticks, fields: {V: int}, rows: )" +
                    rows(1, b_count, 3, 100) + R"(}
  write: {ep: set_state, in: a, assign: {S: state.S + V}}
  read: {ep: add_field, in: b, set: {T: state.S}}
output: read
)");
  // The model: a tick of b sees the sum of V over a's ticks at an earlier time, or at the
  // same time (source a is declared first, so it goes first on ties).
  std::vector<int64_t> expected;
  for (int j = 0; j < b_count; ++j) {
    int64_t b_time = 1 + j * 3, sum = 0;
    for (int i = 0; i < a_count && i * 2 <= b_time; ++i) sum += (i * 7) % 13;
    expected.push_back(sum);
  }
  for (size_t threads : {1, 2}) {
    for (size_t batch : {1, 3, 64, 4096}) {
      CAPTURE(threads);
      CAPTURE(batch);
      Collected got = run(*query, threads, batch, "T");
      CHECK(got.values == expected);
    }
  }
}

TEST_CASE("containers are state: --max-accumulated-ticks ignores them, stats report them") {
  auto query = load(std::string(R"(tickflow: 1
state:
  SEEN: {type: tick_set, key: [V], fields: {V: int}}
nodes:
  src: {ep: ticks, fields: {V: int}, rows: )") +
                    rows(0, 100, 1, 0) + R"(}
  fresh: {ep: where, in: src, if: 'not state.SEEN.has(V)'}
  keep: {ep: state_insert, in: fresh, into: SEEN}
output: keep
)");
  RunResult result;
  Collected got = run(*query, 1, 7, "V", &result, /*max_held=*/1);
  // V = (i * 7) % 13 takes 13 distinct values, first seen at i = 0..12.
  CHECK(got.values.size() == 13);
  REQUIRE(result.state.size() == 1);
  CHECK(result.state[0].name == "SEEN");
  CHECK(result.state[0].peak_ticks == 13);
  CHECK(result.state[0].final_ticks == 13);
  CHECK(result.state[0].peak_bytes > 13 * 8);
}

TEST_CASE("a source's end passes right after its last tick") {
  // 'a' ends at 4 ms, long before 'b'; state_dump when: end on 'a' sees only the
  // writes of ticks up to then, even though 'b' goes on writing afterwards.
  auto query = load(R"(tickflow: 1
state:
  L: {type: tick_list, fields: {V: int}}
nodes:
  a: {ep: ticks, fields: {V: int}, rows: [{TIMESTAMP: 1000000, V: 1}, {TIMESTAMP: 4000000, V: 2}]}
  b: {ep: ticks, fields: {V: int}, rows: [{TIMESTAMP: 2000000, V: 10}, {TIMESTAMP: 5000000, V: 20}]}
  both: {ep: merge, in: [a, b]}
  keep: {ep: state_insert, in: both, into: L}
  dump: {ep: state_dump, in: a, var: L}
output: dump
)");
  for (size_t batch : {1, 4096}) {
    Collected got = run(*query, 1, batch, "V");
    // Merge releases a's 4 ms tick only when b's 5 ms tick has arrived, so when 'a' ends
    // (right after its 4 ms tick entered) L holds the ticks merge has released: 1 and 10.
    CHECK(got.values == std::vector<int64_t>{1, 10});
    CHECK(got.times == std::vector<int64_t>{4000000, 4000000});
  }
}
