// The aggregation functions of `aggregate` against exact references (sliding windows over a
// long stream with a spike, NaN, percentiles, distinct values, empty values), and the
// accumulation each configuration declares.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "aggregate/aggregate_functions.hpp"
#include "builtin.hpp"
#include "tickflow/query.hpp"

using namespace tickflow;
using namespace tickflow::eps::agg;

namespace {

Batch doubles_batch(const std::vector<double>& values) {
  Batch batch(make_schema({{"X", Type::Double}}));
  for (size_t i = 0; i < values.size(); ++i) {
    batch.times.push_back(static_cast<int64_t>(i));
    batch.columns[0].doubles().push_back(values[i]);
  }
  return batch;
}

AggSpec spec_of(Fn fn, Type input, Type result, double p = 0.5) {
  AggSpec spec;
  spec.fn = fn;
  spec.columns = {0};
  spec.types = {input};
  spec.p = p;
  spec.result_type = result;
  return spec;
}

double result_of(AggState& state, uint32_t group = 0) {
  Column out(Type::Double);
  state.write(group, out);
  return out.doubles().back();
}

}  // namespace

TEST_CASE("aggregate: sliding sum, mean and var do not drift after a spike leaves") {
  const size_t window = 50;
  std::vector<double> values;
  for (int i = 0; i < 5000; ++i) values.push_back(1e9 + (i % 7) * 0.25 - (i % 3));
  values[100] = 1e12;
  const Batch batch = doubles_batch(values);
  std::vector<uint32_t> groups(values.size(), 0);
  auto sum = make_agg_state(spec_of(Fn::Sum, Type::Double, Type::Double), Feed::Sliding, window);
  auto var = make_agg_state(spec_of(Fn::Var, Type::Double, Type::Double), Feed::Sliding, window);
  for (auto* state : {sum.get(), var.get()}) state->resize(1);
  for (size_t i = 0; i < values.size(); ++i) {
    if (i >= window) {
      sum->remove_oldest(0);
      var->remove_oldest(0);
    }
    sum->add(batch, i, i + 1, groups.data());
    var->add(batch, i, i + 1, groups.data());
    if (i < 200 || i % 97 != 0) continue;
    long double exact_sum = 0, exact_m2 = 0;
    const size_t begin = i + 1 - window;
    for (size_t j = begin; j <= i; ++j) exact_sum += values[j];
    const long double mean = exact_sum / window;
    for (size_t j = begin; j <= i; ++j) exact_m2 += (values[j] - mean) * (values[j] - mean);
    const double exact_var = static_cast<double>(exact_m2 / (window - 1));
    CHECK(std::abs(result_of(*sum) - static_cast<double>(exact_sum)) <= 1e-9 * 5e10);
    CHECK(std::abs(result_of(*var) - exact_var) <= 1e-9 * exact_var);
  }
}

TEST_CASE("aggregate: sliding min and max are exact and NaN holds while in the window") {
  const std::vector<double> values = {3, 1, 4, 1, 5, NAN, 2, 6, 5, 3};
  const Batch batch = doubles_batch(values);
  std::vector<uint32_t> groups(values.size(), 0);
  auto min = make_agg_state(spec_of(Fn::Min, Type::Double, Type::Double), Feed::Sliding, 3);
  auto max = make_agg_state(spec_of(Fn::Max, Type::Double, Type::Double), Feed::Sliding, 3);
  min->resize(1);
  max->resize(1);
  for (size_t i = 0; i < values.size(); ++i) {
    if (i >= 3) {
      min->remove_oldest(0);
      max->remove_oldest(0);
    }
    min->add(batch, i, i + 1, groups.data());
    max->add(batch, i, i + 1, groups.data());
    const size_t begin = i >= 2 ? i - 2 : 0;
    bool has_nan = false;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t j = begin; j <= i; ++j) {
      has_nan = has_nan || std::isnan(values[j]);
      lo = std::min(lo, values[j]);
      hi = std::max(hi, values[j]);
    }
    if (has_nan) {
      CHECK(std::isnan(result_of(*min)));
      CHECK(std::isnan(result_of(*max)));
    } else {
      CHECK(result_of(*min) == lo);
      CHECK(result_of(*max) == hi);
    }
  }
}

