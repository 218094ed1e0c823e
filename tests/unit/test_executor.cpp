// The planner and executor, driven through the public API with test-only EPs that
// need what the built-ins of this stage do not: two inputs (fan-in across segments)
// and unbounded accumulation (a segment of its own).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "builtin.hpp"
#include "tickflow/query.hpp"
#include "tickflow/run.hpp"

using namespace tickflow;

namespace {

// Time-ordered union of two inputs with the same schema; ties go to input 0 first.
class InterleaveOperator : public Operator {
 public:
  explicit InterleaveOperator(SchemaPtr schema)
      : schema_(schema), pending_{Batch(schema), Batch(schema)} {}
  void process(size_t input, Batch&& batch, OutputSink& out) override {
    pending_[input].append_rows(batch, 0, batch.size());
    release(out);
  }
  void input_finished(size_t input, OutputSink& out) override {
    done_[input] = true;
    release(out);
  }
  Held held() const override {
    return {static_cast<int64_t>(pending_[0].size() - pos_[0] + pending_[1].size() - pos_[1]), 0};
  }

 private:
  void release(OutputSink& out) {
    Batch result(schema_);
    while (true) {
      bool has0 = pos_[0] < pending_[0].size(), has1 = pos_[1] < pending_[1].size();
      size_t pick;
      if (has0 && has1) {
        pick = pending_[1].times[pos_[1]] < pending_[0].times[pos_[0]] ? 1 : 0;
      } else if (has0 && done_[1]) {
        pick = 0;
      } else if (has1 && done_[0]) {
        pick = 1;
      } else {
        break;
      }
      result.append_row(pending_[pick], pos_[pick]++);
    }
    for (int i = 0; i < 2; ++i) {
      if (pos_[i] == pending_[i].size()) {
        pending_[i].clear();
        pos_[i] = 0;
      }
    }
    out.emit(0, std::move(result));
  }
  SchemaPtr schema_;
  Batch pending_[2];
  size_t pos_[2] = {0, 0};
  bool done_[2] = {false, false};
};

// Holds everything, then emits it sorted by one int field descending (stable).
class SortOperator : public Operator {
 public:
  SortOperator(SchemaPtr schema, size_t field) : all_(schema), field_(field) {}
  void process(size_t, Batch&& batch, OutputSink&) override {
    all_.append_rows(batch, 0, batch.size());
  }
  void finish(OutputSink& out) override {
    std::vector<size_t> order(all_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto& key = all_.columns[field_].ints();
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return key[a] > key[b]; });
    Batch sorted(all_.schema);
    for (size_t i : order) sorted.append_row(all_, i);
    all_.clear();
    out.emit(0, std::move(sorted));
  }
  Held held() const override {
    return {static_cast<int64_t>(all_.size()), static_cast<int64_t>(all_.bytes())};
  }

 private:
  Batch all_;
  size_t field_;
};

class FailingOperator : public Operator {
 public:
  void process(size_t, Batch&& batch, OutputSink& out) override {
    for (int64_t t : batch.times) {
      if (t >= 5'000'000) {
        RuntimeError e("tick rejected on purpose");
        e.tick_time = t;
        throw e;
      }
    }
    out.emit(0, std::move(batch));
  }
};

