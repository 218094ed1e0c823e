// Unit tests of the basic built-in EPs (ticks, generate, keep/drop/rename, head/tail),
// run directly through their bind functions and operators with a minimal BindContext.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "test_bind_support.hpp"
#include "tickflow/config.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/registry.hpp"
#include "tickflow/time.hpp"

using namespace tickflow;

namespace {

const Registry& registry() {
  static const Registry instance = [] {
    Registry r;
    eps::register_ticks(r);
    eps::register_generate(r);
    eps::register_fields(r);
    eps::register_head_tail(r);
    return r;
  }();
  return instance;
}

// The BindContext of these tests: an EP of registry().
class TestBind : public bind_test::EpBind {
 public:
  TestBind(const std::string& ep, const std::string& params_yaml,
           std::vector<SchemaPtr> inputs = {}, QueryInfo query = {})
      : EpBind(registry(), ep, params_yaml, std::move(inputs), std::move(query)) {}
};

struct CollectingSink : OutputSink {
  std::vector<Batch> batches;
  void emit(size_t port, Batch&& batch) override {
    CHECK(port == 0);
    batches.push_back(std::move(batch));
  }
};

std::string cell_text(const Column& column, size_t row) {
  std::ostringstream out;
  switch (column.type()) {
    case Type::Double:
      out << column.doubles()[row];
      break;
    case Type::Bool:
      out << (column.bools()[row] ? "true" : "false");
      break;
    case Type::String:
      out << '"' << column.strings()[row] << '"';
      break;
    case Type::Time:
      out << format_time(column.ints()[row]);
      break;
    default:
      out << column.ints()[row];
  }
  return out.str();
}

// One line per tick: "TIME|v1|v2...", with times relative to `origin` in ns.
std::vector<std::string> rows_of(const std::vector<Batch>& batches, int64_t origin = 0) {
  std::vector<std::string> rows;
  for (const auto& batch : batches) {
    for (size_t r = 0; r < batch.size(); ++r) {
      std::string line = std::to_string(batch.times[r] - origin);
      for (const auto& column : batch.columns) line += "|" + cell_text(column, r);
      rows.push_back(line);
    }
  }
  return rows;
}

std::string schema_text(const Schema& schema) {
  std::string text;
  for (const auto& f : schema.fields()) {
    text += (text.empty() ? "" : ",") + f.name + ":" + std::string(type_name(f.type));
  }
  return text;
}

RunContext run_context(const QueryInfo* query, size_t batch_size = 4096, std::string symbol = "") {
  RunContext run;
  run.node_id = "node";
  run.symbol = std::move(symbol);
  run.batch_size = batch_size;
  run.query = query;
  return run;
}

// Runs a source operator to exhaustion.
std::vector<Batch> run_source(const OperatorFactory& factory, const RunContext& run) {
  auto op = factory(run);
  CollectingSink sink;
  int guard = 0;
  while (op->produce(sink)) REQUIRE(++guard < 10'000'000);
  op->finish(sink);
  for (const auto& batch : sink.batches) CHECK(batch.size() <= run.batch_size);
  return std::move(sink.batches);
}

// Feeds `input` to a one-input operator in batches of `batch_size` ticks.
std::vector<Batch> run_one_input(const OperatorFactory& factory, const Batch& input,
                                 size_t batch_size, Held* peak = nullptr) {
  QueryInfo query;
  auto op = factory(run_context(&query, batch_size));
  CollectingSink sink;
  for (size_t begin = 0; begin < input.size(); begin += batch_size) {
    op->process(0, input.slice(begin, std::min(input.size(), begin + batch_size)), sink);
    if (peak) {
      peak->ticks = std::max(peak->ticks, op->held().ticks);
      peak->bytes = std::max(peak->bytes, op->held().bytes);
    }
  }
  op->input_finished(0, sink);
  op->finish(sink);
  if (peak) CHECK(op->held().ticks == 0);
  return std::move(sink.batches);
}

// A small stream with mixed types: SYM string, PX double, QTY int, FLAG bool.
Batch sample_input(size_t n) {
  Batch batch(make_schema(
      {{"SYM", Type::String}, {"PX", Type::Double}, {"QTY", Type::Int}, {"FLAG", Type::Bool}}));
  const char* symbols[] = {"A", "B", "C", "A", "A", "B"};
  for (size_t i = 0; i < n; ++i) {
    batch.times.push_back(1000 + static_cast<int64_t>(i / 2));  // equal timestamps in pairs
    batch.columns[0].strings().push_back(symbols[i % 6]);
    batch.columns[1].doubles().push_back(static_cast<double>(i) + 0.5);
    batch.columns[2].ints().push_back(static_cast<int64_t>(i));
    batch.columns[3].bools().push_back(i % 3 == 0);
  }
  return batch;
}

const int64_t kDefaultStart = *parse_time_text("2024-01-02 09:30:00");

}  // namespace

