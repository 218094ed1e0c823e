// twap(X): the time-weighted average of X over a time bucket (OneTick's TW_AVERAGE).
//
// Each value counts for the time it was the latest one inside the bucket [start, end): from
// its tick (or the bucket start, for a value carried in from before the bucket) to the next
// tick of its group (or the bucket end). The value a group had when a bucket starts is
// carried from its last tick before it, however many buckets ago; a group with no tick yet
// has no value, so its first bucket's average starts at its first tick. A bucket in which a
// group had a value for no time at all (none yet) is NaN. A NaN value makes the buckets it
// counts in NaN.
#include <algorithm>
#include <limits>
#include <memory>
#include <vector>

#include "aggregate/aggregate_functions.hpp"

namespace tickflow::eps::agg {
namespace {

class TwapState final : public AggState {
 public:
  explicit TwapState(size_t column) : column_(column) {}

  void resize(size_t groups) override { groups_.resize(groups); }

  void set_bucket(int64_t start, int64_t end) override {
    start_ = start;
    end_ = end;
  }

  void add(const Batch& batch, size_t begin, size_t end, const uint32_t* groups) override {
    for_numeric(batch.columns[column_], begin, end, [&](size_t r, double value) {
      Group& g = groups_[groups[r]];
      const int64_t t = batch.times[r];
      if (g.has_value) g.count_until(t, start_);
      g.value = value;
      g.since = t;
      g.has_value = true;
    });
  }

  void write(uint32_t group, Column& out) override {
    Group g = groups_[group];  // the bucket's tail is added to a copy: write() may repeat
    if (g.has_value) g.count_until(end_, start_);
    out.doubles().push_back(g.weight > 0 ? g.sum.divided_by(static_cast<double>(g.weight))
                                         : std::numeric_limits<double>::quiet_NaN());
  }

  void reset(uint32_t group) override {
    Group& g = groups_[group];
    g.sum = CompensatedSum{};
    g.weight = 0;
  }

 private:
  struct Group {
    double value = 0.0;  // the latest value, carried across buckets
    int64_t since = 0;   // its tick's time
    bool has_value = false;
    CompensatedSum sum;  // value x nanoseconds in the current bucket
    int64_t weight = 0;  // nanoseconds counted in the current bucket

    // Counts `value` from max(since, bucket_start) to t.
    void count_until(int64_t t, int64_t bucket_start) {
      const int64_t from = std::max(since, bucket_start);
      if (t <= from) return;
      int64_t span;
      if (__builtin_sub_overflow(t, from, &span)) span = std::numeric_limits<int64_t>::max();
      sum.add_product(value, static_cast<double>(span));
      if (__builtin_add_overflow(weight, span, &weight))
        weight = std::numeric_limits<int64_t>::max();
    }
  };

  size_t column_;
  int64_t start_ = std::numeric_limits<int64_t>::min();
  int64_t end_ = std::numeric_limits<int64_t>::max();
  std::vector<Group> groups_;
};

}  // namespace

std::unique_ptr<AggState> make_twap_state(size_t column) {
  return std::make_unique<TwapState>(column);
}

}  // namespace tickflow::eps::agg
