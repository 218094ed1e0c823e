#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "sources/csv_reader.hpp"
#include "tickflow/time.hpp"

using namespace tickflow;
using namespace tickflow::csv;

namespace {

using Records = std::vector<std::vector<std::string>>;

RecordReader make_reader(std::string text, size_t chunk = kDefaultChunkSize, char delimiter = ',') {
  return RecordReader(memory_source(std::move(text)), "data.csv", delimiter, chunk);
}

Records read_all(const std::string& text, size_t chunk = kDefaultChunkSize, char delimiter = ',') {
  auto reader = make_reader(text, chunk, delimiter);
  Records out;
  while (reader.next()) {
    out.emplace_back();
    for (size_t i = 0; i < reader.size(); ++i) out.back().emplace_back(reader.cell(i));
  }
  return out;
}

// The message and location of the RuntimeError `action` throws.
template <typename Action>
std::pair<std::string, std::string> error_of(Action&& action) {
  try {
    action();
  } catch (const RuntimeError& e) {
    return {e.message(), e.data_location().to_string()};
  }
  return {"no error", ""};
}

struct Loaded {
  std::unique_ptr<RecordReader> reader;
  CsvLayout layout;
};

// Reads the header and infers types like the csv EP does (TIMESTAMP time column).
Loaded load(const std::string& text, size_t chunk = kDefaultChunkSize,
            std::optional<std::string> symbol_field = std::nullopt,
            std::vector<std::pair<std::string, Type>> given = {}) {
  auto sample = make_reader(text, chunk);
  auto header = read_header(sample);
  auto types = infer_column_types(sample, header.size(), 1000);
  for (const auto& [name, type] : given) {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) types[i] = type;
    }
  }
  size_t time_column = 0;
  std::optional<size_t> symbol_column;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "TIMESTAMP") time_column = i;
    if (symbol_field && header[i] == *symbol_field) symbol_column = i;
  }
  Loaded loaded;
  loaded.layout = make_layout(header, types, time_column, symbol_column,
                              std::vector<bool>(header.size(), true));
  loaded.reader = std::make_unique<RecordReader>(memory_source(text), "data.csv", ',', chunk);
  read_header(*loaded.reader);
  return loaded;
}

Batch read_ticks(Loaded& loaded, TickReaderOptions options = {}, size_t batch_size = 2,
                 int64_t* skipped = nullptr) {
  TickReader ticks(*loaded.reader, loaded.layout, std::move(options));
  Batch all(loaded.layout.schema);
  for (;;) {
    Batch batch(loaded.layout.schema);
    bool more = ticks.read(batch, batch_size);
    CHECK(batch.size() <= batch_size);
    all.append_rows(batch, 0, batch.size());
    if (!more) break;
  }
  if (skipped) *skipped = ticks.skipped_rows();
  return all;
}

int64_t t(const char* text) {
  return *parse_time_text(text);
}

}  // namespace

TEST_CASE("csv records: quoting, escapes and delimiters") {
  const std::string text = "a,\"b,c\",\"d\"\"e\"\n\"\",x,\"\"\"\"\n";
  for (size_t chunk : {1, 2, 3, 5, 64}) {
    CAPTURE(chunk);
    Records expected = {{"a", "b,c", "d\"e"}, {"", "x", "\""}};
    CHECK(read_all(text, chunk) == expected);
  }
  CHECK(read_all("a;b\n1;\"2;3\"\n", 4, ';') == Records{{"a", "b"}, {"1", "2;3"}});
  CHECK(read_all("a\tb\n1\t2", 3, '\t') == Records{{"a", "b"}, {"1", "2"}});
  // A quote inside an unquoted cell is kept as text.
  CHECK(read_all("ab\"c,d\n") == Records{{"ab\"c", "d"}});
}

