// The aggregation functions that keep their values: median, percentile and distinct_count
// (contract in aggregate_functions.hpp).
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "aggregate/aggregate_functions.hpp"
#include "tickflow/group_keys.hpp"

namespace tickflow::eps::agg {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------- median, percentile

class PercentileState final : public AggState {
 public:
  PercentileState(size_t column, double p, Feed feed) : column_(column), p_(p), feed_(feed) {}
  void resize(size_t groups) override { groups_.resize(groups); }
  void add(const Batch& batch, size_t begin, size_t end, const uint32_t* groups) override {
    for_numeric(batch.columns[column_], begin, end, [&](size_t r, double x) {
      Values& v = groups_[groups[r]];
      if (feed_ == Feed::Sliding) v.arrivals.push_back(x);
      if (std::isnan(x)) {
        ++v.nan_count;
      } else if (feed_ == Feed::Bucket) {
        // Sorted once when the bucket closes.
        v.sorted.push_back(x);
        v.is_sorted = false;
      } else {
        v.sorted.insert(std::upper_bound(v.sorted.begin(), v.sorted.end(), x), x);
      }
    });
  }
  void write(uint32_t group, Column& out) override {
    Values& v = groups_[group];
    if (v.nan_count > 0 || v.sorted.empty()) {
      out.doubles().push_back(kNaN);
      return;
    }
    if (!v.is_sorted) {
      std::sort(v.sorted.begin(), v.sorted.end());
      v.is_sorted = true;
    }
    // Linear interpolation between the closest ranks: rank h = p * (n - 1).
    const size_t n = v.sorted.size();
    const double h = p_ * static_cast<double>(n - 1);
    const size_t low = std::min(static_cast<size_t>(std::floor(h)), n - 1);
    const double fraction = h - static_cast<double>(low);
    double result = v.sorted[low];
    if (fraction > 0.0 && low + 1 < n) result += fraction * (v.sorted[low + 1] - v.sorted[low]);
    out.doubles().push_back(result);
  }
  void reset(uint32_t group) override {
    Values& v = groups_[group];
    v.sorted.clear();
    v.arrivals.clear();
    v.nan_count = 0;
    v.is_sorted = true;
  }
  void remove_oldest(uint32_t group) override {
    Values& v = groups_[group];
    const double x = v.arrivals.front();
    v.arrivals.pop_front();
    if (std::isnan(x)) {
      --v.nan_count;
    } else {
      v.sorted.erase(std::lower_bound(v.sorted.begin(), v.sorted.end(), x));
    }
  }

 private:
  struct Values {
    std::vector<double> sorted;   // the non-NaN values (unsorted until write when !is_sorted)
    std::deque<double> arrivals;  // sliding windows: every value in arrival order
    int64_t nan_count = 0;
    bool is_sorted = true;
  };
  size_t column_;
  double p_;
  Feed feed_;
  std::vector<Values> groups_;
};

// ---------------------------------------------------------------- distinct_count

class DistinctState final : public AggState {
 public:
  DistinctState(size_t column, bool sliding) : column_(column), sliding_(sliding) {}
  void resize(size_t groups) override { groups_.resize(groups); }
  void add(const Batch& batch, size_t begin, size_t end, const uint32_t* groups) override {
    const Column& column = batch.columns[column_];
    for (size_t r = begin; r < end; ++r) {
      Values& v = groups_[groups[r]];
      std::string key = encode(column, r);
      ++v.counts[key];
      if (sliding_) v.arrivals.push_back(std::move(key));
    }
  }
  void write(uint32_t group, Column& out) override {
    out.ints().push_back(static_cast<int64_t>(groups_[group].counts.size()));
  }
  void reset(uint32_t group) override { groups_[group] = Values{}; }
  void remove_oldest(uint32_t group) override {
    Values& v = groups_[group];
    auto it = v.counts.find(v.arrivals.front());
    if (--it->second == 0) v.counts.erase(it);
    v.arrivals.pop_front();
  }

 private:
  // encode_value's rules: every NaN is one value, and -0.0 equals 0.0.
  static std::string encode(const Column& column, size_t row) {
    std::string key;
    encode_value(column, row, key);
    return key;
  }

  struct Values {
    std::unordered_map<std::string, int64_t> counts;
    std::deque<std::string> arrivals;
  };
  size_t column_;
  bool sliding_;
  std::vector<Values> groups_;
};

}  // namespace

std::unique_ptr<AggState> make_percentile_state(size_t column, double p, Feed feed) {
  return std::make_unique<PercentileState>(column, p, feed);
}

std::unique_ptr<AggState> make_distinct_state(size_t column, bool sliding) {
  return std::make_unique<DistinctState>(column, sliding);
}

}  // namespace tickflow::eps::agg
