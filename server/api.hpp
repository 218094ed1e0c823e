// The statistics service's requests and responses as plain data: parsing and validating a
// request (SPEC §12 limits and statuses) and writing the JSON of a response. Nothing here
// knows about sockets, so every rule is unit-tested without a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tickflow/power_tree.hpp"

namespace tickflow::server {

struct Limits {
  size_t max_body_bytes = size_t{4} << 20;  // 4 MiB is accepted, one byte more is 413
  size_t max_batch_values = 10000;
  size_t max_symbol_bytes = 64;
  size_t max_symbols = 10;
  int max_k = 8;
};

// A request that cannot be applied: the HTTP status and the problem, for {"error": ...}.
struct ApiError {
  int status = 400;
  std::string message;
};

struct AddBatch {
  std::string symbol;
  std::vector<double> values;
};

struct StatsQuery {
  std::string symbol;
  int k = 0;
};

// Parses `{"symbol": "...", "values": [numbers]}` (exactly these keys, in any order).
// 400 for anything that is not JSON of this shape, 422 for a well-formed request that breaks
// a limit (empty or oversized batch, a number that overflows a double, a bad symbol).
// The body-size limit (413) is the caller's, checked before the body is parsed.
std::optional<ApiError> parse_add_batch(std::string_view body, const Limits& limits, AddBatch& out);

// Validates the query parameters of GET /stats/ (already percent-decoded): exactly
// `symbol` and `k`. 400 when one is missing, repeated, unknown or k is not an integer;
// 422 for a bad symbol or k outside 1..max_k.
std::optional<ApiError> parse_stats_query(
    const std::vector<std::pair<std::string, std::string>>& params, const Limits& limits,
    StatsQuery& out);

// 422 unless the symbol is 1..max_symbol_bytes bytes of valid UTF-8.
std::optional<ApiError> check_symbol(std::string_view symbol, const Limits& limits);

// JSON text of a string (quoted, escaped) and of a number (shortest round-trip form;
// null when not finite).
void append_json_string(std::string& out, std::string_view text);
void append_json_number(std::string& out, double value);

std::string error_json(std::string_view message);
std::string add_batch_json(std::string_view symbol, size_t added, uint64_t held);
// {"symbol", "k", "count", "min", "max", "last", "avg", "var"}; var is null below 2 values,
// and min/max/last/avg are null for a window of no values.
std::string stats_json(std::string_view symbol, int k, const WindowStats& stats);

}  // namespace tickflow::server