TEST_CASE("csv records: line ends, empty lines, trailing delimiter, BOM") {
  for (size_t chunk : {1, 2, 3, 1024}) {
    CAPTURE(chunk);
    CHECK(read_all("a,b\r\nc,d\r\n", chunk) == Records{{"a", "b"}, {"c", "d"}});
    CHECK(read_all("a,b\rc,d", chunk) == Records{{"a", "b"}, {"c", "d"}});
    CHECK(read_all("a,b\n\n\r\nc,\n", chunk) == Records{{"a", "b"}, {"c", ""}});
    CHECK(read_all("\xEF\xBB\xBFx,y\n1,2", chunk) == Records{{"x", "y"}, {"1", "2"}});
    CHECK(read_all("", chunk).empty());
    CHECK(read_all("\n\n", chunk).empty());
  }
}

TEST_CASE("csv records: quoted line breaks keep line numbers right") {
  for (size_t chunk : {1, 4, 1024}) {
    CAPTURE(chunk);
    auto reader = make_reader("h1,h2\n\"multi\r\nline\",x\n\nlast,\"q\"\n", chunk);
    REQUIRE(reader.next());
    CHECK(reader.line() == 1);
    REQUIRE(reader.next());
    CHECK(reader.line() == 2);
    CHECK(reader.cell(0) == "multi\r\nline");
    CHECK(reader.location(1).to_string() == "data.csv:3:7");
    REQUIRE(reader.next());
    CHECK(reader.line() == 5);
    CHECK(reader.location(1).to_string() == "data.csv:5:6");
    CHECK(reader.end_location().to_string() == "data.csv:5:9");
    CHECK_FALSE(reader.next());
  }
}

TEST_CASE("csv records: malformed quoting and NUL bytes are located and skippable") {
  for (size_t chunk : {1, 3, 1024}) {
    CAPTURE(chunk);
    auto reader = make_reader("a,b\n1,\"x\"y,z\n2,3\n", chunk);
    REQUIRE(reader.next());
    auto [message, where] = error_of([&] { reader.next(); });
    CHECK(message.find("after a closing quote") != std::string::npos);
    CHECK(where == "data.csv:2:6");
    REQUIRE(reader.next());  // resumes at the next line
    CHECK(reader.line() == 3);
    CHECK(reader.cell(0) == "2");

    auto unterminated = make_reader("a,b\n1,2\n3,\"open\n4,5\n", chunk);
    REQUIRE(unterminated.next());
    REQUIRE(unterminated.next());
    std::tie(message, where) = error_of([&] { unterminated.next(); });
    CHECK(message.find("unterminated quoted cell") != std::string::npos);
    CHECK(where == "data.csv:3:3");
    CHECK_FALSE(unterminated.next());

    auto binary = make_reader(std::string("a,b\n1,x\0y\n2,3\n", 14), chunk);
    REQUIRE(binary.next());
    std::tie(message, where) = error_of([&] { binary.next(); });
    CHECK(message.find("NUL byte") != std::string::npos);
    CHECK(where == "data.csv:2:4");
    REQUIRE(binary.next());
    CHECK(binary.cell(0) == "2");
  }
}

TEST_CASE("csv records: a 10 MB line works with small chunks") {
  const std::string big(10 << 20, 'x');
  for (size_t chunk : {4096, 1 << 20}) {
    auto reader = make_reader("a,b\n1," + big + "\n2,\"" + big + "\"\n3,y", chunk);
    REQUIRE(reader.next());
    REQUIRE(reader.next());
    CHECK(reader.cell(1).size() == big.size());
    REQUIRE(reader.next());
    CHECK(reader.cell(1).size() == big.size());
    REQUIRE(reader.next());
    CHECK(reader.cell(1) == "y");
    CHECK(reader.line() == 4);
    CHECK_FALSE(reader.next());
  }
}