// ---------------------------------------------------------------- ticks

TEST_CASE("ticks: inferred types, field order, defaults and 1ms stamping") {
  TestBind ctx("ticks", R"(
fields: {Z: double}
rows:
  - {A: 1, B: 2.5, C: true, D: hello, E: '42', F: nan}
  - {Z: 3, G: -inf, A: -7}
  - {B: 1e3, D: "x y"}
)");
  auto factory = ctx.bind();
  REQUIRE_MESSAGE(factory, ctx.all_errors());
  CHECK(schema_text(*ctx.output_schema) ==
        "Z:double,A:int,B:double,C:bool,D:string,E:string,F:double,G:double");
  CHECK(ctx.output_time_ordered);
  QueryInfo query;
  auto rows = rows_of(run_source(factory, run_context(&query)));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0] == "0|nan|1|2.5|true|\"hello\"|\"42\"|nan|nan");
  CHECK(rows[1] == "1000000|3|-7|nan|false|\"\"|\"\"|nan|-inf");
  CHECK(rows[2] == "2000000|nan|0|1000|false|\"x y\"|\"\"|nan|nan");
}

TEST_CASE("ticks: explicit TIMESTAMP, declared time/duration, range clipping and batches") {
  const std::string yaml = R"(
fields: {T: time, D: duration, N: int}
rows:
  - {TIMESTAMP: "2024-01-02 09:30:00", N: 1, T: "2024-01-02", D: 5ms}
  - {TIMESTAMP: "2024-01-02 09:30:01", N: 2, D: 7}
  - {TIMESTAMP: "2024-01-02 09:30:01", N: 3}
  - {TIMESTAMP: "2024-01-02T09:30:02Z", N: 4}
  - {TIMESTAMP: 1704187803000000000, N: 5}
)";
  QueryInfo query;
  query.range_start = kDefaultStart + kNanosPerSecond;
  query.range_end = kDefaultStart + 3 * kNanosPerSecond;
  TestBind ctx("ticks", yaml, {}, query);
  auto factory = ctx.bind();
  REQUIRE_MESSAGE(factory, ctx.all_errors());
  CHECK(schema_text(*ctx.output_schema) == "T:time,D:duration,N:int");
  auto rows = rows_of(run_source(factory, run_context(&query, 1)), kDefaultStart);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0] == "1000000000|1970-01-01 00:00:00.000000000|7|2");
  CHECK(rows[1] == "1000000000|1970-01-01 00:00:00.000000000|0|3");
  CHECK(rows[2] == "2000000000|1970-01-01 00:00:00.000000000|0|4");

  QueryInfo no_range;
  TestBind all("ticks", yaml);
  auto all_rows = rows_of(run_source(all.bind(), run_context(&no_range, 2)), kDefaultStart);
  REQUIRE(all_rows.size() == 5);
  CHECK(all_rows[0] == "0|2024-01-02 00:00:00.000000000|5000000|1");
  CHECK(all_rows[4] == "3000000000|1970-01-01 00:00:00.000000000|0|5");
}

TEST_CASE("ticks: rows without TIMESTAMP start at the range start") {
  QueryInfo query;
  query.range_start = kDefaultStart;
  TestBind ctx("ticks", "rows: [{X: 1}, {X: 2}]", {}, query);
  auto rows = rows_of(run_source(ctx.bind(), run_context(&query)), kDefaultStart);
  CHECK(rows == std::vector<std::string>{"0|1", "1000000|2"});
}

