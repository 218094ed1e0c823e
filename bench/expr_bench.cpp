// Expression benchmark (docs/performance.md, "Expressions"):
//
//   generate -> add_field {N: PRICE * SIZE, M: if(SIZE > 500, N / 2, N)} -> where N > 1000
//
// over the same generated columns, timed three ways in one process:
//   1. a hand-written C++ loop doing the same arithmetic and the same filtering into
//      output columns, batch by batch;
//   2. tickflow's add_field and where operators (as the query binds them) called directly
//      on the same batches, already in memory — the expression evaluation alone;
//   3. the whole graph through the executor on one thread (generating included).
// It also writes the PRICE and SIZE columns as raw arrays for the pandas baseline
// (bench/expr_pandas.py), so that all three see identical data.
//
//   expr_bench [TICKS] [DATA_DIR]      (defaults: 10000000, no data written)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "tickflow/query.hpp"
#include "tickflow/run.hpp"

using namespace tickflow;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kRepeats = 5;

std::string graph(int64_t ticks, bool with_exprs) {
  std::string text = R"(tickflow: 1
nodes:
  trades:
    ep: generate
    count: )" + std::to_string(ticks) +
                     R"(
    seed: 7
  cols:
    ep: keep
    in: trades
    fields: [PRICE, SIZE]
)";
  if (with_exprs) {
    text += R"(  calc:
    ep: add_field
    in: cols
    set:
      N: PRICE * SIZE
      M: if(SIZE > 500, N / 2, N)
  big:
    ep: where
    in: calc
    if: N > 1000
output: big
)";
  } else {
    text += "output: cols\n";
  }
  return text;
}

