// add_field, update_field and where run through the loader and executor: declared
// accumulation for leads, results independent of the batch size, ticks held, typed
// query parameters, the `where:` mask, and run-time errors.
#include <doctest/doctest.h>

#include <numeric>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "tickflow/query.hpp"
#include "tickflow/run.hpp"

using namespace tickflow;

namespace {

const Registry& registry() {
  static const Registry instance = [] {
    Registry r;
    eps::register_builtins(r);
    return r;
  }();
  return instance;
}

std::unique_ptr<Query> load(const std::string& yaml, Diagnostics& diags,
                            const QueryOverrides& overrides = {}) {
  return load_query_text(yaml, "test.yaml", registry(), overrides, diags);
}

struct Collected {
  std::vector<int64_t> values;  // of the int column `field`
  RunResult result;
};

// Runs the query and collects int field `field` of output `port` of node `node`.
Collected run(const std::string& yaml, const std::string& node, size_t port,
              const std::string& field, size_t batch_size, size_t threads = 1,
              const QueryOverrides& overrides = {}) {
  Diagnostics diags;
  auto query = load(yaml, diags, overrides);
  for (const auto& d : diags.items()) MESSAGE(d.to_string());
  REQUIRE(query);
  const BoundNode* bound = query->find(node);
  REQUIRE(bound);
  const size_t index = static_cast<size_t>(bound - query->nodes.data());
  auto column = bound->output_schemas[port]->index_of(field);
  REQUIRE(column);
  Collected out;
  std::vector<OutputTap> taps{{index, port,
                               [&](const Batch& b) {
                                 const auto& v = b.columns[*column].ints();
                                 out.values.insert(out.values.end(), v.begin(), v.end());
                               },
                               nullptr}};
  RunOptions options;
  options.threads = threads;
  options.batch_size = batch_size;
  Plan plan = plan_query(*query);
  out.result = run_query(*query, plan, options, taps);
  return out;
}

// SIZE = i * 7 % 11 for i in 0..n-1, one tick per ms.
std::string source(int n) {
  std::string rows;
  for (int i = 0; i < n; ++i) {
    rows += "      - {TIMESTAMP: " + std::to_string(i * 1'000'000) +
            ", SIZE: " + std::to_string(i * 7 % 11) + "}\n";
  }
  return "tickflow: 1\nnodes:\n  src:\n    ep: ticks\n    rows:\n" + rows;
}

int64_t size_at(int i, int n) {
  return i >= 0 && i < n ? i * 7 % 11 : 0;
}

}  // namespace

TEST_CASE("field exprs: leads declare bounded accumulation, added up over add_field entries") {
  const std::string yaml = source(3) + R"(
  a:
    ep: add_field
    in: src
    set:
      N: SIZE[+1]
      M: N[+2] + SIZE[-5]
  plain:
    ep: add_field
    in: src
    set: {P: SIZE * 2}
  w:
    ep: where
    in: src
    if: SIZE[+2] > 0
  u:
    ep: update_field
    in: src
    set:
      SIZE: SIZE[+1]
    where: SIZE[+3] > 0
)";
  Diagnostics diags;
  auto query = load(yaml, diags);
  REQUIRE(query);
  CHECK(query->find("a")->accumulation.to_string() == "bounded(3 ticks)");
  CHECK(query->find("plain")->accumulation.to_string() == "none");
  CHECK(query->find("w")->accumulation.to_string() == "bounded(2 ticks)");
  CHECK(query->find("u")->accumulation.to_string() == "bounded(4 ticks)");
}

TEST_CASE("field exprs: a chain of leads and lags gives the same values for every batch size") {
  const int n = 50;
  const std::string yaml = source(n) + R"(
  a:
    ep: add_field
    in: src
    set:
      N: SIZE[+1] - SIZE[-1]
      M: N[+2] * 10 + N[-3]
)";
  auto n_at = [&](int i) { return i >= 0 && i < n ? size_at(i + 1, n) - size_at(i - 1, n) : 0; };
  std::vector<int64_t> expected;
  for (int i = 0; i < n; ++i) expected.push_back(n_at(i + 2) * 10 + n_at(i - 3));
  for (size_t batch : {1, 2, 3, 7, 4096}) {
    for (size_t threads : {1, 2}) {
      CAPTURE(batch);
      Collected out = run(yaml, "a", 0, "M", batch, threads);
      REQUIRE_FALSE(out.result.error);
      CHECK(out.values == expected);
      // Three ticks of lead in all; a batch of one tick shows exactly that hold.
      if (batch == 1) CHECK(out.result.stats[1].peak_ticks_held == 3);
    }
  }
}

TEST_CASE("field exprs: where routes to pass and fail, with a lead, for every batch size") {
  const int n = 40;
  const std::string yaml = source(n) + R"(
  w:
    ep: where
    in: src
    if: SIZE[+1] > SIZE
)";
  std::vector<int64_t> pass, fail;
  for (int i = 0; i < n; ++i)
    (size_at(i + 1, n) > size_at(i, n) ? pass : fail).push_back(size_at(i, n));
  for (size_t batch : {1, 5, 4096}) {
    CHECK(run(yaml, "w", 0, "SIZE", batch).values == pass);
    CHECK(run(yaml, "w", 1, "SIZE", batch).values == fail);
  }
}

