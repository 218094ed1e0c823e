#include "tickflow/diagnostics.hpp"

#include <algorithm>

#include "tickflow/time.hpp"

namespace tickflow {

std::string Location::to_string() const {
  if (!known()) return file;
  std::string out = file.empty() ? "<command line>" : file;
  out.append(":").append(std::to_string(line));
  if (column > 0) out.append(":").append(std::to_string(column));
  return out;
}

std::string Diagnostic::to_string() const {
  std::string out;
  if (!location.file.empty() || location.known()) out = location.to_string() + ": ";
  out += "error: " + message;
  for (const auto& line : snippet) out += "\n" + line;
  return out;
}

void Diagnostics::error(Location loc, std::string message, ErrorKind kind) {
  items_.push_back({std::move(loc), std::move(message), kind, {}});
}

int Diagnostics::exit_status() const {
  if (items_.empty()) return 0;
  for (const auto& d : items_) {
    if (d.kind == ErrorKind::Validation) return 2;
  }
  return 1;
}

void Diagnostics::sort() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.location.file != b.location.file) return a.location.file < b.location.file;
    if (a.location.line != b.location.line) return a.location.line < b.location.line;
    return a.location.column < b.location.column;
  });
}

std::string RuntimeError::describe() const {
  // Data errors lead with the data file position, like a compiler; others with the node's.
  std::string context;
  if (!node.empty()) context = "node '" + node + "'";
  if (symbol && !symbol->empty()) context += (context.empty() ? "" : ", ") + ("symbol " + *symbol);
  if (tick_time) context += (context.empty() ? "" : ", ") + ("tick " + format_time(*tick_time));
  std::string out;
  if (!data_location_.file.empty()) {
    out = data_location_.to_string() + ": error: " + message_;
    if (!context.empty()) out += " [" + context + "]";
  } else {
    if (node_location.known()) out = node_location.to_string() + ": ";
    out += "error: ";
    if (!context.empty()) out += context + ": ";
    out += message_;
  }
  return out;
}

}  // namespace tickflow
