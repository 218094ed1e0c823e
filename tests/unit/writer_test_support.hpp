// Helpers shared by the writer tests (test_tick_writer.cpp, test_output_files.cpp).
#pragma once

#include <fmt/format.h>
#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/registry.hpp"
#include "tickflow/tick_writer.hpp"
#include "tickflow/time.hpp"

namespace writer_test {

using namespace tickflow;
namespace fs = std::filesystem;

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline const int64_t kT0 = *parse_time_text("2024-01-02 09:30:00");

// A fresh directory removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("tickflow-writer-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Builds a batch row by row: add(time, {values...}).
struct BatchBuilder {
  Batch batch;
  explicit BatchBuilder(SchemaPtr schema) : batch(std::move(schema)) {}
  BatchBuilder& add(int64_t time, std::vector<Value> values) {
    batch.times.push_back(time);
    for (size_t i = 0; i < values.size(); ++i) batch.columns[i].append(values[i]);
    return *this;
  }
};

inline std::string render(OutputFormat format, const SchemaPtr& schema,
                          const std::vector<Batch>& batches,
                          std::optional<std::string> symbol = std::nullopt) {
  TempDir dir;
  fs::path target = dir.path / "out";
  {
    auto out = OutputFile::open(target.string());
    TickWriter writer(format, schema, *out, std::move(symbol));
    for (const Batch& batch : batches) writer.write(batch);
    writer.finish();
    out->commit();
  }
  return read_file(target);
}

inline std::string render_one(OutputFormat format, const SchemaPtr& schema, const Batch& batch,
                              std::optional<std::string> symbol = std::nullopt) {
  return render(format, schema, {batch}, std::move(symbol));
}

inline std::string csv_of_double(double value) {
  auto schema = make_schema({{"X", Type::Double}});
  std::string text =
      render_one(OutputFormat::Csv, schema, BatchBuilder(schema).add(0, {value}).batch);
  std::string prefix = "TIMESTAMP,X\n1970-01-01 00:00:00.000000000,";
  REQUIRE(text.substr(0, prefix.size()) == prefix);
  return text.substr(prefix.size(), text.size() - prefix.size() - 1);
}

inline std::string jsonl_of_string(const std::string& value) {
  auto schema = make_schema({{"S", Type::String}});
  std::string text =
      render_one(OutputFormat::Jsonl, schema, BatchBuilder(schema).add(0, {value}).batch);
  std::string prefix = R"({"TIMESTAMP":"1970-01-01 00:00:00.000000000","S":)";
  REQUIRE(text.substr(0, prefix.size()) == prefix);
  return text.substr(prefix.size(), text.size() - prefix.size() - 2);
}

inline SchemaPtr all_types_schema() {
  return make_schema({{"I", Type::Int},
                      {"D", Type::Double},
                      {"B", Type::Bool},
                      {"S", Type::String},
                      {"T", Type::Time},
                      {"DUR", Type::Duration}});
}

}  // namespace writer_test
