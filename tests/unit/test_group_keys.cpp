// GroupKeys: dense ids in order of first appearance, the same whichever path looks a key up
// (one string field, one integer field, the encoded key of anything else), with each group's
// key values kept.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "tickflow/group_keys.hpp"

namespace {

using namespace tickflow;

// The ids a row-by-row reference gives: each new value the next id.
template <typename T>
std::vector<uint32_t> first_appearance_ids(const std::vector<T>& values) {
  std::map<T, uint32_t> seen;
  std::vector<uint32_t> ids;
  for (const T& value : values) {
    auto it = seen.emplace(value, static_cast<uint32_t>(seen.size())).first;
    ids.push_back(it->second);
  }
  return ids;
}

// Strings that a prefix-and-size cache could confuse: equal first seven bytes, equal sizes,
// embedded NUL, empty, and long enough to live on the heap.
std::vector<std::string> tricky_strings() {
  std::vector<std::string> pool = {"",
                                   "A",
                                   "AAPL",
                                   "MSFT",
                                   "ABCDEFG",
                                   "ABCDEFG1",
                                   "ABCDEFG2",
                                   "ABCDEFGH",
                                   "ABCDEFG" + std::string(1, '\0'),
                                   std::string("A\0B", 3),
                                   std::string("A\0C", 3),
                                   "a symbol name well past the inline size of std::string"};
  for (int i = 0; i < 60; ++i)
    pool.push_back("S" + std::to_string(i));  // past the cache's 16 slots
  return pool;
}

}  // namespace

TEST_CASE("one string field: ids in order of first appearance, keys kept, over batches") {
  const auto pool = tricky_strings();
  std::mt19937 random(7);
  // Runs of one value, values taking turns, and random picks.
  std::vector<std::string> values;
  for (int i = 0; i < 3000; ++i) {
    const size_t pick = i < 1000   ? (i / 50) % pool.size()
                        : i < 2000 ? i % 8
                                   : random() % pool.size();
    values.push_back(pool[pick]);
  }
  const auto expected = first_appearance_ids(values);

  GroupKeys keys({0}, make_schema({{"SYM", Type::String}}));
  std::vector<uint32_t> got;
  for (size_t start = 0; start < values.size(); start += 257) {
    Batch batch(make_schema({{"SYM", Type::String}}));
    for (size_t i = start; i < std::min(values.size(), start + 257); ++i) {
      batch.columns[0].strings().push_back(values[i]);
      batch.times.push_back(static_cast<int64_t>(i));
    }
    std::vector<uint32_t> ids;
    keys.assign(batch, ids);
    got.insert(got.end(), ids.begin(), ids.end());
  }
  CHECK(got == expected);
  REQUIRE(keys.group_count() == keys.keys().size());
  for (size_t i = 0; i < values.size(); ++i) {
    CHECK(keys.keys().columns[0].strings()[expected[i]] == values[i]);
  }
}

TEST_CASE("one integer or time field: the value path gives the encoded path's ids") {
  for (Type type : {Type::Int, Type::Time}) {
    CAPTURE(static_cast<int>(type));
    std::mt19937 random(11);
    std::vector<int64_t> values;
    for (int i = 0; i < 2000; ++i) {
      values.push_back(i % 3 == 0 ? int64_t{-5} : static_cast<int64_t>(random() % 40) - 20);
    }
    values.push_back(std::numeric_limits<int64_t>::min());
    values.push_back(std::numeric_limits<int64_t>::max());
    Batch batch(make_schema({{"K", type}}));
    for (size_t i = 0; i < values.size(); ++i) {
      batch.columns[0].ints().push_back(values[i]);
      batch.times.push_back(0);
    }
    GroupKeys keys({0}, make_schema({{"K", type}}));
    std::vector<uint32_t> ids;
    CHECK(keys.assign(batch, ids) == first_appearance_ids(values).back() + 1);
    CHECK(ids == first_appearance_ids(values));
    for (size_t i = 0; i < values.size(); ++i)
      CHECK(keys.keys().columns[0].ints()[ids[i]] == values[i]);
  }
}

TEST_CASE("two fields and a double field use the encoded key, NaN one group, zeros one group") {
  Batch batch(make_schema({{"SYM", Type::String}, {"N", Type::Int}}));
  const std::vector<std::pair<std::string, int64_t>> rows = {{"A", 1}, {"A", 2},  {"A", 1},
                                                             {"B", 1}, {"AB", 1}, {"A", 2}};
  for (const auto& [sym, n] : rows) {
    batch.columns[0].strings().push_back(sym);
    batch.columns[1].ints().push_back(n);
    batch.times.push_back(0);
  }
  GroupKeys two({0, 1});
  std::vector<uint32_t> ids;
  CHECK(two.assign(batch, ids) == 4);
  CHECK(ids == std::vector<uint32_t>{0, 1, 0, 2, 3, 1});

  Batch doubles(make_schema({{"X", Type::Double}}));
  for (double x : {0.0, -0.0, std::nan(""), 1.5, -std::nan(""), 0.0}) {
    doubles.columns[0].doubles().push_back(x);
    doubles.times.push_back(0);
  }
  GroupKeys one({0});
  CHECK(one.assign(doubles, ids) == 3);
  CHECK(ids == std::vector<uint32_t>{0, 0, 1, 2, 1, 0});
}

TEST_CASE("id() row by row and assign() agree on one key object") {
  const auto pool = tricky_strings();
  Batch batch(make_schema({{"SYM", Type::String}}));
  for (size_t i = 0; i < 500; ++i) {
    batch.columns[0].strings().push_back(pool[(i * 7) % pool.size()]);
    batch.times.push_back(0);
  }
  GroupKeys keys({0});
  std::vector<uint32_t> by_assign;
  keys.assign(batch, by_assign);
  for (size_t r = 0; r < batch.size(); ++r) CHECK(keys.id(batch, r) == by_assign[r]);
  CHECK(keys.group_count() == pool.size());
}