TEST_CASE("ticks: SYMBOL selects rows in a run with symbols") {
  QueryInfo query;
  query.symbols = {"AAPL", "MSFT"};
  TestBind ctx("ticks", "rows: [{SYMBOL: AAPL, X: 1}, {SYMBOL: MSFT, X: 2}, {SYMBOL: AAPL, X: 3}]",
               {}, query);
  auto factory = ctx.bind();
  REQUIRE_MESSAGE(factory, ctx.all_errors());
  CHECK(schema_text(*ctx.output_schema) == "X:int");
  CHECK(rows_of(run_source(factory, run_context(&query, 10, "AAPL"))) ==
        std::vector<std::string>{"0|1", "2000000|3"});
  CHECK(rows_of(run_source(factory, run_context(&query, 10, "MSFT"))) ==
        std::vector<std::string>{"1000000|2"});

  // Without symbols SYMBOL is an ordinary field.
  TestBind plain("ticks", "rows: [{SYMBOL: AAPL, X: 1}]");
  REQUIRE(plain.bind());
  CHECK(schema_text(*plain.output_schema) == "SYMBOL:string,X:int");
}

TEST_CASE("ticks: errors point at the offending value") {
  SUBCASE("value does not fit the declared type") {
    TestBind ctx("ticks", "fields: {N: int}\nrows:\n  - {N: abc}\n");
    CHECK(!ctx.bind());
    REQUIRE(ctx.errors.size() == 1);
    CHECK(ctx.errors[0].find("test.yaml:3:9: row 1: N is 'abc', which is not an int") == 0);
  }
  SUBCASE("later row conflicts with the inferred type") {
    TestBind ctx("ticks", "rows:\n  - {N: 1}\n  - {N: 1.5}\n");
    CHECK(!ctx.bind());
    REQUIRE(ctx.errors.size() == 1);
    CHECK(ctx.errors[0].find("test.yaml:3:9: row 2: N is '1.5', which is not an int") == 0);
    CHECK(ctx.errors[0].find("inferred from row 1") != std::string::npos);
  }
  SUBCASE("invalid field name") {
    TestBind ctx("ticks", "rows:\n  - {1X: 1}\n");
    CHECK(!ctx.bind());
    REQUIRE(ctx.errors.size() == 1);
    CHECK(ctx.errors[0].find("test.yaml:2:6: invalid field name '1X'") == 0);
  }
  SUBCASE("timestamps out of order name the row") {
    TestBind ctx("ticks", R"(rows:
  - {TIMESTAMP: "2024-01-02 09:30:01", X: 1}
  - {TIMESTAMP: "2024-01-02 09:30:00", X: 2}
)");
    CHECK(!ctx.bind());
    REQUIRE(ctx.errors.size() == 1);
    CHECK(ctx.errors[0].find("test.yaml:3:17: row 2: TIMESTAMP 2024-01-02 09:30:00") == 0);
  }
  SUBCASE("unknown type name suggests the right one") {
    TestBind ctx("ticks", "fields: {X: dobule}\nrows: []\n");
    CHECK(!ctx.bind());
    REQUIRE(ctx.errors.size() == 1);
    CHECK(ctx.errors[0].find("test.yaml:1:13: unknown type 'dobule'") == 0);
    CHECK(ctx.errors[0].find("did you mean 'double'") != std::string::npos);
  }
  SUBCASE("bad TIMESTAMP text") {
    TestBind ctx("ticks", "rows:\n  - {TIMESTAMP: soon}\n");
    CHECK(!ctx.bind());
    REQUIRE(ctx.errors.size() == 1);
    CHECK(ctx.errors[0].find("row 1: TIMESTAMP 'soon' is not a time") != std::string::npos);
  }
  SUBCASE("every error is reported") {
    TestBind ctx("ticks", "fields: {N: int}\nrows:\n  - {N: a}\n  - {N: b}\n");
    CHECK(!ctx.bind());
    CHECK(ctx.errors.size() == 2);
  }
}

// ---------------------------------------------------------------- generate

