// Counters of `tickflow serve` for GET /metrics, in the Prometheus text format:
// requests by route and status, request latency histogram, values ingested; gauges
// (symbols, values held) are read from the store when the page is written.
// Thread-safe: responses from every thread record here.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickflow::server {

class Metrics {
 public:
  void record_response(std::string_view route, int status,
                       std::chrono::steady_clock::duration elapsed);
  void add_values_ingested(uint64_t n) { values_ingested_.fetch_add(n, std::memory_order_relaxed); }

  // The exposition text; `gauges` are (name with help, value) pairs appended as gauges.
  std::string render(const std::vector<std::pair<std::string, double>>& gauges) const;

  // Upper bounds of the latency histogram's buckets, in seconds.
  static constexpr std::array<double, 14> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

 private:
  mutable std::mutex mutex_;
  // route -> status -> count; looked up by string_view, so counting allocates nothing.
  std::map<std::string, std::map<int, uint64_t>, std::less<>> requests_;
  std::array<uint64_t, kBuckets.size() + 1> histogram_{};  // last: +Inf
  double latency_sum_ = 0.0;
  uint64_t latency_count_ = 0;
  std::atomic<uint64_t> values_ingested_{0};
};

}  // namespace tickflow::server
