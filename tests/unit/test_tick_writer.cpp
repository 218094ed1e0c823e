// Exact-bytes tests of the output formats (SPEC §5); output files and the writer EPs are
// tested in test_output_files.cpp.
#include <doctest/doctest.h>

#include "writer_test_support.hpp"

using namespace tickflow;
using namespace writer_test;
namespace fs = std::filesystem;

TEST_CASE("output format names") {
  CHECK(parse_output_format("csv") == OutputFormat::Csv);
  CHECK(parse_output_format("jsonl") == OutputFormat::Jsonl);
  CHECK(parse_output_format("table") == OutputFormat::Table);
  CHECK_FALSE(parse_output_format("json").has_value());
  CHECK_FALSE(parse_output_format("CSV").has_value());
  CHECK(output_format_extension(OutputFormat::Csv) == "csv");
  CHECK(output_format_extension(OutputFormat::Jsonl) == "jsonl");
  CHECK(output_format_extension(OutputFormat::Table) == "txt");
}

TEST_CASE("csv: every type") {
  auto schema = all_types_schema();
  BatchBuilder b(schema);
  b.add(kT0, {int64_t{42}, 1.5, true, std::string("abc"), kT0 + 123, int64_t{250'000'000}});
  b.add(kT0 + 1, {int64_t{-7}, -0.25, false, std::string(""), int64_t{-1}, int64_t{-5}});
  CHECK(render_one(OutputFormat::Csv, schema, b.batch) ==
        "TIMESTAMP,I,D,B,S,T,DUR\n"
        "2024-01-02 09:30:00.000000000,42,1.5,true,abc,2024-01-02 09:30:00.000000123,250000000\n"
        "2024-01-02 09:30:00.000000001,-7,-0.25,false,,1969-12-31 23:59:59.999999999,-5\n");
}

TEST_CASE("csv: doubles in shortest round-trip form") {
  CHECK(csv_of_double(0.1) == "0.1");
  CHECK(csv_of_double(1.0) == "1");
  CHECK(csv_of_double(100.0) == "100");
  CHECK(csv_of_double(1e300) == "1e+300");
  CHECK(csv_of_double(-0.0) == "-0");
  CHECK(csv_of_double(5e-324) == "5e-324");
  CHECK(csv_of_double(123456789012345680.0) == "1.2345678901234568e+17");
  CHECK(csv_of_double(0.1 + 0.2) == "0.30000000000000004");
  CHECK(csv_of_double(-1.7976931348623157e308) == "-1.7976931348623157e+308");
  CHECK(csv_of_double(kNaN) == "nan");
  CHECK(csv_of_double(-kNaN) == "nan");
  CHECK(csv_of_double(kInf) == "inf");
  CHECK(csv_of_double(-kInf) == "-inf");
}

TEST_CASE("csv: doubles round-trip") {
  std::mt19937_64 rng(7);
  auto schema = make_schema({{"X", Type::Double}});
  BatchBuilder b(schema);
  std::vector<double> values;
  for (int i = 0; i < 2000; ++i) {
    uint64_t bits = rng();
    double value;
    std::memcpy(&value, &bits, sizeof value);
    if (!std::isfinite(value)) continue;
    values.push_back(value);
    b.add(0, {value});
  }
  std::istringstream lines(render_one(OutputFormat::Csv, schema, b.batch));
  std::string line;
  std::getline(lines, line);
  for (double expected : values) {
    REQUIRE(std::getline(lines, line));
    double parsed = std::strtod(line.substr(line.find(',') + 1).c_str(), nullptr);
    CHECK(std::memcmp(&parsed, &expected, sizeof parsed) == 0);
  }
}

TEST_CASE("csv: doubles print exactly like fmt's shortest form") {
  // The writer has a fast path for values with few decimals; it must never differ.
  std::mt19937_64 rng(3);
  std::vector<double> values = {
      0.001,  0.0011,     0.000999999,        1e15, 1e15 - 1, 999999999999999.9,
      0x1p50, 0x1p50 - 1, 4503599627370495.5, 0.3,  2.5,      -1e-4};
  for (int i = 0; i < 20000; ++i) {
    double scale = std::pow(10.0, static_cast<int>(rng() % 12));
    auto mantissa = static_cast<int64_t>(rng() % (uint64_t{1} << (rng() % 54)));
    values.push_back(static_cast<double>(mantissa) / scale);
    values.push_back(-static_cast<double>(mantissa) / scale);
    values.push_back(static_cast<double>(mantissa) / 3);
    values.push_back(
        std::ldexp(static_cast<double>(rng() % 1000000), static_cast<int>(rng() % 80) - 40));
  }
  auto schema = make_schema({{"X", Type::Double}});
  BatchBuilder b(schema);
  for (double value : values) b.add(0, {value});
  std::istringstream lines(render_one(OutputFormat::Csv, schema, b.batch));
  std::string line;
  std::getline(lines, line);
  for (double value : values) {
    REQUIRE(std::getline(lines, line));
    REQUIRE(line.substr(line.find(',') + 1) == fmt::format("{}", value));
  }
}

