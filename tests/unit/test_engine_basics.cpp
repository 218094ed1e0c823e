// Engine building blocks: YAML tree with locations, times and durations, name
// suggestions, columns and batches, parameter shapes checked by the loader.
#include <doctest/doctest.h>

#include <cmath>

#include "builtin.hpp"
#include "tickflow/batch.hpp"
#include "tickflow/config.hpp"
#include "tickflow/query.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

using namespace tickflow;

TEST_CASE("parse_yaml keeps locations of keys and values") {
  Diagnostics diags;
  ConfigNode root = parse_yaml("a: 1\nb:\n  c: [x, 'y']\n", "f.yaml", diags);
  REQUIRE_FALSE(diags.has_errors());
  REQUIRE(root.is_mapping());
  const auto* b = root.find_entry("b");
  REQUIRE(b);
  CHECK(b->key_location.to_string() == "f.yaml:2:1");
  const ConfigNode* c = b->value.find("c");
  REQUIRE(c);
  REQUIRE(c->items().size() == 2);
  CHECK(c->items()[1].location().to_string() == "f.yaml:3:10");
  CHECK_FALSE(c->items()[0].quoted());
  CHECK(c->items()[1].quoted());
}

TEST_CASE("parse_yaml reports duplicate keys with both locations") {
  Diagnostics diags;
  ConfigNode root = parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml", diags);
  REQUIRE(diags.size() == 1);
  CHECK(diags.items()[0].to_string() ==
        "f.yaml:3:1: error: duplicate key 'a' (first given at f.yaml:1:1)");
  CHECK(root.find("a")->text() == "1");
}

TEST_CASE("parse_yaml reports syntax errors with a location") {
  Diagnostics diags;
  parse_yaml("a: [1, 2\n", "f.yaml", diags);
  REQUIRE(diags.has_errors());
  CHECK(diags.items()[0].location.line >= 1);
  CHECK(diags.items()[0].message.find("invalid YAML") == 0);
}

TEST_CASE("times parse in every documented form and print with nanoseconds") {
  CHECK(parse_time_text("1970-01-01") == 0);
  CHECK(parse_time_text("2024-01-02 09:30:00") == 1704187800LL * kNanosPerSecond);
  CHECK(parse_time_text("2024-01-02T09:30:00Z") == 1704187800LL * kNanosPerSecond);
  CHECK(parse_time_text("2024-01-02T10:30:00+01:00") == 1704187800LL * kNanosPerSecond);
  CHECK(parse_time_text("2024-01-02 09:30:00.5") == 1704187800LL * kNanosPerSecond + 500000000);
  CHECK(parse_time_text("2024-01-02 09:30:00.123456789") ==
        1704187800LL * kNanosPerSecond + 123456789);
  CHECK_FALSE(parse_time_text("2024-02-30"));
  CHECK_FALSE(parse_time_text("2024-01-02 25:00:00"));
  CHECK_FALSE(parse_time_text("yesterday"));
  CHECK_FALSE(parse_time_text("2024-01-02 09:30:00."));
  CHECK(parse_time_or_nanos("123") == 123);
  CHECK(format_time(0) == "1970-01-01 00:00:00.000000000");
  CHECK(format_time(1704187800LL * kNanosPerSecond + 7) == "2024-01-02 09:30:00.000000007");
  CHECK(format_time(-1) == "1969-12-31 23:59:59.999999999");
  CHECK(format_time(*parse_time_text("2000-02-29 23:59:59.999999999")) ==
        "2000-02-29 23:59:59.999999999");
}

TEST_CASE("durations") {
  CHECK(parse_duration("10ns") == 10);
  CHECK(parse_duration("5us") == 5000);
  CHECK(parse_duration("250ms") == 250000000);
  CHECK(parse_duration("3s") == 3 * kNanosPerSecond);
  CHECK(parse_duration("2m") == 120 * kNanosPerSecond);
  CHECK(parse_duration("1h") == 3600 * kNanosPerSecond);
  CHECK(parse_duration("1d") == 86400 * kNanosPerSecond);
  CHECK(parse_duration("-5s") == -5 * kNanosPerSecond);
  CHECK_FALSE(parse_duration("5"));
  CHECK_FALSE(parse_duration("5 s"));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("99999999999999d"));
}

TEST_CASE("did you mean") {
  CHECK(did_you_mean("kep", {"keep", "drop", "head"}) == " (did you mean 'keep'?)");
  CHECK(did_you_mean("PRICEE", {"PRICE", "SIZE"}) == " (did you mean 'PRICE'?)");
  CHECK(did_you_mean("zzzzzz", {"PRICE", "SIZE"}) == "");
  CHECK(closest_name("price", {"PRICE"}) == "PRICE");
}

TEST_CASE("columns and batches") {
  auto schema = make_schema({{"P", Type::Double}, {"S", Type::String}, {"B", Type::Bool}});
  Batch b(schema);
  b.times = {1, 2, 3};
  b.columns[0].doubles() = {1.5, 2.5, 3.5};
  b.columns[1].strings() = {"a", "b", "a long string that is not small"};
  b.columns[2].bools() = {1, 0, 1};
  Batch s = b.slice(1, 3);
  CHECK(s.size() == 2);
  CHECK(s.times == std::vector<int64_t>{2, 3});
  CHECK(std::get<std::string>(s.columns[1].value(1)) == "a long string that is not small");
  Column c(Type::Double);
  c.resize(2);
  CHECK(std::isnan(c.doubles()[1]));
  CHECK(b.bytes() > s.bytes());
}

TEST_CASE("loader checks parameter shapes and reports all errors in file order") {
  Registry registry;
  eps::register_builtins(registry);
  Diagnostics diags;
  auto q = load_query_text(R"(tickflow: 1
nodes:
  g: {ep: generate, count: many, interval: soon}
  h: {ep: head, in: g, n: 1.5}
)",
                           "q.yaml", registry, {}, diags);
  CHECK_FALSE(q);
  REQUIRE(diags.size() == 3);
  CHECK(diags.items()[0].to_string().find("q.yaml:3:28: error: node 'g': parameter 'count': "
                                          "expected an integer, found 'many'") == 0);
  CHECK(diags.items()[1].message.find("expected a duration") != std::string::npos);
  CHECK(diags.items()[2].location.line == 4);
}

TEST_CASE("query params: defaults, overrides, substitution and bad values") {
  Registry registry;
  eps::register_builtins(registry);
  const std::string text = R"(tickflow: 1
params:
  N: {type: int, default: 3}
  NAME: {type: string, default: out}
nodes:
  g: {ep: generate, count: 10}
  h: {ep: head, in: g, n: 2}
  w: {ep: write_csv, in: h, path: "/tmp/${NAME}.csv"}
)";
  Diagnostics diags;
  QueryOverrides overrides;
  overrides.params = {{"N", "7"}};
  auto q = load_query_text(text, "q.yaml", registry, overrides, diags);
  REQUIRE(q);
  CHECK(q->params[0].value == "7");
  overrides.params = {{"N", "seven"}};
  Diagnostics bad;
  CHECK_FALSE(load_query_text(text, "q.yaml", registry, overrides, bad));
  CHECK(bad.items()[0].message.find("expected a value of type int") != std::string::npos);
  overrides.params = {{"M", "1"}};
  Diagnostics unknown;
  CHECK_FALSE(load_query_text(text, "q.yaml", registry, overrides, unknown));
  CHECK(unknown.items()[0].message.find("declares no parameter 'M' (did you mean 'N'?)") !=
        std::string::npos);
}