TEST_CASE("generate: deterministic per seed and symbol, time ordered, count") {
  QueryInfo query;
  auto generate = [&](const std::string& params, const std::string& symbol, size_t batch_size) {
    TestBind ctx("generate", params, {}, query);
    auto factory = ctx.bind();
    REQUIRE_MESSAGE(factory, ctx.all_errors());
    return rows_of(run_source(factory, run_context(&query, batch_size, symbol)));
  };
  auto a = generate("count: 500", "AAPL", 4096);
  CHECK(a.size() == 500);
  CHECK(generate("count: 500", "AAPL", 7) == a);  // batch size does not matter
  CHECK(generate("count: 500", "MSFT", 4096) != a);
  CHECK(generate("{count: 500, seed: 2}", "AAPL", 4096) != a);
  CHECK(generate("count: 0", "AAPL", 4096).empty());

  TestBind ctx("generate", "count: 2000");
  auto batches = run_source(ctx.bind(), run_context(&query, 300));
  CHECK(schema_text(*ctx.output_schema) == "PRICE:double,SIZE:int,EXCHANGE:string");
  int64_t previous = kDefaultStart;
  size_t total = 0;
  double mean_gap = 0;
  for (const auto& batch : batches) {
    for (size_t i = 0; i < batch.size(); ++i) {
      CHECK(batch.times[i] >= previous);
      previous = batch.times[i];
      const double price = batch.columns[0].doubles()[i];
      CHECK(price > 0);
      CHECK(std::round(price * 100) / 100 == price);  // whole cents
      CHECK(batch.columns[1].ints()[i] % 100 == 0);
      CHECK(batch.columns[1].ints()[i] >= 100);
      CHECK(batch.columns[2].strings()[i].size() == 1);
    }
    total += batch.size();
  }
  CHECK(batches.front().times.front() == kDefaultStart);
  mean_gap = static_cast<double>(previous - kDefaultStart) / 1999.0;
  CHECK(total == 2000);
  CHECK(mean_gap > 80e6);  // 100ms on average
  CHECK(mean_gap < 120e6);
}

TEST_CASE("generate: quotes have ask above bid") {
  QueryInfo query;
  TestBind ctx("generate", "{kind: quotes, count: 1000, interval: 1s, start: \"2024-03-01\"}");
  auto batches = run_source(ctx.bind(), run_context(&query));
  CHECK(schema_text(*ctx.output_schema) ==
        "BID_PRICE:double,BID_SIZE:int,ASK_PRICE:double,ASK_SIZE:int");
  REQUIRE(batches.size() == 1);
  const Batch& b = batches[0];
  CHECK(b.size() == 1000);
  CHECK(b.times[0] == *parse_time_text("2024-03-01"));
  for (size_t i = 0; i < b.size(); ++i) {
    CHECK(b.columns[2].doubles()[i] > b.columns[0].doubles()[i]);
    CHECK(b.columns[1].ints()[i] >= 100);
    CHECK(b.columns[3].ints()[i] >= 100);
  }
}

TEST_CASE("generate: the range clips without changing the remaining ticks") {
  const std::string params = "{count: 1000, interval: 10ms, start: \"2024-01-02 09:30:00\"}";
  QueryInfo no_range;
  TestBind full_ctx("generate", params);
  auto full = rows_of(run_source(full_ctx.bind(), run_context(&no_range, 64)));
  REQUIRE(full.size() == 1000);

  QueryInfo query;
  query.range_start = kDefaultStart + 2 * kNanosPerSecond;
  query.range_end = kDefaultStart + 5 * kNanosPerSecond;
  TestBind ctx("generate", params, {}, query);
  auto clipped_batches = run_source(ctx.bind(), run_context(&query, 64));
  auto clipped = rows_of(clipped_batches);
  std::vector<std::string> expected;
  for (const auto& row : full) {
    const int64_t t = std::stoll(row.substr(0, row.find('|')));
    if (t >= *query.range_start && t < *query.range_end) expected.push_back(row);
  }
  CHECK(!expected.empty());
  CHECK(clipped == expected);
  for (const auto& batch : clipped_batches) CHECK(!batch.empty());
}

TEST_CASE("generate: start defaults to the range start") {
  QueryInfo query;
  query.range_start = *parse_time_text("2024-05-06 10:00:00");
  TestBind ctx("generate", "count: 3", {}, query);
  auto batches = run_source(ctx.bind(), run_context(&query));
  REQUIRE(!batches.empty());
  CHECK(batches[0].times[0] == *query.range_start);
}

TEST_CASE("generate: invalid parameters") {
  TestBind ctx("generate", "{count: -1, interval: 0s, kind: trade}");
  CHECK(!ctx.bind());
  CHECK(ctx.errors.size() == 3);
  CHECK(ctx.all_errors().find("test.yaml:1:9: count must be >= 0") != std::string::npos);
  CHECK(ctx.all_errors().find("test.yaml:1:23: interval must be a positive") != std::string::npos);
  CHECK(ctx.all_errors().find("did you mean 'trades'") != std::string::npos);
}