std::unique_ptr<Query> load(const std::string& text, const Registry& registry) {
  Diagnostics diags;
  auto query = load_query_text(text, "expr_bench.yaml", registry, {}, diags);
  if (!query) {
    for (const auto& d : diags.items()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    std::exit(2);
  }
  return query;
}

// The generated ticks, kept as the batches the source emitted.
std::vector<Batch> generate_batches(const Registry& registry, int64_t ticks) {
  auto query = load(graph(ticks, false), registry);
  std::vector<Batch> batches;
  std::vector<OutputTap> taps{{query->outputs[0].node, query->outputs[0].port,
                               [&](const Batch& b) { batches.push_back(b); }, nullptr}};
  RunOptions options;
  Plan plan = plan_query(*query);
  RunResult result = run_query(*query, plan, options, taps);
  if (result.error) {
    std::fprintf(stderr, "%s\n", result.error->describe().c_str());
    std::exit(1);
  }
  return batches;
}

// What both contenders must produce: the passing ticks, checked by count and a checksum.
struct Result {
  int64_t passed = 0;
  double checksum = 0;
  bool operator==(const Result&) const = default;
};

// The same computation written by hand: one fused pass per batch, writing the passing
// ticks into output columns (reused between batches: the best case for the loop).
double hand_loop_seconds(const std::vector<Batch>& batches, Result& result) {
  std::vector<int64_t> times, size;
  std::vector<double> price, n_out, m_out;
  result = {};
  auto start = Clock::now();
  for (const Batch& b : batches) {
    const size_t rows = b.size();
    const double* p = b.columns[0].doubles().data();
    const int64_t* s = b.columns[1].ints().data();
    times.clear(), size.clear(), price.clear(), n_out.clear(), m_out.clear();
    for (size_t i = 0; i < rows; ++i) {
      const double n = p[i] * static_cast<double>(s[i]);
      const double m = s[i] > 500 ? n / 2 : n;
      if (n > 1000) {
        times.push_back(b.times[i]);
        price.push_back(p[i]);
        size.push_back(s[i]);
        n_out.push_back(n);
        m_out.push_back(m);
      }
    }
    result.passed += static_cast<int64_t>(n_out.size());
    if (!m_out.empty()) result.checksum += m_out.back();
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Calls `next` for every batch emitted on port 0.
struct ForwardSink : OutputSink {
  std::function<void(Batch&&)> next;
  void emit(size_t port, Batch&& batch) override {
    if (port == 0) next(std::move(batch));
  }
};

// tickflow's add_field and where operators, created by the bound query and called
// directly on copies of the same batches (the copies are made before timing starts).
double operators_seconds(const Registry& registry, int64_t ticks, const std::vector<Batch>& batches,
                         Result& result) {
  auto query = load(graph(ticks, true), registry);
  RunContext run;
  run.query = &query->info;
  run.node_id = "calc";
  auto add_field = query->find("calc")->factory(run);
  run.node_id = "big";
  auto where = query->find("big")->factory(run);
  std::vector<Batch> input = batches;
  result = {};
  ForwardSink to_where, to_result;
  to_result.next = [&](Batch&& b) {
    result.passed += static_cast<int64_t>(b.size());
    result.checksum += b.columns[3].doubles().back();
  };
  to_where.next = [&](Batch&& b) { where->process(0, std::move(b), to_result); };
  auto start = Clock::now();
  for (Batch& b : input) add_field->process(0, std::move(b), to_where);
  add_field->finish(to_where);
  where->finish(to_result);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The whole graph through the executor (ticks generated as it runs), on one thread.
double engine_run_seconds(const Registry& registry, int64_t ticks) {
  auto query = load(graph(ticks, true), registry);
  std::vector<OutputTap> taps{
      {query->outputs[0].node, query->outputs[0].port, [](const Batch&) {}, nullptr}};
  RunOptions options;
  Plan plan = plan_query(*query);
  auto start = Clock::now();
  RunResult result = run_query(*query, plan, options, taps);
  if (result.error) {
    std::fprintf(stderr, "%s\n", result.error->describe().c_str());
    std::exit(1);
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

template <class T>
void write_raw(const std::string& path, const std::vector<T>& values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(T)));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t ticks = argc > 1 ? std::stoll(argv[1]) : 10'000'000;
  Registry registry;
  eps::register_builtins(registry);

  const std::vector<Batch> batches = generate_batches(registry, ticks);
  if (argc > 2) {
    std::vector<double> price;
    std::vector<int64_t> size;
    for (const Batch& b : batches) {
      price.insert(price.end(), b.columns[0].doubles().begin(), b.columns[0].doubles().end());
      size.insert(size.end(), b.columns[1].ints().begin(), b.columns[1].ints().end());
    }
    write_raw(std::string(argv[2]) + "/price.f64", price);
    write_raw(std::string(argv[2]) + "/size.i64", size);
  }

  std::vector<double> hand, operators, whole;
  Result hand_result, tickflow_result;
  for (int r = 0; r < kRepeats; ++r) {
    hand.push_back(hand_loop_seconds(batches, hand_result));
    operators.push_back(operators_seconds(registry, ticks, batches, tickflow_result));
    whole.push_back(engine_run_seconds(registry, ticks));
  }
  if (!(hand_result == tickflow_result)) {
    std::fprintf(stderr,
                 "mismatch: tickflow passed %lld ticks (checksum %.17g), the loop %lld (%.17g)\n",
                 static_cast<long long>(tickflow_result.passed), tickflow_result.checksum,
                 static_cast<long long>(hand_result.passed), hand_result.checksum);
    return 1;
  }
  const double n = static_cast<double>(ticks);
  auto ns = [&](double seconds) { return seconds * 1e9 / n; };
  std::printf("ticks %lld, passing N > 1000: %lld, batches of %zu (median of %d runs)\n",
              static_cast<long long>(ticks), static_cast<long long>(hand_result.passed),
              batches.empty() ? size_t{0} : batches[0].size(), kRepeats);
  std::printf("hand_loop_ns_per_tick %.2f\n", ns(median(hand)));
  std::printf("tickflow_operators_ns_per_tick %.2f\n", ns(median(operators)));
  std::printf("tickflow_executor_run_ns_per_tick %.2f\n", ns(median(whole)));
  std::printf("ratio_operators_to_hand_loop %.2f\n", median(operators) / median(hand));
  return 0;
}
