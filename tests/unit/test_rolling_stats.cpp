// rolling_stats through the engine: every output column against an exact per-group
// reference (long double, two-pass), the same output for every batch size and thread
// count, and the load-time errors with their locations.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "tickflow/query.hpp"
#include "tickflow/run.hpp"

using namespace tickflow;

namespace {

// A test EP that declares its output as not time-ordered (like order_by).
class PassOperator : public Operator {
 public:
  void process(size_t, Batch&& batch, OutputSink& out) override { out.emit(0, std::move(batch)); }
};

// Not const: loading a query may register EPs on demand.
Registry& registry() {
  static Registry instance = [] {
    Registry r;
    eps::register_builtins(r);
    EpDefinition unordered;
    unordered.name = "test_unordered";
    unordered.doc = "test: passes ticks, declares them not time-ordered";
    unordered.inputs = {"in"};
    unordered.bind = [](BindContext& ctx) -> OperatorFactory {
      ctx.set_output(0, ctx.input(0).schema, false);
      return [](const RunContext&) { return std::make_unique<PassOperator>(); };
    };
    r.add(std::move(unordered));
    return r;
  }();
  return instance;
}

struct Collected {
  SchemaPtr schema;
  std::vector<int64_t> times;
  std::vector<std::vector<double>> columns;  // every column as double (strings hashed)
  std::vector<std::vector<std::string>> strings;
  RunResult result;
};

Collected run(const std::string& yaml, size_t threads, size_t batch_size) {
  Diagnostics diags;
  auto query = load_query_text(yaml, "test.yaml", registry(), {}, diags);
  for (const auto& d : diags.items()) MESSAGE(d.to_string());
  REQUIRE(query);
  Collected out;
  const auto& ref = query->outputs.at(0);
  out.schema = query->nodes[ref.node].output_schemas[ref.port];
  out.columns.resize(out.schema->size());
  out.strings.resize(out.schema->size());
  std::vector<OutputTap> taps{{ref.node, ref.port,
                               [&](const Batch& b) {
                                 out.times.insert(out.times.end(), b.times.begin(), b.times.end());
                                 for (size_t c = 0; c < b.columns.size(); ++c) {
                                   const Column& col = b.columns[c];
                                   for (size_t r = 0; r < b.size(); ++r) {
                                     switch (col.type()) {
                                       case Type::Double:
                                         out.columns[c].push_back(col.doubles()[r]);
                                         break;
                                       case Type::String:
                                         out.strings[c].emplace_back(col.strings()[r]);
                                         out.columns[c].push_back(0);
                                         break;
                                       default:
                                         out.columns[c].push_back(
                                             static_cast<double>(col.ints()[r]));
                                     }
                                   }
                                 }
                               },
                               nullptr}};
  RunOptions options;
  options.threads = threads;
  options.batch_size = batch_size;
  Plan plan = plan_query(*query);
  out.result = run_query(*query, plan, options, taps);
  REQUIRE_FALSE(out.result.error.has_value());
  return out;
}

std::vector<std::string> load_errors(const std::string& yaml) {
  Diagnostics diags;
  auto query = load_query_text(yaml, "test.yaml", registry(), {}, diags);
  CHECK(query == nullptr);
  std::vector<std::string> errors;
  for (const auto& d : diags.items()) errors.push_back(d.to_string());
  return errors;
}

bool contains(const std::vector<std::string>& errors, const std::string& text) {
  for (const auto& e : errors)
    if (e.find(text) != std::string::npos) return true;
  MESSAGE("no error contains: " << text);
  for (const auto& e : errors) MESSAGE("  " << e);
  return false;
}

const std::string kGraph = R"(tickflow: 1
nodes:
  trades: {ep: generate, kind: trades, count: 3000, interval: 20ms, seed: 7}
  roll:
    ep: rolling_stats
    in: trades
    fields: [PRICE, SIZE]
    windows: [1, 2, 7, 100, 1000]
    time_windows: [50ms, 2s]
    stats: [count, sum, mean, var, std, min, max, first, last]
    group_by: [EXCHANGE]
    base: 3
)";

}  // namespace

