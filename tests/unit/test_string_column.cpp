// StringColumn: every operation against a std::vector<std::string> doing the same, with
// strings around the 12-byte inline limit, embedded NULs, values copied within one column
// and between columns; equal() against comparing the strings.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/string_column.hpp"

namespace {

using namespace tickflow;

// A value of 0 to 30 bytes from a small alphabet (so that equal values are common), with a
// NUL now and then; lengths 11, 12 and 13 come often.
std::string random_value(std::mt19937_64& rng) {
  static const size_t kLengths[] = {0, 1, 4, 5, 8, 11, 12, 12, 13, 13, 16, 30};
  const size_t length = kLengths[rng() % std::size(kLengths)];
  std::string value(length, 'a');
  for (char& c : value) c = "ab\0c"[rng() % 4];
  return value;
}

void check_same(const StringColumn& column, const std::vector<std::string>& expected) {
  REQUIRE(column.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    CHECK(column[i] == expected[i]);
  }
  CHECK(column == expected);
  size_t i = 0;
  for (std::string_view value : column) CHECK(value == expected[i++]);
}

}  // namespace

TEST_CASE("string column: random operations agree with a vector of strings") {
  std::mt19937_64 rng(20261204);
  for (int round = 0; round < 200; ++round) {
    StringColumn a, b;
    std::vector<std::string> ra, rb;
    for (int step = 0; step < 60; ++step) {
      const std::string value = random_value(rng);
      switch (rng() % 13) {
        case 0:
        case 1:
          a.push_back(value);
          ra.push_back(value);
          break;
        case 2:
          b.push_back(value);
          rb.push_back(value);
          break;
        case 3:
          if (!ra.empty()) {
            const size_t row = rng() % ra.size();
            a.set(row, value);
            ra[row] = value;
          }
          break;
        case 4:  // from the other column
          if (!rb.empty()) {
            const size_t row = rng() % rb.size();
            a.push_back_from(b, row);
            ra.push_back(rb[row]);
          }
          break;
        case 5:  // from itself: a long value is referred to, not copied
          if (!ra.empty()) {
            const size_t row = rng() % ra.size();
            a.push_back_from(a, row);
            ra.push_back(ra[row]);
            a.push_back(a[row]);
            ra.push_back(ra[row]);
          }
          break;
        case 6:
          if (!ra.empty() && !rb.empty()) {
            const size_t row = rng() % ra.size(), from = rng() % rb.size();
            a.set_from(row, b, from);
            ra[row] = rb[from];
            const size_t other = rng() % ra.size();
            a.set_from(row, a, other);
            ra[row] = ra[other];
          }
          break;
        case 7:
          if (!rb.empty()) {
            const size_t begin = rng() % rb.size();
            const size_t end = begin + rng() % (rb.size() - begin + 1);
            a.append_range(b, begin, end);
            ra.insert(ra.end(), rb.begin() + static_cast<ptrdiff_t>(begin),
                      rb.begin() + static_cast<ptrdiff_t>(end));
            if (!ra.empty()) {
              const size_t self_end = 1 + rng() % ra.size();
              a.append_range(a, 0, self_end);
              std::vector<std::string> copy(ra.begin(),
                                            ra.begin() + static_cast<ptrdiff_t>(self_end));
              ra.insert(ra.end(), copy.begin(), copy.end());
            }
          }
          break;
        case 8: {
          a.append_moving(std::move(b));
          ra.insert(ra.end(), rb.begin(), rb.end());
          rb.clear();
          CHECK(b.empty());
          break;
        }
        case 9:
          if (ra.size() >= 2) {
            const size_t to = rng() % ra.size(), from = rng() % ra.size();
            a.copy_within(to, from);
            ra[to] = ra[from];
          }
          break;
        case 10:
          if (!ra.empty() && rng() % 4 == 0) {
            const size_t begin = rng() % ra.size();
            const size_t end = begin + rng() % (ra.size() - begin + 1);
            a.keep_range(begin, end);
            ra = std::vector<std::string>(ra.begin() + static_cast<ptrdiff_t>(begin),
                                          ra.begin() + static_cast<ptrdiff_t>(end));
          }
          break;
        case 11: {
          const size_t n = rng() % 4;
          a.append_repeated(value, n);
          ra.insert(ra.end(), n, value);
          // Mostly growing (new values ""), now and then dropping the last value.
          const size_t size = ra.size() + rng() % 3 - (ra.empty() || rng() % 2 ? 0 : 1);
          a.resize(size);
          ra.resize(size);
          break;
        }
        default:
          if (rng() % 8 == 0) {
            b.clear();
            rb.clear();
          }
      }
      check_same(a, ra);
      check_same(b, rb);
    }
    // equal() says what comparing the strings says, within a column and across columns.
    for (size_t i = 0; i < ra.size(); ++i) {
      for (size_t j = 0; j < ra.size(); ++j) CHECK(a.equal(i, a, j) == (ra[i] == ra[j]));
      for (size_t j = 0; j < rb.size(); ++j) CHECK(a.equal(i, b, j) == (ra[i] == rb[j]));
    }
  }
}