TEST_CASE("csv: integers at the limits") {
  auto schema = make_schema({{"I", Type::Int}});
  BatchBuilder b(schema);
  b.add(0, {std::numeric_limits<int64_t>::min()}).add(0, {std::numeric_limits<int64_t>::max()});
  b.add(0, {int64_t{0}});
  CHECK(render_one(OutputFormat::Csv, schema, b.batch) ==
        "TIMESTAMP,I\n"
        "1970-01-01 00:00:00.000000000,-9223372036854775808\n"
        "1970-01-01 00:00:00.000000000,9223372036854775807\n"
        "1970-01-01 00:00:00.000000000,0\n");
}

TEST_CASE("csv: strings are quoted only when RFC 4180 needs it") {
  auto schema = make_schema({{"S", Type::String}});
  BatchBuilder b(schema);
  for (const char* s : {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\rhere", "", " padded ",
                        "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC"}) {
    b.add(0, {std::string(s)});
  }
  CHECK(render_one(OutputFormat::Csv, schema, b.batch) ==
        "TIMESTAMP,S\n"
        "1970-01-01 00:00:00.000000000,plain\n"
        "1970-01-01 00:00:00.000000000,\"a,b\"\n"
        "1970-01-01 00:00:00.000000000,\"say \"\"hi\"\"\"\n"
        "1970-01-01 00:00:00.000000000,\"two\nlines\"\n"
        "1970-01-01 00:00:00.000000000,\"cr\rhere\"\n"
        "1970-01-01 00:00:00.000000000,\n"
        "1970-01-01 00:00:00.000000000, padded \n"
        "1970-01-01 00:00:00.000000000,caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\n");
}

TEST_CASE("csv: times print exactly like format_time, across days and before 1970") {
  std::mt19937_64 rng(11);
  auto schema = make_schema({{"T", Type::Time}});
  BatchBuilder b(schema);
  std::vector<int64_t> times = {0,
                                -1,
                                -kNanosPerSecond,
                                86400 * kNanosPerSecond - 1,
                                86400 * kNanosPerSecond,
                                std::numeric_limits<int64_t>::min(),
                                std::numeric_limits<int64_t>::max(),
                                *parse_time_text("1900-02-28 23:59:59.5"),
                                *parse_time_text("2000-02-29 12:00:00")};
  int64_t t = kT0;
  for (int i = 0; i < 3000; ++i) {
    // Mostly small steps (same day, cache hits) with occasional jumps across days.
    t += i % 100 == 0 ? static_cast<int64_t>(rng() % (400LL * 86400 * kNanosPerSecond))
                      : static_cast<int64_t>(rng() % (60 * kNanosPerSecond));
    times.push_back(i % 7 == 0 ? -t : t);
  }
  for (int64_t time : times) b.add(time, {time});
  std::istringstream lines(render_one(OutputFormat::Csv, schema, b.batch));
  std::string line;
  std::getline(lines, line);
  CHECK(line == "TIMESTAMP,T");
  for (int64_t time : times) {
    REQUIRE(std::getline(lines, line));
    CHECK(line == format_time(time) + "," + format_time(time));
  }
  CHECK(format_time(-1) == "1969-12-31 23:59:59.999999999");
}

TEST_CASE("csv: SYMBOL column follows TIMESTAMP and set_symbol") {
  auto schema = make_schema({{"PRICE", Type::Double}});
  TempDir dir;
  fs::path target = dir.path / "out.csv";
  {
    auto out = OutputFile::open(target.string());
    TickWriter writer(OutputFormat::Csv, schema, *out, std::string("AAPL"));
    writer.write(BatchBuilder(schema).add(kT0, {1.5}).batch);
    writer.set_symbol("BRK,A");
    writer.write(BatchBuilder(schema).add(kT0, {2.0}).batch);
    writer.finish();
    out->commit();
  }
  CHECK(read_file(target) ==
        "TIMESTAMP,SYMBOL,PRICE\n"
        "2024-01-02 09:30:00.000000000,AAPL,1.5\n"
        "2024-01-02 09:30:00.000000000,\"BRK,A\",2\n");
}