TEST_CASE("aggregate: percentile interpolates between closest ranks, in every feed") {
  const std::vector<double> values = {7, 1, 3, 9, 5};  // sorted 1 3 5 7 9
  const Batch batch = doubles_batch(values);
  std::vector<uint32_t> groups(values.size(), 0);
  for (Feed feed : {Feed::Bucket, Feed::Cumulative, Feed::Sliding}) {
    auto p = make_agg_state(spec_of(Fn::Percentile, Type::Double, Type::Double, 0.3), feed, 0);
    auto median = make_agg_state(spec_of(Fn::Median, Type::Double, Type::Double), feed, 0);
    p->resize(1);
    median->resize(1);
    CHECK(std::isnan(result_of(*p)));  // empty
    p->add(batch, 0, values.size(), groups.data());
    median->add(batch, 0, values.size(), groups.data());
    // rank 0.3 * 4 = 1.2: 3 + 0.2 * (5 - 3)
    CHECK(result_of(*p) == doctest::Approx(3.4).epsilon(1e-15));
    CHECK(result_of(*median) == 5.0);
    if (feed == Feed::Sliding) {
      median->remove_oldest(0);  // drops 7: 1 3 5 9
      CHECK(result_of(*median) == 4.0);
    }
  }
}

TEST_CASE("aggregate: distinct_count in a sliding window and empty-bucket values") {
  const std::vector<double> values = {1, 2, 1, NAN, NAN, -0.0, 0.0};
  const Batch batch = doubles_batch(values);
  std::vector<uint32_t> groups(values.size(), 0);
  auto distinct =
      make_agg_state(spec_of(Fn::DistinctCount, Type::Double, Type::Int), Feed::Sliding, 0);
  distinct->resize(1);
  std::vector<int64_t> seen;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i >= 3) distinct->remove_oldest(0);
    distinct->add(batch, i, i + 1, groups.data());
    Column out(Type::Int);
    distinct->write(0, out);
    seen.push_back(out.ints().back());
  }
  // windows of 3: {1}, {1,2}, {1,2,1}, {2,1,nan}, {1,nan,nan}, {nan,nan,0}, {nan,0,0}
  CHECK(seen == std::vector<int64_t>{1, 2, 2, 3, 2, 2, 2});

  Batch ints(make_schema({{"Q", Type::Int}}));
  auto sum = make_agg_state(spec_of(Fn::Sum, Type::Int, Type::Int), Feed::Bucket, 0);
  auto mean = make_agg_state(spec_of(Fn::Mean, Type::Int, Type::Double), Feed::Bucket, 0);
  auto first = make_agg_state(spec_of(Fn::First, Type::Int, Type::Int), Feed::Bucket, 0);
  for (auto* s : {sum.get(), mean.get(), first.get()}) s->resize(2);
  Column out_int(Type::Int), out_double(Type::Double);
  sum->write(1, out_int);
  first->write(1, out_int);
  mean->write(1, out_double);
  CHECK(out_int.ints() == std::vector<int64_t>{0, 0});
  CHECK(std::isnan(out_double.doubles()[0]));
}

TEST_CASE("aggregate: vwap and mean round once from exact sums") {
  // 0.1 * 3 + 0.2 * 7 + 0.3 * 11 = 5.0 exactly in decimal; each product rounds in binary.
  Batch batch(make_schema({{"P", Type::Double}, {"S", Type::Int}}));
  const double prices[] = {0.1, 0.2, 0.3};
  const int64_t sizes[] = {3, 7, 11};
  for (int i = 0; i < 3; ++i) {
    batch.times.push_back(i);
    batch.columns[0].doubles().push_back(prices[i]);
    batch.columns[1].ints().push_back(sizes[i]);
  }
  AggSpec spec;
  spec.fn = Fn::Vwap;
  spec.columns = {0, 1};
  spec.types = {Type::Double, Type::Int};
  spec.result_type = Type::Double;
  auto vwap = make_agg_state(spec, Feed::Bucket, 0);
  vwap->resize(1);
  std::vector<uint32_t> groups(3, 0);
  vwap->add(batch, 0, 3, groups.data());
  const long double exact = (static_cast<long double>(0.1) * 3 + static_cast<long double>(0.2) * 7 +
                             static_cast<long double>(0.3) * 11) /
                            21;
  CHECK(result_of(*vwap) == static_cast<double>(exact));
}

TEST_CASE("aggregate: accumulation follows the buckets, windows and functions") {
  Registry registry;
  eps::register_builtins(registry);
  auto accumulation_of = [&](const std::string& params) {
    const std::string yaml =
        "tickflow: 1\nnodes:\n  src: {ep: ticks, rows: [{TIMESTAMP: 1, PX: 1.5, S: a}]}\n"
        "  agg: {ep: aggregate, in: src, " +
        params + "}\n";
    Diagnostics diags;
    auto query = load_query_text(yaml, "test.yaml", registry, {}, diags);
    for (const auto& d : diags.items()) MESSAGE(d.to_string());
    REQUIRE(query);
    return query->nodes.back().accumulation.to_string();
  };
  CHECK(accumulation_of("bucket: 1m, aggs: {N: count(), V: 'vwap(PX, PX)'}") == "none");
  CHECK(accumulation_of("bucket: 1m, aggs: {M: median(PX)}") == "bounded(1m)");
  CHECK(accumulation_of("bucket: {ticks: 10}, aggs: {M: distinct_count(S)}") ==
        "bounded(10 ticks)");
  CHECK(accumulation_of("aggs: {M: median(PX)}") == "unbounded");
  CHECK(accumulation_of("running: true, aggs: {T: sum(PX)}") == "none");
  CHECK(accumulation_of("running: true, window: 5s, group_by: [S], aggs: {T: sum(PX)}") ==
        "bounded(5s per group)");
  CHECK(accumulation_of("running: true, window: {ticks: 20}, aggs: {T: sum(PX)}") ==
        "bounded(20 ticks)");
}

