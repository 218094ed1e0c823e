// Helpers of tickflow/rows.hpp: end_of_run against std::upper_bound on runs of every length.
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "tickflow/row_selector.hpp"
#include "tickflow/rows.hpp"

TEST_CASE("end_of_run equals upper_bound from any start, for any limit") {
  std::vector<int64_t> times;
  for (int64_t t = 0; t < 300; ++t) {
    for (int64_t k = 0; k < t % 5; ++k) times.push_back(t);  // repeats of 0..4
  }
  const std::vector<int64_t> limits = {
      std::numeric_limits<int64_t>::min(), -1, 0, 1, 7, 50, 149, 298, 299, 300,
      std::numeric_limits<int64_t>::max()};
  for (size_t begin = 0; begin <= times.size(); begin += 3) {
    for (int64_t limit : limits) {
      const auto expected = static_cast<size_t>(
          std::upper_bound(times.begin() + static_cast<std::ptrdiff_t>(begin), times.end(), limit) -
          times.begin());
      CAPTURE(begin);
      CAPTURE(limit);
      CHECK(tickflow::end_of_run(times, begin, limit) == expected);
    }
  }
  CHECK(tickflow::end_of_run({}, 0, 5) == 0);
}

namespace {

using namespace tickflow;

// SYM string, N int: tick i has SYM "s<i>" (long enough to live on the heap) and N i.
Batch numbered(size_t n, size_t first = 0) {
  Batch b(make_schema({{"SYM", Type::String}, {"N", Type::Int}}));
  for (size_t i = first; i < first + n; ++i) {
    b.times.push_back(static_cast<int64_t>(i));
    b.columns[0].strings().push_back("symbol-with-a-long-name-" + std::to_string(i));
    b.columns[1].ints().push_back(static_cast<int64_t>(i));
  }
  return b;
}

struct CollectingSink : OutputSink {
  std::vector<std::vector<int64_t>> ns{4};
  std::vector<std::vector<std::string>> syms{4};
  std::vector<int> batches = std::vector<int>(4, 0);
  std::vector<bool> read = {true, true, true, true};
  void emit(size_t port, Batch&& batch) override {
    ++batches[port];
    for (size_t r = 0; r < batch.size(); ++r) {
      ns[port].push_back(batch.columns[1].ints()[r]);
      syms[port].emplace_back(batch.columns[0].strings()[r]);
    }
  }
  bool connected(size_t port) const override { return read[port]; }
};

// Port N % 3, except every 5th tick dropped; with a lead, port of N decided by N + 1's parity.
class ModuloSelector : public RowSelectingOperator {
 public:
  explicit ModuloSelector(size_t lead = 0) : RowSelectingOperator(lead) {}
  void select(const Batch& window, size_t rows, std::vector<uint8_t>& ports) override {
    const auto& n = window.columns[1].ints();
    for (size_t r = 0; r < rows; ++r) {
      if (lead_ > 0) {
        // The tick after r is in the window (lookahead) unless the stream ended.
        ports[r] = r + 1 < window.size() ? static_cast<uint8_t>(n[r + 1] % 2) : 2;
      } else {
        ports[r] = n[r] % 5 == 4 ? kDrop : static_cast<uint8_t>(n[r] % 3);
      }
    }
  }
  size_t lead_ = 0;
};

}  // namespace

TEST_CASE("RowSelectingOperator: ticks go to their ports in order, dropped ones nowhere") {
  for (size_t batch_size : {1, 4, 100}) {
    ModuloSelector op;
    CollectingSink sink;
    for (size_t first = 0; first < 30; first += batch_size) {
      op.process(0, numbered(std::min(batch_size, 30 - first), first), sink);
    }
    op.finish(sink);
    for (size_t port = 0; port < 3; ++port) {
      std::vector<int64_t> want;
      std::vector<std::string> want_syms;
      for (int64_t n = 0; n < 30; ++n) {
        if (n % 5 != 4 && static_cast<size_t>(n % 3) == port) {
          want.push_back(n);
          want_syms.push_back("symbol-with-a-long-name-" + std::to_string(n));
        }
      }
      CAPTURE(batch_size);
      CAPTURE(port);
      CHECK(sink.ns[port] == want);
      CHECK(sink.syms[port] == want_syms);  // strings survive the in-place compaction
    }
  }
}

TEST_CASE("RowSelectingOperator: a port nothing reads gets nothing, one port keeps the batch") {
  ModuloSelector op;
  CollectingSink sink;
  sink.read = {true, false, false, true};
  op.process(0, numbered(30), sink);
  CHECK(sink.batches[1] == 0);
  CHECK(sink.batches[2] == 0);
  CHECK(sink.batches[0] == 1);
  CHECK(sink.ns[0] == std::vector<int64_t>{0, 3, 6, 12, 15, 18, 21, 27});
}

TEST_CASE("RowSelectingOperator: with a lead the decision sees the next tick") {
  for (size_t batch_size : {1, 3, 100}) {
    ModuloSelector op(1);
    op.lead_ = 1;
    CollectingSink sink;
    for (size_t first = 0; first < 10; first += batch_size) {
      op.process(0, numbered(std::min(batch_size, 10 - first), first), sink);
    }
    CHECK(op.held().ticks == 1);
    op.finish(sink);
    CHECK(op.held().ticks == 0);
    CAPTURE(batch_size);
    // N's port is (N + 1) % 2; the last tick has no next one: port 2.
    CHECK(sink.ns[0] == std::vector<int64_t>{1, 3, 5, 7});
    CHECK(sink.ns[1] == std::vector<int64_t>{0, 2, 4, 6, 8});
    CHECK(sink.ns[2] == std::vector<int64_t>{9});
  }
}

TEST_CASE("keep_rows keeps strings that stay in place") {
  Batch b = numbered(6);
  keep_rows(
      b, [](size_t r) { return r != 3; }, 5);
  REQUIRE(b.size() == 5);
  CHECK(b.columns[0].strings()[0] == "symbol-with-a-long-name-0");
  CHECK(b.columns[0].strings()[2] == "symbol-with-a-long-name-2");
  CHECK(b.columns[0].strings()[3] == "symbol-with-a-long-name-4");
  CHECK(b.times == std::vector<int64_t>{0, 1, 2, 4, 5});
}
