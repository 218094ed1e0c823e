// The power tree as a service (docs/performance.md, "rolling_stats (issue 4)"): a tree of
// capacity C takes batches of 10,000 values; after each batch it is asked for the
// statistics of the last 10^k values, k = 1..8 (those that fit). Prints ns per appended
// value, ns per query for each k (mean and worst), and the tree's own bytes. Peak memory
// of the process: run it under `/usr/bin/time -v` (Maximum resident set size).
//
//   power_tree_bench [CAPACITY] [VALUES]    (defaults: 10^8, CAPACITY + 10^7)
//
// The values are a random walk (a price), generated before the clock starts.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "tickflow/power_tree.hpp"

using tickflow::PowerTree;
using tickflow::WindowStats;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kBatch = 10'000;

double ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t capacity = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000'000;
  const uint64_t total = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : capacity + 10'000'000;

  // One batch of steps, replayed with a running level: the walk never repeats exactly, and
  // generating it costs no memory beyond a batch.
  std::mt19937_64 rng(42);
  std::normal_distribution<double> step(0.0, 0.01);
  std::vector<double> steps(kBatch), batch(kBatch);
  for (double& s : steps) s = step(rng);

  PowerTree tree(capacity);
  std::vector<uint64_t> windows;
  for (uint64_t w = 10; w <= capacity && windows.size() < 8; w *= 10) windows.push_back(w);
  std::vector<double> query_ns(windows.size(), 0.0), worst_ns(windows.size(), 0.0);
  std::vector<uint64_t> queries(windows.size(), 0);
  // Appends while the rings still grow (first touch of their memory, copies on growth) and
  // once the tree is full (the steady state of a service) are reported apart.
  double append_ns = 0.0, full_ns = 0.0, checksum = 0.0, level = 100.0;
  uint64_t appended = 0, appended_full = 0;

  while (appended < total) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kBatch, total - appended));
    for (size_t i = 0; i < n; ++i) batch[i] = level += steps[(i + appended / kBatch) % kBatch];
    const auto t0 = Clock::now();
    tree.append(std::span<const double>(batch.data(), n));
    const double ns = ns_between(t0, Clock::now());
    append_ns += ns;
    if (appended >= capacity) {
      full_ns += ns;
      appended_full += n;
    }
    appended += n;
    for (size_t k = 0; k < windows.size(); ++k) {
      if (windows[k] > tree.size()) break;
      const auto q0 = Clock::now();
      const WindowStats stats = tree.last(windows[k]);
      const double ns = ns_between(q0, Clock::now());
      checksum += stats.variance() + stats.max;
      query_ns[k] += ns;
      worst_ns[k] = std::max(worst_ns[k], ns);
      ++queries[k];
    }
  }

  std::printf("capacity %" PRIu64 ", %" PRIu64 " values in batches of %zu (base %u)\n\n", capacity,
              appended, kBatch, tree.base());
  std::printf("| operation | ns (mean) | ns (worst) | count |\n|---|---:|---:|---:|\n");
  std::printf("| append, per value, all | %.2f | | %" PRIu64 " |\n", append_ns / appended,
              appended);
  if (appended_full > 0) {
    std::printf("| append, per value, tree full | %.2f | | %" PRIu64 " |\n",
                full_ns / appended_full, appended_full);
  }
  for (size_t k = 0; k < windows.size(); ++k) {
    if (queries[k] == 0) continue;
    std::printf("| query last 10^%zu | %.0f | %.0f | %" PRIu64 " |\n", k + 1,
                query_ns[k] / queries[k], worst_ns[k], queries[k]);
  }
  std::printf("\ntree bytes: %" PRId64 " (%.2f per retained value)\n", tree.memory_bytes(),
              static_cast<double>(tree.memory_bytes()) /
                  static_cast<double>(std::min<uint64_t>(capacity, appended)));
  std::printf("(checksum %g)\n", checksum);
  return 0;
}
