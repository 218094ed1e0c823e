// ParallelTickReader against TickReader: on random CSV text full of the hard cases (quoted
// line breaks, "" escapes, CRLF and lone CR, empty lines, bad values, wrong widths, NUL
// bytes, unterminated quotes, times out of order, ranges, a symbol filter, skip mode), read
// in windows and pieces of a few bytes, the ticks, the skipped rows and the first error
// with its location must be exactly those of one sequential read.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

#include "sources/csv_parallel.hpp"
#include "tickflow/time.hpp"

using namespace tickflow;
using namespace tickflow::csv;

namespace {

// What a read gives: every tick as text, the skipped rows and the error (if any).
struct Outcome {
  std::vector<std::string> ticks;
  int64_t skipped = 0;
  std::string error;

  // A read that fails has given the ticks before the failing row in whole batches, so
  // two reads with different batches give a prefix of those ticks: one of the two lists is
  // a prefix of the other.
  bool operator==(const Outcome& other) const {
    if (error != other.error || skipped != other.skipped) return false;
    if (error.empty()) return ticks == other.ticks;
    const size_t n = std::min(ticks.size(), other.ticks.size());
    return std::equal(ticks.begin(), ticks.begin() + static_cast<ptrdiff_t>(n),
                      other.ticks.begin());
  }
};

std::string row_text(const Batch& batch, size_t row) {
  std::string text = std::to_string(batch.times[row]);
  for (const Column& column : batch.columns) {
    std::visit(
        [&](const auto& v) {
          text += "|";
          if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
            text += v;
          } else {
            text += std::to_string(v);
          }
        },
        column.value(row));
  }
  return text;
}

std::string random_text(std::mt19937& rng) {
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  const bool crlf = chance(30);
  const char* eol = crlf ? "\r\n" : "\n";
  std::string text = std::string("TIMESTAMP,SYMBOL,PRICE,SIZE,NOTE") + eol;
  int64_t second = 0;
  const int rows = 1 + static_cast<int>(rng() % 120);
  for (int r = 0; r < rows; ++r) {
    if (chance(5)) text += eol;  // an empty line
    if (!chance(40)) second += static_cast<int64_t>(rng() % 3);
    if (chance(2)) second -= 5;  // out of order
    std::string time = "2024-01-02 09:" + std::to_string(10 + second / 60) + ":" +
                       std::to_string(10 + second % 50);
    if (chance(3)) time = "09:xx";
    std::string price = std::to_string(100 + rng() % 50) + "." + std::to_string(rng() % 100);
    if (chance(3)) price = "abc";
    std::string note;
    switch (rng() % 8) {
      case 0:
        note = "\"two\nlines\"";
        break;
      case 1:
        note = "\"say \"\"hi\"\"\"";
        break;
      case 2:
        note = "\"crlf\r\ninside, and a comma\"";
        break;
      case 3:
        note = "";
        break;
      default:
        note = "n" + std::to_string(r);
    }
    std::string line = time + "," + (chance(50) ? "A" : "B") + "," + price + "," +
                       std::to_string(rng() % 1000) + "," + note;
    if (chance(3)) line += ",extra";
    if (chance(2)) line = time + ",A";
    if (chance(1)) line += "\"bad";               // text after... or an unterminated quote
    if (chance(1)) line += std::string(1, '\0');  // a NUL byte
    if (chance(2)) line += "\r" + std::string("lonecr");
    text += line;
    if (r + 1 < rows || chance(70)) text += eol;
  }
  return text;
}

struct Setup {
  CsvLayout layout;
  TickReaderOptions options;
};

// The layout the csv EP would make (types given, so that sampling plays no part).
Setup make_setup(std::mt19937& rng) {
  Setup setup;
  setup.layout = make_layout({"TIMESTAMP", "SYMBOL", "PRICE", "SIZE", "NOTE"},
                             {Type::Time, Type::String, Type::Double, Type::Int, Type::String}, 0,
                             rng() % 4 == 0 ? std::optional<size_t>(1) : std::nullopt);
  if (setup.layout.symbol_column) setup.options.symbol = "A";
  setup.options.skip_bad_rows = rng() % 2 == 0;
  if (rng() % 4 == 0) setup.options.range_start = *parse_time_text("2024-01-02 09:10:30");
  if (rng() % 4 == 0) setup.options.range_end = *parse_time_text("2024-01-02 09:11:20");
  return setup;
}