TEST_CASE("csv cells: numbers, bools, durations") {
  int64_t i = 0;
  CHECK((parse_int_cell("42", i) && i == 42));
  CHECK((parse_int_cell(" -7 ", i) && i == -7));
  CHECK((parse_int_cell("+5", i) && i == 5));
  CHECK_FALSE(parse_int_cell("+-5", i));
  CHECK_FALSE(parse_int_cell("1.0", i));
  CHECK_FALSE(parse_int_cell("abc", i));
  CHECK_FALSE(parse_int_cell("99999999999999999999", i));
  double d = 0;
  CHECK((parse_double_cell("1.5", d) && d == 1.5));
  CHECK((parse_double_cell("1e-3", d) && d == 1e-3));
  CHECK((parse_double_cell("nan", d) && std::isnan(d)));
  CHECK((parse_double_cell("inf", d) && d == INFINITY));
  CHECK((parse_double_cell("-inf", d) && d == -INFINITY));
  CHECK_FALSE(parse_double_cell("1.5x", d));
  CHECK_FALSE(parse_double_cell("", d));
  bool b = false;
  CHECK((parse_bool_cell("true", b) && b));
  CHECK((parse_bool_cell("FALSE", b) && !b));
  CHECK_FALSE(parse_bool_cell("yes", b));
  CHECK((parse_duration_cell("250ms", i) && i == 250'000'000));
  CHECK((parse_duration_cell("17", i) && i == 17));
  CHECK(describe_cell(std::string("a\0b", 3)) == "'a\\x00b'");
  CHECK(describe_cell(std::string(100, 'z')).find("... (100 bytes)") != std::string::npos);
}