// ---------------------------------------------------------------- keep / drop / rename

TEST_CASE("keep: listed order, TIMESTAMP ignored, values moved") {
  Batch input = sample_input(4);
  TestBind ctx("keep", "fields: [QTY, TIMESTAMP, SYM]", {input.schema});
  auto factory = ctx.bind();
  REQUIRE_MESSAGE(factory, ctx.all_errors());
  CHECK(schema_text(*ctx.output_schema) == "QTY:int,SYM:string");
  auto rows = rows_of(run_one_input(factory, input, 3));
  CHECK(rows ==
        std::vector<std::string>{"1000|0|\"A\"", "1000|1|\"B\"", "1001|2|\"C\"", "1001|3|\"A\""});
}

TEST_CASE("drop and rename keep positions") {
  Batch input = sample_input(2);
  TestBind drop("drop", "fields: [PX, FLAG]", {input.schema});
  auto drop_factory = drop.bind();
  REQUIRE_MESSAGE(drop_factory, drop.all_errors());
  CHECK(schema_text(*drop.output_schema) == "SYM:string,QTY:int");
  CHECK(rows_of(run_one_input(drop_factory, input, 1)) ==
        std::vector<std::string>{"1000|\"A\"|0", "1000|\"B\"|1"});

  TestBind rename("rename", "fields: {PX: PRICE, SYM: QTY, QTY: SYM}", {input.schema});
  auto rename_factory = rename.bind();
  REQUIRE_MESSAGE(rename_factory, rename.all_errors());
  CHECK(schema_text(*rename.output_schema) == "QTY:string,PRICE:double,SYM:int,FLAG:bool");
  CHECK(rows_of(run_one_input(rename_factory, input, 5)) ==
        std::vector<std::string>{"1000|\"A\"|0.5|0|true", "1000|\"B\"|1.5|1|false"});
}

TEST_CASE("field EP errors") {
  auto schema = sample_input(0).schema;
  SUBCASE("unknown field with did-you-mean at the item") {
    TestBind ctx("keep", "fields: [SYM, QTYY]", {schema});
    CHECK(!ctx.bind());
    REQUIRE(ctx.errors.size() == 1);
    CHECK(ctx.errors[0].find("test.yaml:1:15: unknown field 'QTYY'") == 0);
    CHECK(ctx.errors[0].find("did you mean 'QTY'") != std::string::npos);
  }
  SUBCASE("keep lists a field twice") {
    TestBind ctx("keep", "fields: [SYM, SYM]", {schema});
    CHECK(!ctx.bind());
    CHECK(ctx.errors.size() == 1);
  }
  SUBCASE("drop TIMESTAMP") {
    TestBind ctx("drop", "fields: [TIMESTAMP]", {schema});
    CHECK(!ctx.bind());
    REQUIRE(ctx.errors.size() == 1);
    CHECK(ctx.errors[0].find("test.yaml:1:10: TIMESTAMP cannot be dropped") == 0);
  }
  SUBCASE("rename TIMESTAMP, unknown and clashing names") {
    TestBind ctx("rename", "fields: {TIMESTAMP: T, PXX: P, SYM: QTY, FLAG: 9x}", {schema});
    CHECK(!ctx.bind());
    const std::string errors = ctx.all_errors();
    CHECK(errors.find("test.yaml:1:10: TIMESTAMP cannot be renamed") != std::string::npos);
    CHECK(errors.find("test.yaml:1:24: unknown field 'PXX'") != std::string::npos);
    CHECK(errors.find("test.yaml:1:48: invalid field name '9x'") != std::string::npos);
  }
  SUBCASE("rename onto an existing field") {
    TestBind ctx("rename", "fields: {SYM: QTY}", {schema});
    CHECK(!ctx.bind());
    REQUIRE(ctx.errors.size() == 1);
    CHECK(ctx.errors[0].find("test.yaml:1:15: renaming SYM to QTY clashes with the existing") == 0);
  }
}

// ---------------------------------------------------------------- head / tail