// Reads `text` with a Reader made by make(reader, layout, options) after the header, in
// batches of at most max_ticks.
template <class Make>
Outcome read_with(const std::string& text, size_t chunk, const Setup& setup, size_t max_ticks,
                  Make make) {
  Outcome out;
  RecordReader reader(memory_source(text), "data.csv", ',', chunk);
  try {
    read_header(reader);
    auto ticks = make(reader);
    for (;;) {
      Batch batch(setup.layout.schema);
      const bool more = ticks->read(batch, max_ticks);
      CHECK(batch.size() <= max_ticks);
      for (size_t i = 0; i < batch.size(); ++i) out.ticks.push_back(row_text(batch, i));
      if (!more) break;
    }
    out.skipped = ticks->skipped_rows();
  } catch (const RuntimeError& e) {
    out.error = e.message() + " @ " + e.data_location().to_string();
  }
  return out;
}

Outcome read_sequential(const std::string& text, const Setup& setup) {
  return read_with(text, 7, setup, 3, [&](RecordReader& reader) {
    return std::make_unique<TickReader>(reader, setup.layout, setup.options);
  });
}

Outcome read_parallel(const std::string& text, const Setup& setup, ParallelReadOptions parallel,
                      size_t header_chunk) {
  return read_with(text, header_chunk, setup, 5, [&](RecordReader& reader) {
    return std::make_unique<ParallelTickReader>(reader, setup.layout, setup.options,
                                                std::move(parallel));
  });
}

void in_order(size_t parts, const std::function<void(size_t)>& body) {
  for (size_t part = parts; part-- > 0;) body(part);  // last first: order must not matter
}