TEST_CASE("csv times: formats and the date cache agree with the shared parser") {
  TimeParser automatic(TimeFormat::Auto);
  for (const char* text :
       {"2024-01-02 09:30:00", "2024-01-02 09:30:00.5", "2024-01-02T09:30:00.123456789",
        "2024-01-03 00:00:01.000000001", "2024-01-02", "2024-01-02 09:30", "2024-01-02T09:30:00Z",
        "2024-01-02T09:30:00+01:00"}) {
    CAPTURE(text);
    CHECK(automatic.parse(text) == parse_time_text(text));
  }
  CHECK(automatic.parse("1704187800000000000") == 1704187800000000000);
  // Fractions of every length, and a non-digit at each place of nine digits (bytes just
  // below '0' and above '9', a letter, bytes above 0x7f, NUL).
  std::string digits = "987654321";
  for (size_t length = 1; length <= 9; ++length) {
    const std::string text = "2024-01-02 09:30:00." + digits.substr(0, length);
    CAPTURE(text);
    CHECK(automatic.parse(text) == parse_time_text(text));
    CHECK(automatic.parse(text).has_value());
  }
  for (size_t at = 0; at < 9; ++at) {
    for (char bad : {'/', ':', 'a', '\x80', '\xff', '\0'}) {
      std::string text = "2024-01-02 09:30:00.000000000";
      text[20 + at] = bad;
      CAPTURE(at);
      CAPTURE(static_cast<int>(static_cast<unsigned char>(bad)));
      CHECK_FALSE(automatic.parse(text));
    }
  }
  CHECK(automatic.parse("2024-01-02 09:30:00.999999999") ==
        *parse_time_text("2024-01-02 09:30:00") + 999'999'999);
  CHECK_FALSE(automatic.parse("2024-13-02 09:30:00"));
  CHECK_FALSE(automatic.parse("2024-01-02 25:30:00"));
  CHECK_FALSE(automatic.parse("yesterday"));
  CHECK(TimeParser(TimeFormat::Seconds).parse("1704187800.25") == 1704187800'250000000);
  CHECK(TimeParser(TimeFormat::Millis).parse("-1500") == -1'500'000'000);
  CHECK(TimeParser(TimeFormat::Micros).parse("3.5") == 3'500);
  CHECK_FALSE(TimeParser(TimeFormat::Nanos).parse("1.5"));
  CHECK_FALSE(TimeParser(TimeFormat::Iso).parse("1704187800"));
  CHECK_FALSE(TimeParser(TimeFormat::Seconds).parse("99999999999999999"));
  CHECK(parse_time_format("ms") == TimeFormat::Millis);
  CHECK_FALSE(parse_time_format("millis"));
}

TEST_CASE("csv inference: int, double, bool, string; empty cells do not vote") {
  auto reader = make_reader(
      "I,D,B,S,E,M,N\n"
      "1,1,true,x,,1,nan\n"
      ",2.5,FALSE,2,,true,\n"
      "3,,,y,,,-inf\n");
  auto header = read_header(reader);
  auto types = infer_column_types(reader, header.size(), 1000);
  CHECK(types == std::vector<Type>{Type::Int, Type::Double, Type::Bool, Type::String, Type::String,
                                   Type::String, Type::Double});
  // Only the first max_rows rows vote.
  auto limited = make_reader("A\n1\n2\nx\n");
  read_header(limited);
  CHECK(infer_column_types(limited, 1, 2) == std::vector<Type>{Type::Int});
}

TEST_CASE("csv header: invalid, duplicate and missing names") {
  auto [message, where] = error_of([] {
    auto reader = make_reader("TIMESTAMP,1PRICE\n");
    read_header(reader);
  });
  CHECK(message.find("'1PRICE'") != std::string::npos);
  CHECK(where == "data.csv:1:11");
  std::tie(message, where) = error_of([] {
    auto reader = make_reader("A,B,A\n");
    read_header(reader);
  });
  CHECK(message.find("duplicate column name 'A'") != std::string::npos);
  CHECK(where == "data.csv:1:5");
  std::tie(message, where) = error_of([] {
    auto reader = make_reader("\n");
    read_header(reader);
  });
  CHECK(message.find("is empty") != std::string::npos);
  CHECK(where == "data.csv");
}

TEST_CASE("csv ticks: types, empty cells, batches and chunk boundaries") {
  const std::string text =
      "TIMESTAMP,PRICE,SIZE,NAME,OK\n"
      "2024-01-02 09:30:00,1.5,100,\"a,b\",true\n"
      "2024-01-02 09:30:01,,,,\n"
      "2024-01-02 09:30:01,2,-3,\"multi\nline\",false\r\n"
      "2024-01-02 09:30:02.25,nan,7,z,true\n";
  for (size_t chunk : {1, 7, 1 << 20}) {
    for (size_t batch_size : {1, 2, 100}) {
      CAPTURE(chunk);
      CAPTURE(batch_size);
      auto loaded = load(text, chunk);
      REQUIRE(loaded.layout.schema->size() == 4);
      CHECK((*loaded.layout.schema)[0] == Field{"PRICE", Type::Double});
      CHECK((*loaded.layout.schema)[1] == Field{"SIZE", Type::Int});
      CHECK((*loaded.layout.schema)[2] == Field{"NAME", Type::String});
      CHECK((*loaded.layout.schema)[3] == Field{"OK", Type::Bool});
      Batch ticks = read_ticks(loaded, {}, batch_size);
      REQUIRE(ticks.size() == 4);
      CHECK(ticks.times[0] == t("2024-01-02 09:30:00"));
      CHECK(ticks.times[3] == t("2024-01-02 09:30:02.25"));
      CHECK(ticks.columns[0].doubles()[0] == 1.5);
      CHECK(std::isnan(ticks.columns[0].doubles()[1]));
      CHECK(ticks.columns[1].ints() == std::vector<int64_t>{100, 0, -3, 7});
      CHECK(ticks.columns[2].strings() == std::vector<std::string>{"a,b", "", "multi\nline", "z"});
      CHECK(ticks.columns[3].bools() == std::vector<uint8_t>{1, 0, 0, 1});
    }
  }
}

TEST_CASE("csv ticks: bad data errors name the field and file:line:col") {
  const std::string text =
      "TIMESTAMP,PRICE,SIZE\n"
      "1,1.0,1\n"
      "2,2.0,2\n"
      "3,3.5,abc\n";
  auto loaded = load(text, kDefaultChunkSize, std::nullopt, {{"SIZE", Type::Int}});
  auto [message, where] = error_of([&] { read_ticks(loaded); });
  CHECK(message.rfind("bad int value 'abc' in field SIZE", 0) == 0);
  CHECK(where == "data.csv:4:7");

  auto wrong_count = load("TIMESTAMP,A,B\n1,2,3\n2,3\n3,4,5,6\n");
  std::tie(message, where) = error_of([&] { read_ticks(wrong_count); });
  CHECK(message == "row has 2 cells but the header has 3 cells");
  CHECK(where == "data.csv:3:4");
  int64_t skipped = 0;
  auto skip_counts = load("TIMESTAMP,A,B\n1,2,3\n2,3\n3,4,5,6\n4,5,6\n");
  TickReaderOptions skip;
  skip.skip_bad_rows = true;
  Batch kept = read_ticks(skip_counts, skip, 2, &skipped);
  CHECK(kept.times == std::vector<int64_t>{1, 4});
  CHECK(skipped == 2);

  auto too_many = load("TIMESTAMP,A\n1,2,3\n");
  std::tie(message, where) = error_of([&] { read_ticks(too_many); });
  CHECK(where == "data.csv:2:5");

  auto bad_time = load("TIMESTAMP,A\n2024-01-02 09:30:00,1\nsoon,2\n");
  std::tie(message, where) = error_of([&] { read_ticks(bad_time); });
  CHECK(message.rfind("bad time value 'soon' in time column TIMESTAMP", 0) == 0);
  CHECK(where == "data.csv:3:1");

  auto empty_time = load("A,TIMESTAMP\n1,5\n2,\n");
  std::tie(message, where) = error_of([&] { read_ticks(empty_time); });
  CHECK(message == "empty time value in time column TIMESTAMP");
  CHECK(where == "data.csv:3:3");
}

TEST_CASE("csv ticks: out-of-order timestamps fail, even when skipping bad rows") {
  const std::string text =
      "TIMESTAMP,A\n"
      "2024-01-02 09:30:00,1\n"
      "2024-01-02 09:31:00,2\n"
      "2024-01-02 09:30:30,3\n";
  for (bool skip : {false, true}) {
    auto loaded = load(text);
    TickReaderOptions options;
    options.skip_bad_rows = skip;
    auto [message, where] = error_of([&] { read_ticks(loaded, options); });
    CHECK(message.find("timestamp 2024-01-02 09:30:30.000000000 is earlier than the previous "
                       "tick's 2024-01-02 09:31:00.000000000 (line 3)") != std::string::npos);
    CHECK(where == "data.csv:4:1");
  }
}

TEST_CASE("csv ticks: skipped rows leave no partial values behind") {
  auto loaded = load("TIMESTAMP,A,B,C\n1,1,x,1\n2,2,y,oops\n3,3,z,3\n", kDefaultChunkSize,
                     std::nullopt, {{"C", Type::Int}});
  TickReaderOptions options;
  options.skip_bad_rows = true;
  int64_t skipped = 0;
  Batch ticks = read_ticks(loaded, options, 100, &skipped);
  CHECK(skipped == 1);
  CHECK(ticks.times == std::vector<int64_t>{1, 3});
  CHECK(ticks.columns[0].ints() == std::vector<int64_t>{1, 3});
  CHECK(ticks.columns[1].strings() == std::vector<std::string>{"x", "z"});
  CHECK(ticks.columns[2].ints() == std::vector<int64_t>{1, 3});
}

TEST_CASE("csv ticks: range and symbol selection") {
  const std::string text =
      "TIMESTAMP,SYMBOL,PX\n"
      "1,AAPL,1\n"
      "2,MSFT,2\n"
      "3,AAPL,3\n"
      "4,MSFT,4\n"
      "5,AAPL,5\n"
      "6,AAPL,6\n";
  auto loaded = load(text, kDefaultChunkSize, "SYMBOL");
  REQUIRE(loaded.layout.schema->size() == 1);
  TickReaderOptions options;
  options.symbol = "AAPL";
  options.range_start = 2;
  options.range_end = 6;
  Batch ticks = read_ticks(loaded, options);
  CHECK(ticks.times == std::vector<int64_t>{3, 5});
  CHECK(ticks.columns[0].ints() == std::vector<int64_t>{3, 5});

  auto header_only = load("TIMESTAMP,PX\n");
  CHECK(read_ticks(header_only).empty());
}

// The expected UTC instant of wall-clock time `local` (as nanoseconds since local 1970-01-01)
// from the zone's offsets alone: the earliest instant t with t + offset(t) == local, or for
// a local time the clocks skip, the instant of the change (the end of the gap).
static int64_t model_local_to_utc(const TimeZone& zone, int64_t local) {
  constexpr int64_t kDay = 86400 * kNanosPerSecond;
  const int64_t before = zone.offset_at(local - kDay).nanos;
  const int64_t after = zone.offset_at(local + kDay).nanos;
  std::vector<int64_t> found;
  for (int64_t offset : {before, after}) {
    const int64_t t = local - offset;
    if (zone.offset_at(t).nanos == offset) found.push_back(t);
  }
  if (!found.empty()) return *std::min_element(found.begin(), found.end());
  return zone.offset_at(local - before).begin;
}

TEST_CASE("csv times in a zone: the span cache agrees with a model of the zone's offsets") {
  for (const char* name : {"America/New_York", "Europe/London", "Australia/Lord_Howe"}) {
    CAPTURE(name);
    const TimeZone zone = *TimeZone::find(name);
    TimeParser parser(TimeFormat::Auto, zone);
    // Every 7 min 13.5 s through 2024 in time order (the reader's usual pattern), and
    // then backwards across the year (every lookup misses the cache).
    std::vector<int64_t> locals;
    const int64_t begin = *parse_time_text("2024-01-01"), end = *parse_time_text("2025-01-01");
    for (int64_t t = begin; t < end; t += 433'500'000'000) locals.push_back(t);
    for (int64_t t = end; t > begin; t -= 86'399'999'999'999) locals.push_back(t);
    size_t checked = 0;
    for (int64_t local : locals) {
      const std::string text = format_time(local);  // "YYYY-MM-DD HH:MM:SS.nnnnnnnnn"
      const auto parsed = parser.parse(text);
      REQUIRE(parsed);
      CAPTURE(text);
      CHECK(*parsed == model_local_to_utc(zone, local));
      ++checked;
    }
    CHECK(checked > 70'000);
    // Texts with an offset or 'Z', and integers, are absolute.
    CHECK(parser.parse("2024-07-01 12:00:00Z") == parse_time_text("2024-07-01 12:00:00Z"));
    CHECK(parser.parse("2024-07-01T12:00:00-07:00") ==
          parse_time_text("2024-07-01T12:00:00-07:00"));
    CHECK(parser.parse("1719835200000000000") == 1719835200000000000);
  }
  // By hand: New York's 2024 changes (EST -5 h, EDT -4 h).
  TimeParser ny(TimeFormat::Auto, *TimeZone::find("America/New_York"));
  CHECK(ny.parse("2024-03-10 01:59:59") == parse_time_text("2024-03-10 06:59:59Z"));
  CHECK(ny.parse("2024-03-10 02:30:00") == parse_time_text("2024-03-10 07:00:00Z"));  // gap
  CHECK(ny.parse("2024-03-10 03:00:00") == parse_time_text("2024-03-10 07:00:00Z"));
  CHECK(ny.parse("2024-11-03 01:30:00") == parse_time_text("2024-11-03 05:30:00Z"));  // twice
  CHECK(ny.parse("2024-11-03 02:00:00") == parse_time_text("2024-11-03 07:00:00Z"));
  CHECK(ny.parse("2024-07-04") == parse_time_text("2024-07-04 04:00:00Z"));
}
