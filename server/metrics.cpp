#include "metrics.hpp"

#include <fmt/format.h>

#include <vector>

namespace tickflow::server {

void Metrics::record_response(std::string_view route, int status,
                              std::chrono::steady_clock::duration elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  std::lock_guard lock(mutex_);
  auto found = requests_.find(route);
  if (found == requests_.end())
    found = requests_.emplace(std::string(route), std::map<int, uint64_t>{}).first;
  ++found->second[status];
  ++histogram_[bucket];
  latency_sum_ += seconds;
  ++latency_count_;
}

std::string Metrics::render(const std::vector<std::pair<std::string, double>>& gauges) const {
  std::string out;
  auto to = std::back_inserter(out);
  std::lock_guard lock(mutex_);
  out +=
      "# HELP tickflow_http_requests_total HTTP requests answered, by route and status.\n"
      "# TYPE tickflow_http_requests_total counter\n";
  for (const auto& [route, by_status] : requests_) {
    for (const auto& [status, count] : by_status) {
      fmt::format_to(to, "tickflow_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", route,
                     status, count);
    }
  }
  out +=
      "# HELP tickflow_http_request_duration_seconds Time from request to response.\n"
      "# TYPE tickflow_http_request_duration_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += histogram_[i];
    fmt::format_to(to, "tickflow_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                   kBuckets[i], cumulative);
  }
  cumulative += histogram_.back();
  fmt::format_to(to, "tickflow_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n",
                 cumulative);
  fmt::format_to(to, "tickflow_http_request_duration_seconds_sum {}\n", latency_sum_);
  fmt::format_to(to, "tickflow_http_request_duration_seconds_count {}\n", latency_count_);
  fmt::format_to(to,
                 "# HELP tickflow_values_ingested_total Values accepted by POST /add_batch/.\n"
                 "# TYPE tickflow_values_ingested_total counter\n"
                 "tickflow_values_ingested_total {}\n",
                 values_ingested_.load(std::memory_order_relaxed));
  for (const auto& [name_and_help, value] : gauges) {
    const auto space = name_and_help.find(' ');
    const std::string name = name_and_help.substr(0, space);
    const std::string help = space == std::string::npos ? "" : name_and_help.substr(space + 1);
    fmt::format_to(to, "# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, value);
  }
  return out;
}

}  // namespace tickflow::server