// States fold runs of one group at a time (for_group_runs, and four running extremes for
// doubles): the same values, bit for bit, as adding one row at a time, over random groups
// with runs, NaN, infinities, both zeros and repeated values, added in random pieces.
TEST_CASE("aggregate: folding runs of a group gives the row-by-row values") {
  std::mt19937_64 random(7);
  const std::vector<double> specials = {NAN, -NAN, INFINITY, -INFINITY, 0.0, -0.0, 1.5, -2.25};
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  const std::vector<Fn> fns = {Fn::Min, Fn::Max,  Fn::First, Fn::Last, Fn::Count,
                               Fn::Sum, Fn::Mean, Fn::Var,   Fn::Vwap};
  for (int round = 0; round < 300; ++round) {
    const size_t rows = 1 + pick(400);
    const size_t group_count = 1 + pick(4);
    const int special_share = static_cast<int>(pick(4));  // none to most of the values
    // Some rounds draw only zeros of both signs and one other value, so that the best of
    // long runs is a zero.
    const double other = pick(2) ? 1.0 : -1.0;
    const bool zeros = pick(4) == 0;
    Batch batch(make_schema({{"X", Type::Double}, {"N", Type::Int}}));
    std::vector<uint32_t> groups;
    uint32_t group = 0;
    for (size_t r = 0; r < rows; ++r) {
      if (pick(10) < 2) group = static_cast<uint32_t>(pick(group_count));
      groups.push_back(group);
      batch.times.push_back(static_cast<int64_t>(r));
      const double x = zeros ? (pick(3) == 0 ? other
                                : pick(2)    ? 0.0
                                             : -0.0)
                       : static_cast<int>(pick(4)) < special_share
                           ? specials[pick(specials.size())]
                           : static_cast<double>(pick(50)) * 0.5 - 10.0;
      batch.columns[0].doubles().push_back(x);
      batch.columns[1].ints().push_back(static_cast<int64_t>(pick(1000)));
    }
    for (Fn fn : fns) {
      AggSpec spec = spec_of(fn, Type::Double, fn == Fn::Count ? Type::Int : Type::Double);
      if (fn == Fn::Vwap) {
        spec.columns = {0, 1};
        spec.types = {Type::Double, Type::Int};
      }
      auto folded = make_agg_state(spec, Feed::Bucket, 0);
      auto by_row = make_agg_state(spec, Feed::Bucket, 0);
      folded->resize(group_count);
      by_row->resize(group_count);
      for (size_t begin = 0; begin < rows;) {
        const size_t end = std::min(rows, begin + 1 + pick(150));
        folded->add(batch, begin, end, groups.data());
        begin = end;
      }
      for (size_t r = 0; r < rows; ++r) by_row->add(batch, r, r + 1, groups.data());
      for (uint32_t g = 0; g < group_count; ++g) {
        Column a(spec.result_type), b(spec.result_type);
        folded->write(g, a);
        by_row->write(g, b);
        const std::string what = std::to_string(static_cast<int>(fn)) + " round " +
                                 std::to_string(round) + " group " + std::to_string(g);
        if (spec.result_type == Type::Int) {
          CHECK_MESSAGE(a.ints() == b.ints(), what);
        } else {
          CHECK_MESSAGE(std::memcmp(&a.doubles()[0], &b.doubles()[0], sizeof(double)) == 0, what);
        }
        if (fn != Fn::Min && fn != Fn::Max) continue;
        // And the row-by-row value is the first of the best: NaN above everything.
        bool found = false;
        double best = 0.0;
        for (size_t r = 0; r < rows; ++r) {
          if (groups[r] != g) continue;
          const double x = batch.columns[0].doubles()[r];
          const bool better =
              !found || (std::isnan(x) && !std::isnan(best)) ||
              (!std::isnan(x) && !std::isnan(best) && (fn == Fn::Max ? best < x : x < best));
          if (better) best = x;
          found = true;
        }
        if (found) CHECK_MESSAGE(std::memcmp(&a.doubles()[0], &best, sizeof(double)) == 0, what);
      }
    }
  }
}
