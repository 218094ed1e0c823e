// The merge operator against a reference model: all ticks concatenated in input order and
// stably sorted by (time, input), with the union schema and type defaults. Inputs arrive in
// random batch splits and a random delivery order; after every call the ticks released so
// far must be exactly those the release rule allows.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "test_bind_support.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/registry.hpp"

using namespace tickflow;

namespace {

const Registry& registry() {
  static const Registry instance = [] {
    Registry r;
    eps::register_merge(r);
    return r;
  }();
  return instance;
}

struct CollectingSink : OutputSink {
  std::vector<Batch> batches;
  void emit(size_t port, Batch&& batch) override {
    CHECK(port == 0);
    CHECK_FALSE(batch.empty());
    batches.push_back(std::move(batch));
  }
};

// A cell as text; every NaN reads the same.
std::string cell_text(const Column& column, size_t row) {
  switch (column.type()) {
    case Type::Double: {
      const double v = column.doubles()[row];
      return v != v ? "nan" : std::to_string(v);
    }
    case Type::Bool:
      return column.bools()[row] ? "true" : "false";
    case Type::String:
      return '"' + std::string(column.strings()[row]) + '"';
    default:
      return std::to_string(column.ints()[row]);
  }
}

// One tick of an input as the merge must output it: its values under `schema` (the union),
// type defaults for the fields its input lacks.
std::string row_text(const Batch& batch, size_t row, const Schema& schema) {
  std::string text = std::to_string(batch.times[row]);
  for (const Field& f : schema.fields()) {
    text += '|';
    if (auto index = batch.schema->index_of(f.name)) {
      text += cell_text(batch.columns[*index], row);
    } else {
      Column missing(f.type);
      missing.resize(1);
      text += cell_text(missing, 0);
    }
  }
  return text;
}

// `count` ticks, time-ordered from `start`, with gaps that make many equal times within
// and across inputs. Values tell the input and the tick apart; some strings are too long
// for the small-string buffer.
Batch make_input(const SchemaPtr& schema, size_t input, size_t count, int64_t start,
                 std::mt19937_64& rng) {
  static const int64_t gaps[] = {0, 0, 1, 1, 2, 5};
  Batch b(schema);
  int64_t t = start;
  for (size_t k = 0; k < count; ++k) {
    t += gaps[rng() % 6];
    b.times.push_back(t);
    for (size_t c = 0; c < b.columns.size(); ++c) {
      Column& column = b.columns[c];
      const int64_t id = static_cast<int64_t>(input * 1000000 + k);
      switch (column.type()) {
        case Type::Double:
          column.doubles().push_back(static_cast<double>(id) + 0.5);
          break;
        case Type::Bool:
          column.bools().push_back(static_cast<uint8_t>(k % 2));
          break;
        case Type::String:
          column.strings().push_back(k % 5 == 0
                                         ? "a string longer than fifteen #" + std::to_string(id)
                                         : std::to_string(id % 100));
          break;
        default:
          column.ints().push_back(id * 3 + static_cast<int64_t>(c));
      }
    }
  }
  return b;
}

struct Case {
  std::vector<SchemaPtr> schemas;
  std::vector<size_t> counts;
  std::vector<int64_t> starts;
};

// Runs one case: each input split at random into batches of 1..max_batch ticks, delivered
// in a random order, each input finishing once its batches are delivered.
void check_case(const Case& c, size_t max_batch, uint64_t seed) {
  const size_t n = c.schemas.size();
  bind_test::EpBind ctx(registry(), "merge", "", c.schemas);
  auto factory = ctx.bind();
  REQUIRE_MESSAGE(factory, ctx.all_errors());
  const Schema& schema = *ctx.output_schema;
  std::mt19937_64 rng(seed);

  std::vector<Batch> inputs;
  for (size_t i = 0; i < n; ++i) {
    inputs.push_back(make_input(c.schemas[i], i, c.counts[i], c.starts[i], rng));
  }
  // The reference: concatenated in input order, stably sorted by (time, input).
  struct Tick {
    int64_t time;
    size_t input;
    std::string text;
  };
  std::vector<Tick> want;
  for (size_t i = 0; i < n; ++i) {
    for (size_t r = 0; r < inputs[i].size(); ++r) {
      want.push_back({inputs[i].times[r], i, row_text(inputs[i], r, schema)});
    }
  }
  std::stable_sort(want.begin(), want.end(), [](const Tick& a, const Tick& b) {
    return a.time < b.time || (a.time == b.time && a.input < b.input);
  });

  std::vector<std::vector<Batch>> batches(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t begin = 0; begin < inputs[i].size();) {
      const size_t size = 1 + rng() % max_batch;
      const size_t end = std::min(inputs[i].size(), begin + size);
      batches[i].push_back(inputs[i].slice(begin, end));
      begin = end;
    }
  }