TEST_CASE("string column: equal tells apart values that share their length and first bytes") {
  // Every value is "abcd" and then one byte that differs, at each place up to the 13th.
  std::vector<std::string> values;
  for (size_t length = 5; length <= 14; ++length) {
    for (size_t at = 4; at < length; ++at) {
      std::string value = "abcd" + std::string(length - 4, 'x');
      values.push_back(value);
      value[at] = 'y';
      values.push_back(value);
    }
  }
  StringColumn column;
  for (const std::string& value : values) column.push_back(value);
  StringColumn copy;
  copy.append_range(column, 0, column.size());
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = 0; j < values.size(); ++j) {
      CHECK(column.equal(i, copy, j) == (values[i] == values[j]));
    }
  }
}

TEST_CASE("string column: a short value written over a long one compares equal to a fresh one") {
  StringColumn column;
  column.push_back("a long value of thirty bytes..");
  column.set(0, "AAPL");
  StringColumn fresh{"AAPL"};
  CHECK(column.equal(0, fresh, 0));
  CHECK(column[0] == "AAPL");
  column.resize(3);  // new values are ""
  CHECK(column[1].empty());
  CHECK(column.equal(1, column, 2));
}

TEST_CASE("string column: values written over and over keep the buffer the size of what it holds") {
  // A join's latest values per key: 8 rows, each written 100,000 times with 20-byte values.
  StringColumn latest;
  latest.resize(8);
  StringColumn incoming;
  std::vector<std::string> expected(8);
  for (int i = 0; i < 100000; ++i) {
    const size_t row = static_cast<size_t>(i) % 8;
    std::string value = "order-" + std::to_string(1000000000 + i) + "-xyzw";
    if (i % 3 == 0) {
      latest.set(row, value);
    } else {
      incoming.clear();
      incoming.push_back(value);
      latest.set_from(row, incoming, 0);
    }
    expected[row] = value;
    if (i % 7 == 0) {
      latest.copy_within((row + 1) % 8, row);
      expected[(row + 1) % 8] = value;
    }
  }
  CHECK(latest == expected);
  CHECK(latest.bytes() < 8 * 16 + 3 * 4096);
}

TEST_CASE("string column: a Column's values, bytes and Value") {
  Column column(Type::String);
  column.append(Value(std::string("short")));
  column.append(Value(std::string("thirteen byte")));
  CHECK(std::get<std::string>(column.value(1)) == "thirteen byte");
  // Two 16-byte slots and the 13 bytes of the long value.
  CHECK(column.bytes() == 2 * 16 + 13);
  Column copy(Type::String);
  copy.append_range(column, 0, 2);
  copy.append_from(column, 1);
  CHECK(copy.strings() == std::vector<std::string>{"short", "thirteen byte", "thirteen byte"});
}
