// In-process costs of the statistics service's store (server/series.hpp), the numbers behind
// `tickflow serve` without HTTP: appending 10,000-value batches (ns per value) to a symbol
// that holds HELD values, and the stats of each k right after a push (the O(log n) merge) and
// again (the cached result). Also parsing a 10,000-value JSON body (simdjson) per value.
//
//   serve_bench [HELD...]      default: 1000000 100000000
//
// HELD is a power of ten: the symbol runs with max_k = log10(HELD), full, so that every
// append also drops old values (the steady state of a busy symbol).
// Prints one Markdown table row per measurement; medians of 5 repetitions.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "api.hpp"
#include "series.hpp"

using namespace tickflow::server;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ns_since(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

volatile double sink;

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint64_t> helds;
  for (int i = 1; i < argc; ++i) helds.push_back(std::strtoull(argv[i], nullptr, 10));
  if (helds.empty()) helds = {1'000'000, 100'000'000};
  constexpr size_t kBatch = 10'000;
  constexpr int kReps = 5;
  std::mt19937_64 random(42);
  std::normal_distribution<double> price(100.0, 3.0);
  std::vector<std::vector<double>> batches(16, std::vector<double>(kBatch));
  for (auto& batch : batches)
    for (auto& x : batch) x = price(random);

  std::printf("| measurement | values held | ns |\n|---|---:|---:|\n");
  // Parsing a 10k-value body.
  {
    std::string body = R"({"symbol": "ABC", "values": [)";
    for (size_t i = 0; i < kBatch; ++i) {
      if (i) body += ", ";
      append_json_number(body, batches[0][i]);
    }
    body += "]}";
    std::vector<double> per_value;
    AddBatch parsed;
    for (int rep = 0; rep < kReps; ++rep) {
      const auto start = Clock::now();
      for (int i = 0; i < 20; ++i) parse_add_batch(body, Limits{}, parsed);
      per_value.push_back(ns_since(start) / (20.0 * kBatch));
    }
    std::printf("| parse a 10k-value JSON body (%zu bytes), per value | - | %.2f |\n", body.size(),
                median(per_value));
  }
  for (const uint64_t held : helds) {
    // A symbol of max_k = log10(held), full: appends drop as many old values as they add.
    int max_k = 1;
    while (power_of_ten(max_k) < held && max_k < 9) ++max_k;
    Series series(max_k);
    // Fill to `held` values (not timed beyond the append measurement below).
    const auto fill_start = Clock::now();
    for (uint64_t n = 0; n < held; n += kBatch) series.append(batches[(n / kBatch) % 16]);
    const double fill_ns = ns_since(fill_start) / static_cast<double>(held);
    std::vector<double> append_ns;
    for (int rep = 0; rep < kReps; ++rep) {
      const auto start = Clock::now();
      for (int i = 0; i < 100; ++i) series.append(batches[i % 16]);
      append_ns.push_back(ns_since(start) / (100.0 * kBatch));
    }
    std::printf("| append 10k-value batches, per value (filling: %.2f) | %llu | %.2f |\n", fill_ns,
                static_cast<unsigned long long>(held), median(append_ns));
    for (int k = 1; k <= max_k; ++k) {
      std::vector<double> fresh, cached;
      for (int rep = 0; rep < kReps; ++rep) {
        double total_fresh = 0, total_cached = 0;
        for (int i = 0; i < 20; ++i) {
          series.append(std::span<const double>(batches[i % 16]).first(1));
          auto start = Clock::now();
          sink = series.stats(k).mean;
          total_fresh += ns_since(start);
          start = Clock::now();
          sink = series.stats(k).mean;
          total_cached += ns_since(start);
        }
        fresh.push_back(total_fresh / 20);
        cached.push_back(total_cached / 20);
      }
      std::printf("| stats k=%d after a push (cached: %.0f ns) | %llu | %.0f |\n", k,
                  median(cached), static_cast<unsigned long long>(series.held()), median(fresh));
    }
    std::printf("| memory of the symbol, bytes per held value | %llu | %.2f |\n",
                static_cast<unsigned long long>(series.held()),
                static_cast<double>(series.memory_bytes()) / static_cast<double>(series.held()));
  }
  return 0;
}