TEST_CASE("field exprs: update_field's where guards run-time errors and keeps other rows") {
  const int n = 23;  // SIZE is 0 at i = 0 and i = 11, 22
  const std::string yaml = source(n) + R"(
  u:
    ep: update_field
    in: src
    where: SIZE != 0
    set:
      SIZE: 100 % SIZE
)";
  std::vector<int64_t> expected;
  for (int i = 0; i < n; ++i) expected.push_back(size_at(i, n) == 0 ? 0 : 100 % size_at(i, n));
  for (size_t batch : {1, 4, 4096}) {
    Collected out = run(yaml, "u", 0, "SIZE", batch);
    REQUIRE_FALSE(out.result.error);
    CHECK(out.values == expected);
  }
}

TEST_CASE("field exprs: integer % by zero stops the run with the tick's time") {
  const std::string yaml = source(5) + R"(
  w:
    ep: where
    in: src
    if: 10 % SIZE[+1] == 0
)";
  for (size_t batch : {1, 4096}) {
    Collected out = run(yaml, "w", 0, "SIZE", batch);
    REQUIRE(out.result.error);
    CHECK(out.result.error->node == "w");
    REQUIRE(out.result.error->tick_time);
    CHECK(*out.result.error->tick_time == 4'000'000);  // the last tick: its lead reads 0
  }
}

TEST_CASE("field exprs: $NAME has the declared type, from the default or --param") {
  const std::string yaml = R"(tickflow: 1
params:
  K: {type: int, default: 3}
  R: {type: double, default: 0.5}
  D: {type: duration, default: 2ms}
  T: {type: time, default: "1970-01-01 00:00:00.001"}
  B: {type: bool, default: true}
  S: {type: string, default: "ab"}
nodes:
  src:
    ep: ticks
    rows: [{TIMESTAMP: 0, SIZE: 1}, {TIMESTAMP: 1000000, SIZE: 2}, {TIMESTAMP: 3000000, SIZE: 3}]
  a:
    ep: add_field
    in: src
    set:
      X: SIZE * $K + int($R * 10) + if($B, len($S), 100) + int(nanos($D) / 1000000)
      LATE: int(TIMESTAMP >= $T + $D)
)";
  CHECK(run(yaml, "a", 0, "X", 4096).values == std::vector<int64_t>{12, 15, 18});
  CHECK(run(yaml, "a", 0, "LATE", 4096).values == std::vector<int64_t>{0, 0, 1});
  QueryOverrides overrides;
  overrides.params = {{"K", "10"}, {"B", "false"}, {"D", "0ns"}, {"T", "0"}};
  CHECK(run(yaml, "a", 0, "X", 4096, 1, overrides).values == std::vector<int64_t>{115, 125, 135});
  CHECK(run(yaml, "a", 0, "LATE", 4096, 1, overrides).values == std::vector<int64_t>{1, 1, 1});

  Diagnostics diags;
  auto bad = load(R"(tickflow: 1
params:
  MIN_SIZE: {type: int, default: 3}
nodes:
  src:
    ep: ticks
    rows: [{SIZE: 1}]
  w:
    ep: where
    in: src
    if: SIZE > $MIN_SZ
)",
                  diags);
  CHECK_FALSE(bad);
  REQUIRE(diags.items().size() == 1);
  CHECK(diags.items()[0].to_string().find(
            "test.yaml:11:16: error: node 'w': unknown parameter '$MIN_SZ' (did you mean "
            "'$MIN_SIZE'?)") != std::string::npos);
}

TEST_CASE("field exprs: add_field and update_field name checks") {
  Diagnostics diags;
  auto query = load(R"(tickflow: 1
nodes:
  src:
    ep: ticks
    rows: [{SIZE: 1}]
  a:
    ep: add_field
    in: src
    set:
      SIZE: 1
      TIMESTAMP: 2
      OK: SIZE + 1
  u:
    ep: update_field
    in: src
    set:
      SIZ: 1
      TIMESTAMP: TIMESTAMP
      SIZE: "'x'"
)",
                    diags);
  CHECK_FALSE(query);
  std::string all;
  for (const auto& d : diags.items()) all += d.to_string() + "\n";
  CHECK(all.find("test.yaml:10:7: error: node 'a': field SIZE already exists") !=
        std::string::npos);
  CHECK(all.find("test.yaml:11:7: error: node 'a': field TIMESTAMP already exists") !=
        std::string::npos);
  CHECK(
      all.find("test.yaml:17:7: error: node 'u': no field SIZ to update (did you mean 'SIZE'?)") !=
      std::string::npos);
  CHECK(all.find("test.yaml:18:7: error: node 'u': TIMESTAMP cannot be set here") !=
        std::string::npos);
  CHECK(all.find("the value of SIZE must be int, found string") != std::string::npos);
}
