#include "api.hpp"

#include <fast_float/fast_float.h>
#include <fmt/format.h>
#include <simdjson.h>

#include <charconv>
#include <cmath>

namespace tickflow::server {

namespace {

ApiError bad_request(std::string message) {
  return ApiError{400, std::move(message)};
}
ApiError unprocessable(std::string message) {
  return ApiError{422, std::move(message)};
}

std::string not_json(simdjson::error_code error) {
  return fmt::format("body is not valid JSON: {}", simdjson::error_message(error));
}

// A number token that simdjson refused: 422 when it is a JSON number too large for a double
// (1e400), else 400.
ApiError refused_number(std::string_view token, size_t index) {
  const bool looks_numeric =
      !token.empty() && (token[0] == '-' || (token[0] >= '0' && token[0] <= '9'));
  if (looks_numeric) {
    double value = 0.0;
    const auto result = fast_float::from_chars(token.data(), token.data() + token.size(), value);
    if (result.ptr == token.data() + token.size() &&
        (result.ec == std::errc::result_out_of_range || std::isinf(value))) {
      return unprocessable(fmt::format("values[{}] = {} overflows a double", index, token));
    }
  }
  return bad_request(fmt::format("values[{}] is not a number", index));
}

// The padded copy simdjson reads from; one per thread, grown as needed.
simdjson::padded_string_view padded(std::string_view body) {
  thread_local std::vector<char> buffer;
  if (buffer.size() < body.size() + simdjson::SIMDJSON_PADDING) {
    buffer.resize(body.size() + simdjson::SIMDJSON_PADDING);
  }
  std::copy(body.begin(), body.end(), buffer.begin());
  return simdjson::padded_string_view(buffer.data(), body.size(), buffer.size());
}

std::optional<ApiError> read_values(simdjson::ondemand::value value, const Limits& limits,
                                    std::vector<double>& out) {
  simdjson::ondemand::array array;
  if (value.get_array().get(array)) return bad_request("\"values\" must be an array of numbers");
  size_t index = 0;
  for (auto element : array) {
    simdjson::ondemand::value item;
    if (auto error = element.get(item)) return bad_request(not_json(error));
    double number = 0.0;
    if (item.get_double().get(number) != simdjson::SUCCESS) {
      simdjson::ondemand::json_type type;
      if (item.type().get(type) == simdjson::SUCCESS &&
          type != simdjson::ondemand::json_type::number) {
        return bad_request(fmt::format("values[{}] is not a number", index));
      }
      std::string_view token = item.raw_json_token();
      while (!token.empty() && (token.back() == ' ' || token.back() == '\n' ||
                                token.back() == '\t' || token.back() == '\r')) {
        token.remove_suffix(1);
      }
      return refused_number(token, index);
    }
    // Bounded before it is stored: a body may hold far more numbers than a batch allows.
    if (index >= limits.max_batch_values) {
      return unprocessable(
          fmt::format("\"values\" has more than {} values (the most one batch may hold)",
                      limits.max_batch_values));
    }
    out.push_back(number);
    ++index;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> check_symbol(std::string_view symbol, const Limits& limits) {
  if (symbol.empty()) return unprocessable("\"symbol\" is empty");
  if (symbol.size() > limits.max_symbol_bytes) {
    return unprocessable(fmt::format("\"symbol\" is {} bytes long; at most {} bytes are allowed",
                                     symbol.size(), limits.max_symbol_bytes));
  }
  if (!simdjson::validate_utf8(symbol.data(), symbol.size())) {
    return unprocessable("\"symbol\" is not valid UTF-8");
  }
  return std::nullopt;
}

std::optional<ApiError> parse_add_batch(std::string_view body, const Limits& limits,
                                        AddBatch& out) {
  thread_local simdjson::ondemand::parser parser;
  out.symbol.clear();
  out.values.clear();
  simdjson::ondemand::document document;
  if (auto error = parser.iterate(padded(body)).get(document)) return bad_request(not_json(error));
  simdjson::ondemand::object object;
  if (auto error = document.get_object().get(object)) {
    if (error == simdjson::INCORRECT_TYPE) {
      return bad_request(R"(body must be a JSON object {"symbol": ..., "values": [...]})");
    }
    return bad_request(not_json(error));
  }
  bool has_symbol = false, has_values = false;
  for (auto field : object) {
    std::string_view key;
    if (auto error = field.unescaped_key().get(key)) return bad_request(not_json(error));
    if (key == "symbol") {
      if (has_symbol) return bad_request("key \"symbol\" appears twice");
      has_symbol = true;
      std::string_view symbol;
      if (field.value().get_string().get(symbol)) return bad_request("\"symbol\" must be a string");
      out.symbol.assign(symbol);
    } else if (key == "values") {
      if (has_values) return bad_request("key \"values\" appears twice");
      has_values = true;
      if (auto problem = read_values(field.value(), limits, out.values)) return problem;
    } else {
      std::string shown;
      append_json_string(shown, key);
      return bad_request(
          fmt::format("unknown key {}: the body has exactly \"symbol\" and \"values\"", shown));
    }
  }
  // Iterating the object validates what was read; the end check catches a truncated object
  // or trailing text after it.
  const char* trailing = nullptr;
  if (document.current_location().get(trailing) == simdjson::SUCCESS) {
    return bad_request("body is not valid JSON: text after the object");
  }
  if (!has_symbol) return bad_request("key \"symbol\" is missing");
  if (!has_values) return bad_request("key \"values\" is missing");
  if (auto problem = check_symbol(out.symbol, limits)) return problem;
  if (out.values.empty()) return unprocessable("\"values\" is empty");
  return std::nullopt;
}

std::optional<ApiError> parse_stats_query(
    const std::vector<std::pair<std::string, std::string>>& params, const Limits& limits,
    StatsQuery& out) {
  const std::string* symbol = nullptr;
  const std::string* k = nullptr;
  for (const auto& [name, value] : params) {
    const std::string** slot = name == "symbol" ? &symbol : name == "k" ? &k : nullptr;
    if (!slot) {
      std::string shown;
      append_json_string(shown, name);
      return bad_request(
          fmt::format("unknown query parameter {}: /stats/ takes symbol and k", shown));
    }
    if (*slot) return bad_request(fmt::format("query parameter {} appears twice", name));
    *slot = &value;
  }
  if (!symbol) return bad_request("query parameter symbol is missing");
  if (!k) return bad_request("query parameter k is missing");
  int parsed = 0;
  const auto result = std::from_chars(k->data(), k->data() + k->size(), parsed);
  if (k->empty() || result.ptr != k->data() + k->size() ||
      (result.ec != std::errc() && result.ec != std::errc::result_out_of_range)) {
    return bad_request(fmt::format("query parameter k = \"{}\" is not an integer", *k));
  }
  if (result.ec == std::errc::result_out_of_range || parsed < 1 || parsed > limits.max_k) {
    return unprocessable(fmt::format("k = {} is outside 1..{}", *k, limits.max_k));
  }
  if (auto problem = check_symbol(*symbol, limits)) return problem;
  out.symbol = *symbol;
  out.k = parsed;
  return std::nullopt;
}

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", byte);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void append_json_number(std::string& out, double value) {
  if (std::isfinite(value)) {
    fmt::format_to(std::back_inserter(out), "{}", value);
  } else {
    out += "null";
  }
}

std::string error_json(std::string_view message) {
  std::string out = "{\"error\": ";
  append_json_string(out, message);
  out += "}";
  return out;
}

std::string add_batch_json(std::string_view symbol, size_t added, uint64_t held) {
  std::string out = "{\"symbol\": ";
  append_json_string(out, symbol);
  fmt::format_to(std::back_inserter(out), ", \"added\": {}, \"count\": {}}}", added, held);
  return out;
}

std::string stats_json(std::string_view symbol, int k, const WindowStats& stats) {
  std::string out = "{\"symbol\": ";
  append_json_string(out, symbol);
  fmt::format_to(std::back_inserter(out), ", \"k\": {}, \"count\": {}", k, stats.count);
  const double nothing = std::numeric_limits<double>::quiet_NaN();
  const bool some = stats.count > 0;
  for (const auto& [name, value] :
       {std::pair{"min", some ? stats.min : nothing}, std::pair{"max", some ? stats.max : nothing},
        std::pair{"last", some ? stats.last : nothing},
        std::pair{"avg", some ? stats.mean : nothing},
        std::pair{"var", stats.count >= 2 ? stats.variance() : nothing}}) {
    fmt::format_to(std::back_inserter(out), ", \"{}\": ", name);
    append_json_number(out, value);
  }
  out += "}";
  return out;
}

}  // namespace tickflow::server