TEST_CASE("csv: a SYMBOL field is not printed twice in a run with symbols") {
  auto schema = make_schema({{"SYMBOL", Type::String}, {"X", Type::Int}});
  auto batch = BatchBuilder(schema).add(0, {std::string("OLD"), int64_t{1}}).batch;
  CHECK(render_one(OutputFormat::Csv, schema, batch, std::string("NEW")) ==
        "TIMESTAMP,SYMBOL,X\n1970-01-01 00:00:00.000000000,NEW,1\n");
  CHECK(render_one(OutputFormat::Csv, schema, batch) ==
        "TIMESTAMP,SYMBOL,X\n1970-01-01 00:00:00.000000000,OLD,1\n");
}

TEST_CASE("header-only output for zero ticks") {
  auto schema = make_schema({{"A", Type::Int}, {"B", Type::String}});
  CHECK(render(OutputFormat::Csv, schema, {}) == "TIMESTAMP,A,B\n");
  CHECK(render(OutputFormat::Csv, schema, {Batch(schema)}, std::string("X")) ==
        "TIMESTAMP,SYMBOL,A,B\n");
  CHECK(render(OutputFormat::Jsonl, schema, {}) == "");
  CHECK(render(OutputFormat::Table, schema, {}) ==
        "TIMESTAMP  A  B\n"
        "---------  -  -\n");
  CHECK(render(OutputFormat::Csv, make_schema({}), {}) == "TIMESTAMP\n");
}

TEST_CASE("csv: output larger than one chunk, over many batches") {
  auto schema = make_schema({{"I", Type::Int}, {"S", Type::String}});
  std::vector<Batch> batches;
  std::string expected = "TIMESTAMP,I,S\n";
  std::string big(3 << 20, 'x');  // one row larger than the writer's chunk
  for (int b = 0; b < 20; ++b) {
    BatchBuilder builder(schema);
    for (int i = 0; i < 5000; ++i) {
      int64_t value = b * 5000 + i;
      std::string s = value == 12345 ? big : "s" + std::to_string(value);
      builder.add(kT0 + value, {value, s});
      expected += format_time(kT0 + value) + "," + std::to_string(value) + "," + s + "\n";
    }
    batches.push_back(std::move(builder.batch));
  }
  CHECK(render(OutputFormat::Csv, schema, batches) == expected);
}

TEST_CASE("jsonl: every type") {
  auto schema = all_types_schema();
  BatchBuilder b(schema);
  b.add(kT0, {int64_t{42}, 1.5, true, std::string("abc"), kT0 + 123, int64_t{250'000'000}});
  b.add(kT0, {int64_t{-7}, kNaN, false, std::string(""), int64_t{-1}, int64_t{-5}});
  b.add(kT0, {int64_t{0}, kInf, false, std::string("x"), int64_t{0}, int64_t{0}});
  b.add(kT0, {int64_t{0}, -kInf, false, std::string("x"), int64_t{0}, int64_t{0}});
  CHECK(
      render_one(OutputFormat::Jsonl, schema, b.batch) ==
      R"({"TIMESTAMP":"2024-01-02 09:30:00.000000000","I":42,"D":1.5,"B":true,"S":"abc","T":"2024-01-02 09:30:00.000000123","DUR":250000000})"
      "\n"
      R"({"TIMESTAMP":"2024-01-02 09:30:00.000000000","I":-7,"D":null,"B":false,"S":"","T":"1969-12-31 23:59:59.999999999","DUR":-5})"
      "\n"
      R"({"TIMESTAMP":"2024-01-02 09:30:00.000000000","I":0,"D":null,"B":false,"S":"x","T":"1970-01-01 00:00:00.000000000","DUR":0})"
      "\n"
      R"({"TIMESTAMP":"2024-01-02 09:30:00.000000000","I":0,"D":null,"B":false,"S":"x","T":"1970-01-01 00:00:00.000000000","DUR":0})"
      "\n");
}

