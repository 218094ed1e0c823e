// Helpers of eps/rows.hpp: end_of_run against std::upper_bound on runs of every length.
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "rows.hpp"

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
      CHECK(tickflow::eps::end_of_run(times, begin, limit) == expected);
    }
  }
  CHECK(tickflow::eps::end_of_run({}, 0, 5) == 0);
}