namespace {

// The reference result: ticks i selected by `keep(i, group_position, group_size)`.
std::vector<std::string> expected_selection(const Batch& input, bool grouped, bool tail, size_t n) {
  std::map<std::string, size_t> group_sizes, seen;
  auto key = [&](size_t i) {
    return grouped ? std::string(input.columns[0].strings()[i]) : std::string();
  };
  for (size_t i = 0; i < input.size(); ++i) ++group_sizes[key(i)];
  Batch selected(input.schema);
  for (size_t i = 0; i < input.size(); ++i) {
    const size_t position = seen[key(i)]++;
    const bool keep = tail ? position + n >= group_sizes[key(i)] : position < n;
    if (keep) selected.append_row(input, i);
  }
  return rows_of({selected});
}

}  // namespace

TEST_CASE("head and tail, with and without group_by, across batch sizes") {
  const Batch input = sample_input(40);
  for (const char* ep : {"head", "tail"}) {
    for (bool grouped : {false, true}) {
      for (size_t n : {0, 1, 2, 5, 100}) {
        const std::string params = "n: " + std::to_string(n) + (grouped ? "\ngroup_by: [SYM]" : "");
        TestBind ctx(ep, params, {input.schema});
        auto factory = ctx.bind();
        REQUIRE_MESSAGE(factory, ctx.all_errors());
        CHECK(ctx.output_schema == input.schema);
        const bool tail = std::string(ep) == "tail";
        auto expected = expected_selection(input, grouped, tail, n);
        for (size_t batch_size : {1, 3, 7, 64}) {
          CAPTURE(ep);
          CAPTURE(grouped);
          CAPTURE(n);
          CAPTURE(batch_size);
          Held peak;
          CHECK(rows_of(run_one_input(factory, input, batch_size, &peak)) == expected);
          if (tail) {
            CHECK(peak.ticks <= static_cast<int64_t>(grouped ? 3 * n : n));
            if (n > 0) CHECK(peak.bytes > 0);
          } else {
            CHECK(peak.ticks == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("tail: accumulation and grouping by several typed fields") {
  const Batch input = sample_input(30);
  TestBind plain("tail", "n: 3", {input.schema});
  REQUIRE(plain.bind());
  CHECK(plain.accumulation.to_string() == "bounded(3 ticks)");

  TestBind grouped("tail", "{n: 1, group_by: [FLAG, SYM]}", {input.schema});
  auto factory = grouped.bind();
  REQUIRE_MESSAGE(factory, grouped.all_errors());
  CHECK(grouped.accumulation.to_string() == "bounded(1 ticks per group)");
  // (FLAG, SYM) by i % 6: 0 and 3 -> (true, A), 1 and 5 -> (false, B), 2 -> (false, C),
  // 4 -> (false, A); their last ticks below 30 are 27, 29, 26 and 28.
  auto rows = rows_of(run_one_input(factory, input, 4));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == "1013|\"C\"|26.5|26|false");
  CHECK(rows[1] == "1013|\"A\"|27.5|27|true");
  CHECK(rows[2] == "1014|\"A\"|28.5|28|false");
  CHECK(rows[3] == "1014|\"B\"|29.5|29|false");
}

TEST_CASE("head/tail: many groups with a long stream stay bounded") {
  Batch input(make_schema({{"K", Type::Int}}));
  const size_t n_ticks = 20000;
  for (size_t i = 0; i < n_ticks; ++i) {
    input.times.push_back(static_cast<int64_t>(i));
    input.columns[0].ints().push_back(static_cast<int64_t>((i * 7919) % 97));
  }
  TestBind ctx("tail", "{n: 2, group_by: K}", {input.schema});
  auto factory = ctx.bind();
  REQUIRE_MESSAGE(factory, ctx.all_errors());
  Held peak;
  auto rows = rows_of(run_one_input(factory, input, 100, &peak));
  CHECK(rows.size() == 2 * 97);
  CHECK(peak.ticks == 2 * 97);
  CHECK(rows.front().substr(0, 5) == std::to_string(n_ticks - 2 * 97));
}

TEST_CASE("head/tail errors") {
  auto schema = sample_input(0).schema;
  TestBind negative("head", "n: -1", {schema});
  CHECK(!negative.bind());
  CHECK(negative.all_errors().find("test.yaml:1:4: n must be >= 0") != std::string::npos);
  TestBind unknown("tail", "{n: 1, group_by: [SYN]}", {schema});
  CHECK(!unknown.bind());
  CHECK(unknown.all_errors().find("did you mean 'SYM'") != std::string::npos);
}