  QueryInfo query;
  RunContext run;
  run.node_id = "m";
  run.batch_size = max_batch;
  run.query = &query;
  auto op = factory(run);
  CollectingSink sink;
  std::vector<size_t> next(n, 0), delivered(n, 0);
  std::vector<bool> finished(n, false);
  std::vector<int64_t> last(n, std::numeric_limits<int64_t>::min());
  std::vector<size_t> released_of(n, 0);
  size_t released = 0;
  // Each round one input gets a batch or finishes; an input keeps the turn for a while so
  // that one input may run well ahead of the others.
  size_t turn = 0;
  while (std::find(finished.begin(), finished.end(), false) != finished.end()) {
    if (rng() % 3 == 0 || finished[turn]) turn = rng() % n;
    if (finished[turn]) continue;
    const size_t i = turn;
    if (next[i] < batches[i].size()) {
      Batch b = std::move(batches[i][next[i]++]);
      delivered[i] += b.size();
      last[i] = b.times.back();
      op->process(i, std::move(b), sink);
    } else {
      finished[i] = true;
      op->input_finished(i, sink);
    }
    for (Batch& b : sink.batches) {
      REQUIRE(b.schema->size() == schema.size());
      REQUIRE(b.size() <= max_batch);
      for (size_t r = 0; r < b.size(); ++r, ++released) {
        REQUIRE(released < want.size());
        CAPTURE(released);
        REQUIRE(row_text(b, r, schema) == want[released].text);
        ++released_of[want[released].input];
      }
    }
    sink.batches.clear();
    // What may go: the delivered ticks that sort, by (time, input), before the last tick of
    // every other open input.
    size_t may_go = 0, held = 0;
    for (size_t j = 0; j < n; ++j) {
      const auto begin = inputs[j].times.begin();
      const auto end = begin + static_cast<std::ptrdiff_t>(delivered[j]);
      size_t goes = delivered[j];
      for (size_t k = 0; k < n; ++k) {
        if (k == j || finished[k]) continue;
        const auto stop =
            j < k ? std::upper_bound(begin, end, last[k]) : std::lower_bound(begin, end, last[k]);
        goes = std::min(goes, static_cast<size_t>(stop - begin));
      }
      may_go += goes;
      held += delivered[j];
    }
    REQUIRE(released == may_go);
    REQUIRE(op->held().ticks == static_cast<int64_t>(held - released));
    for (size_t j = 0; j < n; ++j) {
      // Waits for an open input only when it holds nothing of it.
      REQUIRE(op->needs_input(j) == (!finished[j] && released_of[j] == delivered[j]));
    }
  }
  op->finish(sink);
  CHECK(sink.batches.empty());
  CHECK(op->held().ticks == 0);
  CHECK(released == want.size());
}

SchemaPtr trades() {
  return make_schema({{"PRICE", Type::Double}, {"SIZE", Type::Int}, {"EXCHANGE", Type::String}});
}

}  // namespace

TEST_CASE("merge equals a stable sort by (time, input) for any batch split and arrival order") {
  const int64_t min = std::numeric_limits<int64_t>::min();
  const int64_t max = std::numeric_limits<int64_t>::max();
  const auto quotes = make_schema({{"SIZE", Type::Int},
                                   {"FLAG", Type::Bool},
                                   {"EXCHANGE", Type::String},
                                   {"WHEN", Type::Time},
                                   {"BID", Type::Double}});
  const auto other = make_schema({{"NOTE", Type::String}, {"PRICE", Type::Double}});
  const std::vector<std::pair<const char*, Case>> cases = {
      {"two inputs, one schema", {{trades(), trades()}, {3000, 2500}, {0, 40}}},
      {"two inputs, one finishing early", {{trades(), trades()}, {3000, 300}, {0, 100}}},
      {"two inputs far apart in time", {{trades(), trades()}, {1000, 1000}, {5000, 0}}},
      {"two inputs, missing fields", {{trades(), quotes}, {2000, 2500}, {10, 0}}},
      {"two inputs, a string field missing", {{other, trades()}, {1500, 2000}, {0, 3}}},
      {"two inputs, one empty", {{trades(), quotes}, {0, 1500}, {0, 0}}},
      {"at the ends of time", {{trades(), trades()}, {800, 900}, {min, min}}},
      {"near the end of time", {{trades(), quotes}, {800, 900}, {max - 5000, max - 4000}}},
      {"three inputs", {{trades(), quotes, other}, {2000, 1500, 1800}, {0, 20, 5}}},
      {"three inputs, one finishing early",
       {{quotes, trades(), other}, {1500, 2000, 100}, {0, 0, 0}}},
      {"five inputs",
       {{trades(), other, trades(), quotes, trades()},
        {600, 700, 0, 500, 650},
        {min, min + 3, 0, min, min + 1}}},
      {"one input", {{quotes}, {1000}, {0}}},
  };
  for (const auto& [name, c] : cases) {
    for (size_t max_batch : {1, 3, 64, 4096}) {
      for (uint64_t seed : {1, 2}) {
        const std::string label = name;
        CAPTURE(label);
        CAPTURE(max_batch);
        CAPTURE(seed);
        check_case(c, max_batch, seed * 1000 + max_batch);
      }
    }
  }
}