Registry test_registry() {
  Registry r;
  eps::register_builtins(r);
  r.add({.name = "interleave",
         .doc = "test: time-ordered union of two inputs",
         .inputs = {"a", "b"},
         .variadic_inputs = false,
         .outputs = {"out"},
         .params = {},
         .accumulation = "bounded",
         .bind = [](BindContext& ctx) -> OperatorFactory {
           SchemaPtr schema = ctx.input(0).schema;
           if (!(*schema == *ctx.input(1).schema)) ctx.error(ctx.node_location(), "schemas differ");
           ctx.set_output(0, schema);
           ctx.set_accumulation(Accumulation::bounded("until both inputs pass a time"));
           return
               [schema](const RunContext&) { return std::make_unique<InterleaveOperator>(schema); };
         },
         .source = {}});
  r.add({.name = "sort_desc",
         .doc = "test: sort by an int field, descending",
         .inputs = {"in"},
         .variadic_inputs = false,
         .outputs = {"out"},
         .params = {{.name = "by", .type = ParamType::Field, .required = true, .doc = "field"}},
         .accumulation = "unbounded",
         .bind = [](BindContext& ctx) -> OperatorFactory {
           auto field = ctx.require_field(0, ctx.get_string("by"), ctx.location("by"));
           if (!field) return {};
           SchemaPtr schema = ctx.input(0).schema;
           ctx.set_output(0, schema, false);
           ctx.set_accumulation(Accumulation::unbounded());
           size_t f = *field;
           return
               [schema, f](const RunContext&) { return std::make_unique<SortOperator>(schema, f); };
         },
         .source = {}});
  r.add({.name = "fail_late",
         .doc = "test: fails on a tick at or after 5ms",
         .inputs = {"in"},
         .variadic_inputs = false,
         .outputs = {"out"},
         .params = {},
         .accumulation = "none",
         .bind = [](BindContext& ctx) -> OperatorFactory {
           ctx.set_output(0, ctx.input(0).schema);
           return [](const RunContext&) { return std::make_unique<FailingOperator>(); };
         },
         .source = {}});
  return r;
}

struct Output {
  std::vector<int64_t> times;
  std::vector<int64_t> values;
};

std::pair<Output, RunResult> run_text(const std::string& yaml, size_t threads, size_t batch,
                                      std::optional<int64_t> max_held = std::nullopt,
                                      bool one_thread = false) {
  static Registry registry = test_registry();
  Diagnostics diags;
  auto query = load_query_text(yaml, "test.yaml", registry, {}, diags);
  for (const auto& d : diags.items()) MESSAGE(d.to_string());
  REQUIRE(query);
  REQUIRE(query->outputs.size() == 1);
  Output output;
  std::vector<OutputTap> taps{{query->outputs[0].node, query->outputs[0].port,
                               [&](const Batch& b) {
                                 output.times.insert(output.times.end(), b.times.begin(),
                                                     b.times.end());
                                 const auto& v = b.columns[0].ints();
                                 output.values.insert(output.values.end(), v.begin(), v.end());
                               },
                               nullptr}};
  RunOptions options;
  options.threads = threads;
  options.batch_size = batch;
  options.max_accumulated_ticks = max_held;
  options.one_thread = one_thread;
  Plan plan = plan_query(*query);
  RunResult result = run_query(*query, plan, options, taps);
  return {std::move(output), std::move(result)};
}

std::string rows(int first, int count, int step_ms, int value_base) {
  std::string out = "[";
  for (int i = 0; i < count; ++i) {
    out += (i ? ", " : "") + std::string("{TIMESTAMP: ") +
           std::to_string((first + i * step_ms) * 1'000'000) +
           ", V: " + std::to_string(value_base + (i * 7) % 13) + "}";
  }
  return out + "]";
}

const std::string kFanIn = R"(tickflow: 1
nodes:
  a: {ep: ticks, rows: )" + rows(0, 200, 2, 0) +
                           R"(}
  b: {ep: ticks, rows: )" + rows(1, 150, 3, 100) +
                           R"(}
  both: {ep: interleave, in: [a, b]}
  sorted: {ep: sort_desc, in: both, by: V}
  top: {ep: head, in: sorted, n: 50}
)";

}  // namespace

TEST_CASE("planner cuts segments at sources, fan-in and unbounded accumulation") {
  Registry registry = test_registry();
  Diagnostics diags;
  auto query = load_query_text(kFanIn, "test.yaml", registry, {}, diags);
  REQUIRE(query);
  Plan plan = plan_query(*query);
  // a | b | both | sorted+top
  CHECK(plan.segments.size() == 4);
  CHECK(plan.segment_of[query->nodes.size() - 1] == plan.segment_of[query->nodes.size() - 2]);
}

