#include "series.hpp"

#include <algorithm>
#include <stdexcept>

namespace tickflow::server {

uint64_t power_of_ten(int k) {
  if (k < 0 || k > 18) throw std::out_of_range("power_of_ten: k outside 0..18");
  uint64_t result = 1;
  for (int i = 0; i < k; ++i) result *= 10;
  return result;
}

Series::Series(int max_k)
    : max_k_(max_k), tree_(power_of_ten(max_k), 10), cache_(static_cast<size_t>(max_k)) {}

void Series::append(std::span<const double> values) {
  tree_.append(values);
  std::fill(cache_.begin(), cache_.end(), std::nullopt);
}

uint64_t Series::held() const {
  return std::min(tree_.size(), tree_.capacity());
}

const WindowStats& Series::stats(int k) {
  if (k < 1 || k > max_k_) throw std::out_of_range("Series::stats: k outside 1..max_k");
  auto& cached = cache_[static_cast<size_t>(k - 1)];
  if (!cached) cached = tree_.last(std::min(power_of_ten(k), held()));
  return *cached;
}

}  // namespace tickflow::server