void on_threads(size_t parts, const std::function<void(size_t)>& body) {
  std::vector<std::exception_ptr> errors(parts);
  std::vector<std::thread> threads;
  for (size_t part = 0; part < parts; ++part) {
    threads.emplace_back([&, part] {
      try {
        body(part);
      } catch (...) {
        errors[part] = std::current_exception();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace

TEST_CASE("csv parallel: the same ticks, skipped rows and first error as one sequential read") {
  std::mt19937 rng(20261204);
  int with_errors = 0, with_ticks = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::string text = random_text(rng);
    const Setup setup = make_setup(rng);
    const Outcome expected = read_sequential(text, setup);
    with_errors += !expected.error.empty();
    with_ticks += !expected.ticks.empty();
    ParallelReadOptions parallel;
    parallel.parallel = round % 10 == 0 ? ParallelFor(on_threads) : ParallelFor(in_order);
    parallel.pieces = 2 + rng() % 5;
    parallel.piece_bytes = 1 + rng() % 300;
    parallel.batch_size = 1 + rng() % 8;
    parallel.read_ahead = round % 4 >= 2;  // with pieces in order and on threads
    const Outcome got = read_parallel(text, setup, parallel, 1 + rng() % 100);
    INFO("round " << round << " pieces " << parallel.pieces << " piece_bytes "
                  << parallel.piece_bytes << " read_ahead " << parallel.read_ahead << "\n"
                  << text);
    CHECK(got.error == expected.error);
    CHECK(got.skipped == expected.skipped);
    CHECK(got == expected);
    if (got != expected) {
      size_t i = 0;
      while (i < got.ticks.size() && i < expected.ticks.size() && got.ticks[i] == expected.ticks[i])
        ++i;
      MESSAGE("first difference at tick "
              << i << " of " << got.ticks.size() << " (expected " << expected.ticks.size()
              << "): " << (i < got.ticks.size() ? got.ticks[i] : "-") << " vs "
              << (i < expected.ticks.size() ? expected.ticks[i] : "-"));
      break;
    }
  }
  // The generator must reach both kinds of outcome often.
  CHECK(with_errors > 300);
  CHECK(with_ticks > 1000);
}

TEST_CASE("csv parallel: a record longer than a window, and a window ending inside a CRLF") {
  const std::string long_note(5000, 'x');
  const std::string text = "TIMESTAMP,SYMBOL,PRICE,SIZE,NOTE\r\n2024-01-02 09:30:00,A,1.5,1,\"" +
                           long_note + "\r\n" + long_note +
                           "\"\r\n2024-01-02 09:30:01,A,2.5,2,y\r\n";
  std::mt19937 rng(1);
  Setup setup = make_setup(rng);
  setup.options = {};
  const Outcome expected = read_sequential(text, setup);
  REQUIRE(expected.error.empty());
  REQUIRE(expected.ticks.size() == 2);
  for (size_t piece_bytes : {1, 2, 3, 50, 4999, 5000, 5001, 10050}) {
    for (bool read_ahead : {false, true}) {
      ParallelReadOptions parallel;
      parallel.parallel = in_order;
      parallel.pieces = 3;
      parallel.piece_bytes = piece_bytes;
      parallel.read_ahead = read_ahead;
      CHECK(read_parallel(text, setup, parallel, 16) == expected);
    }
  }
}

namespace {

// The bytes of `text`, then a read error after `fail_after` of them.
class FailingSource : public ByteSource {
 public:
  FailingSource(std::string text, size_t fail_after)
      : text_(std::move(text)), fail_after_(fail_after) {}
  size_t read(char* dst, size_t size) override {
    if (offset_ >= fail_after_) throw RuntimeError("data.csv: read failed (test)");
    const size_t n = std::min({size, fail_after_ - offset_, text_.size() - offset_});
    std::memcpy(dst, text_.data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  std::string text_;
  size_t fail_after_;
  size_t offset_ = 0;
};

}  // namespace

TEST_CASE("csv parallel: a read error in a window read ahead comes after the ticks before it") {
  std::string text = "TIMESTAMP,SYMBOL,PRICE,SIZE,NOTE\n";
  for (int i = 0; i < 2000; ++i) {
    text +=
        "2024-01-02 09:30:" + std::to_string(10 + i / 100) + ",A,1.5," + std::to_string(i) + ",n\n";
  }
  std::mt19937 rng(3);
  Setup setup = make_setup(rng);
  setup.options = {};
  const Outcome whole = read_sequential(text, setup);
  REQUIRE(whole.error.empty());
  for (size_t fail_after : {size_t{40}, text.size() / 3, text.size() - 5}) {
    for (bool read_ahead : {false, true}) {
      CAPTURE(fail_after);
      CAPTURE(read_ahead);
      RecordReader reader(std::make_unique<FailingSource>(text, fail_after), "data.csv", ',', 64);
      read_header(reader);
      ParallelReadOptions parallel;
      parallel.parallel = in_order;
      parallel.pieces = 3;
      parallel.piece_bytes = 500;
      parallel.read_ahead = read_ahead;
      ParallelTickReader ticks(reader, setup.layout, setup.options, parallel);
      std::vector<std::string> got;
      std::string error;
      try {
        for (;;) {
          Batch batch(setup.layout.schema);
          const bool more = ticks.read(batch, 7);
          for (size_t i = 0; i < batch.size(); ++i) got.push_back(row_text(batch, i));
          if (!more) break;
        }
      } catch (const RuntimeError& e) {
        error = e.message();
      }
      CHECK(error == "data.csv: read failed (test)");
      // Every tick read before the failure, in order, and none after it.
      REQUIRE(got.size() <= whole.ticks.size());
      CHECK(std::equal(got.begin(), got.end(), whole.ticks.begin()));
      if (fail_after > 1000) CHECK(!got.empty());
    }
  }
}

TEST_CASE("csv parallel: line numbers of errors after windows of many kilobytes") {
  // Long pieces take the sixteen-bytes-at-a-time line count past its 255-block flush.
  std::mt19937 rng(5);
  Setup setup = make_setup(rng);
  setup.options = {};
  for (const char* eol : {"\n", "\r\n"}) {
    std::string text = std::string("TIMESTAMP,SYMBOL,PRICE,SIZE,NOTE") + eol;
    for (int i = 0; i < 9000; ++i) {
      text +=
          "2024-01-02 09:30:00,A,1.5," + std::to_string(i) + ",n" + std::to_string(i % 97) + eol;
    }
    text += std::string("2024-01-02 09:30:00,A,abc,1,n") + eol;
    const Outcome expected = read_sequential(text, setup);
    REQUIRE(expected.error.find(":9002:") != std::string::npos);
    for (size_t piece_bytes : {5000, 20000, 70000}) {
      ParallelReadOptions parallel;
      parallel.parallel = in_order;
      parallel.pieces = 3;
      parallel.piece_bytes = piece_bytes;
      parallel.read_ahead = piece_bytes != 20000;
      CHECK(read_parallel(text, setup, parallel, 64) == expected);
    }
  }
}