TEST_CASE("jsonl: doubles are valid JSON numbers") {
  auto schema = make_schema({{"D", Type::Double}});
  BatchBuilder b(schema);
  for (double d : {0.1, 1e300, -0.0, 5e-324, 123456789012345680.0, 2.0}) b.add(0, {d});
  CHECK(render_one(OutputFormat::Jsonl, schema, b.batch) ==
        "{\"TIMESTAMP\":\"1970-01-01 00:00:00.000000000\",\"D\":0.1}\n"
        "{\"TIMESTAMP\":\"1970-01-01 00:00:00.000000000\",\"D\":1e+300}\n"
        "{\"TIMESTAMP\":\"1970-01-01 00:00:00.000000000\",\"D\":-0}\n"
        "{\"TIMESTAMP\":\"1970-01-01 00:00:00.000000000\",\"D\":5e-324}\n"
        "{\"TIMESTAMP\":\"1970-01-01 00:00:00.000000000\",\"D\":1.2345678901234568e+17}\n"
        "{\"TIMESTAMP\":\"1970-01-01 00:00:00.000000000\",\"D\":2}\n");
}

TEST_CASE("jsonl: string escaping") {
  CHECK(jsonl_of_string("plain") == R"("plain")");
  CHECK(jsonl_of_string("") == R"("")");
  CHECK(jsonl_of_string("q\"b\\s/") == R"("q\"b\\s/")");
  CHECK(jsonl_of_string("a\nb\rc\td\be\ff") == R"("a\nb\rc\td\be\ff")");
  CHECK(jsonl_of_string(std::string("nul\0x\x01\x1f\x7f", 8)) ==
        "\"nul\\u0000x\\u0001\\u001f\x7f\"");
  // Valid UTF-8 (2, 3 and 4 byte sequences) passes through unchanged.
  CHECK(jsonl_of_string("caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80") ==
        "\"caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80\"");
  // Invalid bytes become U+FFFD so that the line stays valid JSON.
  CHECK(jsonl_of_string("a\xFF"
                        "b") == R"("a\ufffdb")");
  CHECK(jsonl_of_string("\xC3") == R"("\ufffd")");
  CHECK(jsonl_of_string("\xE6\x97"
                        "x") == R"("\ufffd\ufffdx")");
  CHECK(jsonl_of_string("\xC0\xAF") == R"("\ufffd\ufffd")");            // overlong
  CHECK(jsonl_of_string("\xED\xA0\x80") == R"("\ufffd\ufffd\ufffd")");  // surrogate
}

TEST_CASE("jsonl: SYMBOL after TIMESTAMP") {
  auto schema = make_schema({{"X", Type::Int}});
  CHECK(render_one(OutputFormat::Jsonl, schema, BatchBuilder(schema).add(0, {int64_t{1}}).batch,
                   std::string("A\"B")) ==
        "{\"TIMESTAMP\":\"1970-01-01 00:00:00.000000000\",\"SYMBOL\":\"A\\\"B\",\"X\":1}\n");
}

TEST_CASE("table: aligned columns") {
  auto schema = make_schema({{"NAME", Type::String},
                             {"PRICE", Type::Double},
                             {"SIZE", Type::Int},
                             {"OK", Type::Bool},
                             {"WAIT", Type::Duration}});
  BatchBuilder b(schema);
  b.add(kT0, {std::string("caf\xC3\xA9"), 1.5, int64_t{100}, true, int64_t{5}});
  b.add(kT0 + 1, {std::string("x\ny"), -12.25, int64_t{-3}, false, int64_t{1000}});
  CHECK(render_one(OutputFormat::Table, schema, b.batch, std::string("AAPL")) ==
        "TIMESTAMP                      SYMBOL  NAME   PRICE  SIZE  OK     WAIT\n"
        "-----------------------------  ------  ----  ------  ----  -----  ----\n"
        "2024-01-02 09:30:00.000000000  AAPL    caf\xC3\xA9     1.5   100  true      5\n"
        "2024-01-02 09:30:00.000000001  AAPL    x\\ny  -12.25    -3  false  1000\n");
}

TEST_CASE("table: last left-aligned column has no trailing spaces") {
  auto schema = make_schema({{"S", Type::String}});
  BatchBuilder b(schema);
  b.add(0, {std::string("long value")}).add(0, {std::string("a")});
  CHECK(render_one(OutputFormat::Table, schema, b.batch) ==
        "TIMESTAMP                      S\n"
        "-----------------------------  ----------\n"
        "1970-01-01 00:00:00.000000000  long value\n"
        "1970-01-01 00:00:00.000000000  a\n");
}