TEST_CASE("rolling_stats: every column matches an exact per-group reference") {
  const Collected out = run(kGraph, 1, 4096);
  const Schema& schema = *out.schema;
  REQUIRE(schema[0].name == "PRICE");
  REQUIRE(schema[3].name == "PRICE_COUNT_1");
  REQUIRE(schema[4].name == "PRICE_SUM_1");
  CHECK(schema[3].type == Type::Int);
  CHECK(schema[4].type == Type::Double);
  // per field (2) x window (7) x stat (9), after the 3 input fields
  REQUIRE(schema.size() == 3 + 2 * 7 * 9);
  CHECK(schema[3 + 5 * 9].name == "PRICE_COUNT_50ms");
  CHECK(schema[3 + 7 * 9].name == "SIZE_COUNT_1");
  CHECK(schema.fields().back().name == "SIZE_LAST_2s");

  const size_t n = out.times.size();
  REQUIRE(n == 3000);
  const std::vector<std::string>& exchange = out.strings[2];
  struct Window {
    bool by_time;
    int64_t size;
  };
  const std::vector<Window> windows = {{false, 1},           {false, 2},    {false, 7},
                                       {false, 100},         {false, 1000}, {true, 50'000'000},
                                       {true, 2'000'000'000}};
  size_t checked = 0;
  for (size_t row = 0; row < n; row += 1 + row % 5) {
    for (size_t f = 0; f < 2; ++f) {
      // The ticks of this row's group up to and including the row.
      std::vector<size_t> group_rows;
      for (size_t r = 0; r <= row; ++r)
        if (exchange[r] == exchange[row]) group_rows.push_back(r);
      for (size_t w = 0; w < windows.size(); ++w) {
        std::vector<double> values;
        for (size_t i = group_rows.size(); i-- > 0;) {
          const size_t r = group_rows[i];
          const bool inside = windows[w].by_time
                                  ? out.times[r] > out.times[row] - windows[w].size
                                  : static_cast<int64_t>(values.size()) < windows[w].size;
          if (!inside) break;
          values.insert(values.begin(), out.columns[f][r]);
        }
        long double sum = 0, sum_abs = 0;
        for (double v : values) sum += v, sum_abs += std::fabs(v);
        const long double mean = sum / values.size();
        long double m2 = 0;
        for (double v : values) m2 += (v - mean) * (v - mean);
        const size_t base = 3 + (f * windows.size() + w) * 9;
        const auto& col = [&](size_t stat) { return out.columns[base + stat][row]; };
        INFO("row " << row << " field " << f << " window " << w);
        REQUIRE(col(0) == static_cast<double>(values.size()));
        CHECK(std::fabs(col(1) - sum) <= 1e-12L * sum_abs);
        CHECK(std::fabs(col(2) - mean) <= 1e-12L * sum_abs / values.size());
        if (values.size() < 2) {
          CHECK(std::isnan(col(3)));
          CHECK(std::isnan(col(4)));
        } else {
          const long double var = m2 / (values.size() - 1);
          CHECK(std::fabs(col(3) - var) <= 1e-9L * var + 1e-300L);
          CHECK(std::fabs(col(4) - std::sqrt(var)) <= 1e-9L * std::sqrt(var) + 1e-300L);
          CHECK(col(3) >= 0.0);
        }
        CHECK(col(5) == *std::min_element(values.begin(), values.end()));
        CHECK(col(6) == *std::max_element(values.begin(), values.end()));
        CHECK(col(7) == values.front());
        CHECK(col(8) == values.back());
        ++checked;
      }
    }
  }
  CHECK(checked > 1000);
}

TEST_CASE("rolling_stats: same output for every batch size and thread count") {
  const Collected reference = run(kGraph, 1, 4096);
  for (auto [threads, batch] : {std::pair{1, 1}, {2, 7}, {2, 4096}}) {
    const Collected other = run(kGraph, threads, batch);
    CHECK(other.times == reference.times);
    for (size_t c = 0; c < reference.columns.size(); ++c) {
      const auto& a = reference.columns[c];
      const auto& b = other.columns[c];
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) {
          FAIL("column " << c << " row " << i << " differs: " << a[i] << " vs " << b[i]);
        }
      }
    }
  }
}