TEST_CASE("output is identical for every thread count and batch size") {
  auto [reference, ref_result] = run_text(kFanIn, 1, 4096);
  REQUIRE_FALSE(ref_result.error);
  REQUIRE(reference.values.size() == 50);
  // The expected values: every V of both inputs, stable-sorted descending, first 50.
  CHECK(reference.values.front() == 112);
  CHECK(std::is_sorted(reference.values.rbegin(), reference.values.rend()));
  for (size_t threads : {1, 2, 4}) {
    for (size_t batch : {1, 3, 7, 64, 4096}) {
      auto [out, result] = run_text(kFanIn, threads, batch);
      CAPTURE(threads);
      CAPTURE(batch);
      REQUIRE_FALSE(result.error);
      CHECK(out.times == reference.times);
      CHECK(out.values == reference.values);
    }
  }
  // The same graph by direct calls on one thread (as symbol runs do when every worker has a
  // symbol of its own).
  for (size_t batch : {1, 7, 4096}) {
    auto [out, result] = run_text(kFanIn, 1, batch, std::nullopt, /*one_thread=*/true);
    CAPTURE(batch);
    REQUIRE_FALSE(result.error);
    CHECK(out.times == reference.times);
    CHECK(out.values == reference.values);
    // Sources interleaved by time keep the fan-in node from holding more than a few ticks.
    CHECK(result.stats[2].peak_ticks_held <= static_cast<int64_t>(2 * batch + 2));
  }
}

TEST_CASE("stats count ticks in and out and the peak held by an accumulator") {
  auto [out, result] = run_text(kFanIn, 2, 16);
  REQUIRE_FALSE(result.error);
  // nodes in topological order: a, b, both, sorted, top
  CHECK(result.stats[0].ticks_out == 200);
  CHECK(result.stats[1].ticks_out == 150);
  CHECK(result.stats[2].ticks_in == 350);
  CHECK(result.stats[2].ticks_out == 350);
  CHECK(result.stats[3].peak_ticks_held == 350);
  CHECK(result.stats[3].peak_bytes_held > 0);
  CHECK(result.stats[4].ticks_out == 50);
}

TEST_CASE("--max-accumulated-ticks stops the run naming the node") {
  // interleave may hold up to one whole input (200 ticks) depending on scheduling; sort holds 350.
  auto [out, result] = run_text(kFanIn, 2, 16, 250);
  REQUIRE(result.error);
  CHECK(result.error->node == "sorted");
  CHECK(result.error->describe().find("more than --max-accumulated-ticks 250") !=
        std::string::npos);
}

TEST_CASE("an exception in an operator becomes an error naming node and tick time") {
  const std::string yaml = R"(tickflow: 1
nodes:
  a: {ep: ticks, rows: )" + rows(0, 20, 1, 0) +
                           R"(}
  f: {ep: fail_late, in: a}
)";
  for (size_t threads : {1, 2}) {
    auto [out, result] = run_text(yaml, threads, 3);
    REQUIRE(result.error);
    CHECK(result.error->node == "f");
    CHECK(result.error->describe().find("test.yaml:4:") != std::string::npos);
    CHECK(result.error->describe().find("1970-01-01 00:00:00.005000000") != std::string::npos);
  }
}

TEST_CASE("downstream finished: a head stops its sources, with the same output") {
  // Ten million ticks through a merge; the head wants 3. Without the stop every run would
  // generate all of them (stats show what the sources produced).
  const std::string yaml = R"(tickflow: 1
nodes:
  a: {ep: generate, count: 10000000, seed: 1}
  b: {ep: generate, count: 10000000, seed: 2}
  m: {ep: merge, in: [a, b]}
  h: {ep: head, in: m, n: 3}
  k: {ep: keep, in: h, fields: [SIZE]}
)";
  auto [reference, ref_result] = run_text(yaml, 1, 4096);
  REQUIRE_FALSE(ref_result.error);
  REQUIRE(reference.values.size() == 3);
  for (size_t threads : {1, 2}) {
    for (size_t batch : {1, 7, 4096}) {
      for (bool one_thread : {false, true}) {
        CAPTURE(threads);
        CAPTURE(batch);
        CAPTURE(one_thread);
        auto [out, result] = run_text(yaml, threads, batch, std::nullopt, one_thread);
        REQUIRE_FALSE(result.error);
        CHECK(out.times == reference.times);
        CHECK(out.values == reference.values);
        // A few batches in flight at most, far from the 10M each source could give.
        CHECK(result.stats[0].ticks_out < 100000);
        CHECK(result.stats[1].ticks_out < 100000);
      }
    }
  }
}
