// The service's journal (server/journal.hpp): replay, torn tails, damage.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "journal.hpp"

using namespace tickflow::server;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("tickflow_journal_test_" + std::to_string(::getpid()));
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

using Replayed = std::map<std::string, std::vector<std::vector<double>>>;

Replayed replay(const fs::path& dir, std::vector<std::string>* reports = nullptr) {
  Replayed out;
  Journal journal(
      dir.string(), FsyncPolicy::never,
      [&](const std::string& symbol, std::span<const double> values) {
        out[symbol].emplace_back(values.begin(), values.end());
      },
      [&](const std::string& message) {
        if (reports) reports->push_back(message);
      });
  return out;
}

void write_some(const fs::path& dir) {
  Journal journal(
      dir.string(), FsyncPolicy::always, [](auto&, auto) {}, [](auto&) {});
  const std::vector<double> a = {1.5, 2.5}, b = {3.0}, c = {-1.0, 1e12, 4.0};
  journal.file_for("ABC").append(a);
  journal.file_for("X/Y").append(b);
  journal.file_for("ABC").append(c);
}

fs::path file_of(const fs::path& dir, const std::string& symbol) {
  return dir / Journal::file_name_for(symbol);
}

}  // namespace

TEST_CASE("serve journal: batches are replayed per symbol in order") {
  TempDir dir;
  write_some(dir.path);
  const Replayed got = replay(dir.path);
  REQUIRE(got.size() == 2);
  CHECK(got.at("ABC") == std::vector<std::vector<double>>{{1.5, 2.5}, {-1.0, 1e12, 4.0}});
  CHECK(got.at("X/Y") == std::vector<std::vector<double>>{{3.0}});
  // Appending after a replay continues the same file.
  {
    Journal journal(
        dir.path.string(), FsyncPolicy::interval, [](auto&, auto) {}, [](auto&) {});
    const std::vector<double> d = {7.0};
    journal.file_for("ABC").append(d);
  }
  CHECK(replay(dir.path).at("ABC").size() == 3);
}

TEST_CASE("serve journal: a torn last record is reported and truncated") {
  TempDir dir;
  write_some(dir.path);
  const fs::path file = file_of(dir.path, "ABC");
  const auto full = fs::file_size(file);
  fs::resize_file(file, full - 5);  // the last record loses part of its values
  std::vector<std::string> reports;
  const Replayed got = replay(dir.path, &reports);
  CHECK(got.at("ABC") == std::vector<std::vector<double>>{{1.5, 2.5}});
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].find("torn") != std::string::npos);
  CHECK(reports[0].find(file.filename().string()) != std::string::npos);
  // Truncated to the end of the last good record: a second start finds nothing to report.
  CHECK(fs::file_size(file) == full - 8 - 3 * 8);
  reports.clear();
  replay(dir.path, &reports);
  CHECK(reports.empty());
}

TEST_CASE("serve journal: a last record with a bad checksum is a torn tail") {
  TempDir dir;
  write_some(dir.path);
  const fs::path file = file_of(dir.path, "ABC");
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  std::vector<std::string> reports;
  CHECK(replay(dir.path, &reports).at("ABC").size() == 1);
  CHECK(reports.size() == 1);
}

TEST_CASE("serve journal: damage before the tail stops the start with file and offset") {
  TempDir dir;
  write_some(dir.path);
  const fs::path file = file_of(dir.path, "ABC");
  const auto header_size = 8 + 4 + 3 + 4;
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(header_size + 8 + 3);  // inside the first record's values
    f.put('\x55');
  }
  try {
    replay(dir.path);
    FAIL("damage was not detected");
  } catch (const JournalError& e) {
    const std::string message = e.what();
    CHECK(message.find("damaged") != std::string::npos);
    CHECK(message.find(file.filename().string()) != std::string::npos);
    CHECK(message.find("offset " + std::to_string(header_size)) != std::string::npos);
  }
}

TEST_CASE("serve journal: a damaged header is an error, a torn header is removed") {
  TempDir dir;
  write_some(dir.path);
  const fs::path file = file_of(dir.path, "ABC");
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(13);  // a byte of the symbol
    f.put('Q');
  }
  CHECK_THROWS_AS(replay(dir.path), JournalError);
  fs::resize_file(file, 6);
  std::vector<std::string> reports;
  const Replayed got = replay(dir.path, &reports);
  CHECK(got.count("ABC") == 0);
  CHECK_FALSE(fs::exists(file));
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].find("torn") != std::string::npos);
  // Not a journal at all.
  std::ofstream(dir.path / "junk.journal") << "hello world, this is not a journal";
  CHECK_THROWS_AS(replay(dir.path), JournalError);
}