TEST_CASE("rolling_stats: accumulation, defaults and held ticks") {
  Diagnostics diags;
  auto query = load_query_text(kGraph, "test.yaml", registry(), {}, diags);
  REQUIRE(query);
  const BoundNode* roll = query->find("roll");
  REQUIRE(roll);
  CHECK(roll->accumulation.to_string() == "bounded(1000 ticks or 2s per group)");

  const std::string defaults = R"(tickflow: 1
nodes:
  t: {ep: generate, count: 500}
  roll: {ep: rolling_stats, in: t, field: PRICE, windows: [10]}
)";
  const Collected out = run(defaults, 1, 64);
  std::vector<std::string> names;
  for (const auto& f : out.schema->fields()) names.push_back(f.name);
  CHECK(names == std::vector<std::string>{"PRICE", "SIZE", "EXCHANGE", "PRICE_MIN_10",
                                          "PRICE_MAX_10", "PRICE_LAST_10", "PRICE_MEAN_10",
                                          "PRICE_VAR_10"});
  const NodeStats& stats = out.result.stats[1];
  CHECK(stats.peak_ticks_held == 10);
  CHECK(stats.peak_bytes_held > 10 * 8);
}

TEST_CASE("rolling_stats: load-time errors point at the offending value") {
  const auto errors = load_errors(R"(tickflow: 1
nodes:
  t: {ep: generate, count: 10}
  roll:
    ep: rolling_stats
    in: t
    fields: [PRICE, EXCHANGE, PRCE]
    windows: [10, 0, 10, 5m]
    time_windows: [1s, 1000ms, soon]
    stats: [mean, meen, mean]
    base: 1
)");
  CHECK(contains(errors,
                 "test.yaml:7:21: error: node 'roll': field EXCHANGE is string; rolling_stats "
                 "needs an int or double field"));
  CHECK(contains(errors, "test.yaml:7:31: error: node 'roll': unknown field 'PRCE'"));
  CHECK(contains(errors, "did you mean 'PRICE'?"));
  CHECK(contains(
      errors, "test.yaml:8:19: error: node 'roll': windows: a window must hold at least 1 tick"));
  CHECK(contains(errors, "test.yaml:8:22: error: node 'roll': windows: window 10 is listed twice"));
  CHECK(contains(errors, "test.yaml:8:26: error: node 'roll': windows: expected a tick count"));
  CHECK(contains(errors,
                 "test.yaml:9:24: error: node 'roll': time_windows: 1000ms is the same window"));
  CHECK(contains(errors, "test.yaml:9:32: error: node 'roll': time_windows: expected a duration"));
  CHECK(contains(
      errors, "test.yaml:10:19: error: node 'roll': unknown stat 'meen' (did you mean 'mean'?)"));
  CHECK(contains(errors, "test.yaml:10:25: error: node 'roll': stat mean is listed twice"));
  CHECK(contains(errors, "test.yaml:11:11: error: node 'roll': base must be between 2 and 65536"));

  CHECK(contains(
      load_errors(R"(tickflow: 1
nodes:
  t: {ep: generate, count: 10}
  u: {ep: test_unordered, in: t}
  roll: {ep: rolling_stats, in: u, field: PRICE, time_windows: [1s]}
)"),
      "test.yaml:5:64: error: node 'roll': time_windows need a time-ordered input, but 'u' is "
      "not time-ordered"));
  CHECK(contains(load_errors(R"(tickflow: 1
nodes:
  t: {ep: generate, count: 10}
  roll: {ep: rolling_stats, in: t, field: PRICE, windows: [5]}
  again: {ep: rolling_stats, in: roll, field: PRICE, windows: [5], stats: [max, min]}
)"),
                 "output column PRICE_MAX_5 clashes with an input field"));
  CHECK(contains(load_errors(R"(tickflow: 1
nodes:
  t: {ep: generate, count: 10}
  roll: {ep: rolling_stats, in: t, field: PRICE}
)"),
                 "rolling_stats needs windows"));
}
