// One error-handling style for the whole engine:
//  - load-time problems are collected as Diagnostics (all of them, then exit status 2);
//  - problems while ticks flow are thrown as RuntimeError and reported once, with the
//    node, symbol and tick time filled in by the executor (exit status 1).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tickflow {

// A position in a source file; line and column are 1-based. An empty file name means
// "no file" (for example a command-line flag).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  bool known() const { return line > 0; }
  std::string to_string() const;  // "file:line:col", or "file" when line is unknown
};

enum class Severity { Error, Note };

// What kind of failure a diagnostic stands for, which decides the exit status:
// Usage/Validation -> 2, Data (bad or missing input files) -> 1.
enum class ErrorKind { Validation, Data };

struct Diagnostic {
  Location location;
  std::string message;
  ErrorKind kind = ErrorKind::Validation;
  // Optional snippet lines printed after the message (e.g. source line with a caret).
  std::vector<std::string> snippet;
  std::string to_string() const;  // "FILE:LINE:COL: error: MESSAGE" + snippet
};

class Diagnostics {
 public:
  void error(Location loc, std::string message, ErrorKind kind = ErrorKind::Validation);
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  bool has_errors() const { return !items_.empty(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  // 2 when any validation error, else 1 when any data error, else 0.
  int exit_status() const;
  // Sorts by file, line, column (stable), so output order does not depend on binding order.
  void sort();

 private:
  std::vector<Diagnostic> items_;
};

// An error raised while the query runs. EPs throw it (or any std::exception); the
// executor adds the node id, symbol and tick time it was processing when missing.
class RuntimeError : public std::runtime_error {
 public:
  explicit RuntimeError(std::string message, Location data_location = {})
      : std::runtime_error(message),
        message_(std::move(message)),
        data_location_(std::move(data_location)) {}

  const std::string& message() const { return message_; }
  const Location& data_location() const { return data_location_; }
  std::optional<int64_t> tick_time;  // TIMESTAMP of the offending tick, when known
  std::string node;                  // node id, filled in by the executor
  Location node_location;            // where the node is declared
  std::optional<std::string> symbol;

  // "data.csv:4:7: error: message [node 'x', symbol AAPL, tick ...]" for data errors,
  // "graph.yaml:12:3: error: node 'x', tick ...: message" otherwise.
  std::string describe() const;

 private:
  std::string message_;
  Location data_location_;
};

// Thrown for invalid command lines and other usage problems (exit status 2).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tickflow
