// order_by's sorter against std::stable_sort, and join_by_time / update_timestamp through
// the engine against brute-force references, for several batch sizes and thread counts,
// with the bounds on what they hold.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "order/stable_sort.hpp"
#include "tickflow/query.hpp"
#include "tickflow/run.hpp"

using namespace tickflow;

namespace {

const Registry& registry() {
  static const Registry instance = [] {
    Registry r;
    eps::register_builtins(r);
    return r;
  }();
  return instance;
}

// Every output stream of a run as whole batches, plus the run's stats.
struct Outputs {
  std::vector<Batch> streams;
  RunResult result;
};

Outputs run(const std::string& yaml, size_t threads, size_t batch_size) {
  Diagnostics diags;
  auto query = load_query_text(yaml, "test.yaml", registry(), {}, diags);
  for (const auto& d : diags.items()) MESSAGE(d.to_string());
  REQUIRE(query);
  Outputs out;
  out.streams.resize(query->outputs.size());
  std::vector<OutputTap> taps;
  for (size_t i = 0; i < query->outputs.size(); ++i) {
    const auto& ref = query->outputs[i];
    out.streams[i] = Batch(query->nodes[ref.node].output_schemas[ref.port]);
    taps.push_back({ref.node, ref.port,
                    [&out, i](const Batch& b) { out.streams[i].append_rows(b, 0, b.size()); },
                    nullptr});
  }
  RunOptions options;
  options.threads = threads;
  options.batch_size = batch_size;
  Plan plan = plan_query(*query);
  out.result = run_query(*query, plan, options, taps);
  REQUIRE_FALSE(out.result.error.has_value());
  return out;
}

int64_t peak_held(const Outputs& out, size_t node) {
  return out.result.stats.at(node).peak_ticks_held;
}

bool same_batch(const Batch& a, const Batch& b) {
  if (a.times != b.times || a.columns.size() != b.columns.size()) return false;
  for (size_t c = 0; c < a.columns.size(); ++c) {
    for (size_t r = 0; r < a.size(); ++r) {
      const Value x = a.columns[c].value(r), y = b.columns[c].value(r);
      const bool both_nan = std::holds_alternative<double>(x) && std::isnan(std::get<double>(x)) &&
                            std::isnan(std::get<double>(y));
      if (!(x == y) && !both_nan) return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("stable_order agrees with std::stable_sort for every key type") {
  std::mt19937_64 rng(5);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> doubles = {
      nan, -0.0, 0.0, 1.5, -2.25, 1e300, -1e300, 3.0, std::numeric_limits<double>::infinity()};
  const std::vector<std::string> strings = {"", "a", "ab", "b", "é", "日本", "Z", "a\x01"};
  Batch store(
      make_schema({{"D", Type::Double}, {"S", Type::String}, {"I", Type::Int}, {"B", Type::Bool}}));
  for (int i = 0; i < 20000; ++i) {
    store.times.push_back(static_cast<int64_t>(rng() % 50) - 25);
    store.columns[0].doubles().push_back(doubles[rng() % doubles.size()]);
    store.columns[1].strings().push_back(strings[rng() % strings.size()]);
    store.columns[2].ints().push_back(static_cast<int64_t>(rng() % 7) - 3);
    store.columns[3].bools().push_back(rng() % 2);
  }
  // NaN after every number in both directions (before with nan_first); -0.0 == 0.0.
  auto rank = [](double x, bool descending) {
    if (std::isnan(x)) return std::numeric_limits<double>::infinity();
    return descending ? -x : x;  // infinities never meet NaN's rank: compare NaN first
  };
  auto compare = [&](size_t a, size_t b, const std::vector<eps::SortKey>& keys) {
    for (const auto& k : keys) {
      int c = 0;
      if (!k.column) {
        c = store.times[a] < store.times[b] ? -1 : store.times[a] > store.times[b];
      } else if (*k.column == 0) {
        const double x = store.columns[0].doubles()[a], y = store.columns[0].doubles()[b];
        if (std::isnan(x) || std::isnan(y)) {
          c = std::isnan(x) == std::isnan(y) ? 0 : (std::isnan(x) ? 1 : -1);
          if (k.nan_first) c = -c;
          if (c != 0) return c < 0;
          continue;
        }
        const double rx = rank(x, false), ry = rank(y, false);
        c = rx < ry ? -1 : rx > ry;
      } else if (*k.column == 1) {
        c = store.columns[1].strings()[a].compare(store.columns[1].strings()[b]);
        c = c < 0 ? -1 : c > 0;
      } else if (*k.column == 2) {
        const auto x = store.columns[2].ints()[a], y = store.columns[2].ints()[b];
        c = x < y ? -1 : x > y;
      } else {
        c = int(store.columns[3].bools()[a]) - int(store.columns[3].bools()[b]);
      }
      if (k.descending) c = -c;
      if (c != 0) return c < 0;
    }
    return false;
  };
  const std::vector<std::vector<eps::SortKey>> cases = {
      {{0, true}},
      {{0, false}},
      {{0, true, true}},
      {{0, false, true}},
      {{2, false}, {0, false, true}},
      {{1, false}, {0, true}},
      {{3, true}, {2, false}, {std::nullopt, true}},
      {{2, true}, {1, true}},
      {{std::nullopt, false}},
      {{2, false}},
      {{3, false}},
      {{std::nullopt, true}},
  };
  for (const auto& keys : cases) {
    std::vector<tickflow::RowIndex> want(store.size());
    for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<tickflow::RowIndex>(i);
    std::stable_sort(want.begin(), want.end(), [&](tickflow::RowIndex a, tickflow::RowIndex b) {
      return compare(a, b, keys);
    });
    CHECK(eps::stable_order(store, keys) == want);
    // One fixed-width key: order_by encodes it straight from its batches.
    if (keys.size() == 1 && keys[0].column != std::optional<size_t>(1)) {
      const eps::SortKey& k = keys[0];
      std::vector<uint64_t> bits;
      for (size_t row = 0; row < store.size(); ++row) {
        bits.push_back(
            k.column ? eps::sort_bits(store.columns[*k.column], row, k.descending, k.nan_first)
                     : eps::sort_bits_of_time(store.times[row], k.descending));
      }
      if (k.column) {  // the whole-column encoder gives the same bits
        std::vector<uint64_t> column_bits(store.size());
        eps::sort_bits_of_column(store.columns[*k.column], k.descending, k.nan_first,
                                 column_bits.data());
        CHECK(column_bits == bits);
      }
      const auto order = eps::stable_order_of_bits(bits.data(), bits.size());
      CHECK(std::vector<tickflow::RowIndex>(order.get(), order.get() + want.size()) == want);
    }
  }
}

TEST_CASE("join_by_time matches a brute-force as-of join at every batch size") {
  // Gaps of a few ns make many equal timestamps within and across the inputs.
  const std::string yaml = R"yaml(
tickflow: 1
nodes:
  a: {ep: generate, kind: trades, count: 3000, interval: 3ns, seed: 1}
  b: {ep: generate, kind: trades, count: 5000, interval: 2ns, seed: 2}
  inc: {ep: join_by_time, in: [a, b], on: [EXCHANGE], prefix: {b: B_}}
  exc: {ep: join_by_time, in: [a, b], on: [EXCHANGE], prefix: {b: B_}, same_time: exclude, how: inner}
output: [a, b, inc, exc]
)yaml";
  const Outputs base = run(yaml, 1, 4096);
  const Batch& a = base.streams[0];
  const Batch& b = base.streams[1];
  for (bool include : {true, false}) {
    Batch want(base.streams[include ? 2 : 3].schema);
    for (size_t i = 0; i < a.size(); ++i) {
      std::optional<size_t> match;
      for (size_t j = 0; j < b.size(); ++j) {
        const bool in_time = include ? b.times[j] <= a.times[i] : b.times[j] < a.times[i];
        if (in_time && b.columns[2].strings()[j] == a.columns[2].strings()[i]) match = j;
      }
      if (!match && !include) continue;  // exc is inner
      want.times.push_back(a.times[i]);
      for (size_t c = 0; c < 3; ++c) want.columns[c].append_from(a.columns[c], i);
      for (size_t c = 0; c < 2; ++c) {
        if (match) {
          want.columns[3 + c].append_from(b.columns[c], *match);
        } else {
          want.columns[3 + c].append_default();
        }
      }
    }
    CHECK(same_batch(base.streams[include ? 2 : 3], want));
  }
  for (size_t threads : {1, 2}) {
    for (size_t batch : {1, 7, 100}) {
      const Outputs other = run(yaml, threads, batch);
      CHECK(same_batch(other.streams[2], base.streams[2]));
      CHECK(same_batch(other.streams[3], base.streams[3]));
    }
  }
}

TEST_CASE("join_by_time of two million-tick streams holds a few batches") {
  const std::string yaml = R"yaml(
tickflow: 1
nodes:
  a: {ep: generate, kind: trades, count: 1000000, interval: 1ms, seed: 1}
  b: {ep: generate, kind: quotes, count: 1000000, interval: 1ms, seed: 2}
  j: {ep: join_by_time, in: [a, b]}
  n: {ep: tail, in: j, n: 1}
)yaml";
  // (tail reads every tick; a head would stop the sources at once.)
  const Outputs out = run(yaml, 2, 4096);
  CHECK(out.result.stats[2].ticks_out == 1000000);
  CHECK(peak_held(out, 2) < 20 * 4096);
}

TEST_CASE("update_timestamp: the bounded re-sort equals the full sort when no tick is late") {
  const std::string yaml = R"yaml(
tickflow: 1
nodes:
  src: {ep: generate, kind: trades, count: 200000, interval: 1ms, seed: 3}
  window: {ep: update_timestamp, in: src, to: "TIMESTAMP - 1ms * (int(SIZE / 100) % 7)", max_delay: 6ms}
  full: {ep: update_timestamp, in: src, to: "TIMESTAMP - 1ms * (int(SIZE / 100) % 7)"}
output: [window, full]
)yaml";
  for (size_t batch : {1, 7, 4096}) {
    const Outputs out = run(yaml, 2, batch);
    CHECK(out.streams[0].size() == 200000);
    CHECK(same_batch(out.streams[0], out.streams[1]));
    CHECK(std::is_sorted(out.streams[0].times.begin(), out.streams[0].times.end()));
    // Within 6ms about six ticks wait, plus the current batch.
    CHECK(peak_held(out, 1) < static_cast<int64_t>(batch) + 100);
    CHECK(peak_held(out, 2) == 200000);
  }
}

TEST_CASE("stable_order_of_bits splits a large sort over threads with the same result") {
  // Above the size where the radix sort works in parts (one per available thread): keys
  // with many duplicates, so that stability across the parts' boundaries is tested.
  std::mt19937_64 rng(9);
  for (uint64_t range : {uint64_t{1000}, uint64_t{1} << 40, ~uint64_t{0}}) {
    std::vector<uint64_t> bits(300001);
    for (auto& b : bits) b = rng() % range;
    std::vector<tickflow::RowIndex> want(bits.size());
    for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<tickflow::RowIndex>(i);
    std::stable_sort(want.begin(), want.end(),
                     [&](tickflow::RowIndex a, tickflow::RowIndex b) { return bits[a] < bits[b]; });
    const auto order = eps::stable_order_of_bits(bits.data(), bits.size());
    CHECK(std::vector<tickflow::RowIndex>(order.get(), order.get() + want.size()) == want);
  }
}

TEST_CASE("order_by holds few-valued strings as dictionary ids and many-valued ones as strings") {
  // EXCHANGE has a few values and NOTE a few thousand: held as ids unless a sort key. ID has
  // a new value on every tick, so its dictionary is given up after 65,536 values: the
  // batches before hold ids, the later ones strings. The output must be the stable sort.
  for (const bool by_note : {false, true}) {
    const std::string yaml = std::string(R"yaml(
tickflow: 1
nodes:
  g: {ep: generate, kind: trades, count: 100000, interval: 1ms, seed: 3}
  s:
    ep: add_field
    in: g
    set: {NOTE: "EXCHANGE + string(SIZE % 997)", ID: "'id' + string(int(TIMESTAMP) % 1000000007)"}
)yaml") +
                             (by_note ? "  o: {ep: order_by, in: s, by: [NOTE, -SIZE]}\n"
                                      : "  o: {ep: order_by, in: s, by: [-SIZE]}\n") +
                             "output: [s, o]\n";
    const Outputs base = run(yaml, 1, 4096);
    const Batch& input = base.streams[0];
    REQUIRE(input.size() == 100000);
    std::vector<size_t> order(input.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto& size = input.columns[1].ints();
    const auto& note = input.columns[3].strings();
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (by_note && note[a] != note[b]) return note[a] < note[b];
      return size[a] > size[b];
    });
    Batch want(base.streams[1].schema);
    for (size_t i : order) want.append_row(input, i);
    CHECK(same_batch(base.streams[1], want));
    for (size_t threads : {1, 2}) {
      for (size_t batch : {1000, 4096}) {
        CHECK(same_batch(run(yaml, threads, batch).streams[1], want));
      }
    }
  }
}
