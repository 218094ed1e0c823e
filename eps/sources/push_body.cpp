#include "sources/push_body.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "sources/csv_reader.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps {
namespace {

constexpr std::string_view kBodyName = "body";

PushBodyError located(size_t row, const Location& location, const std::string& message) {
  return {row, location.known() ? location.to_string() + ": " + message : message};
}

std::string unknown_column(std::string_view name, const Schema& schema) {
  std::vector<std::string> names = schema.names();
  names.insert(names.begin(), "TIMESTAMP");
  return fmt::format("unknown column {}: this push source has {}{}", name, fmt::join(names, ", "),
                     did_you_mean(std::string(name), names));
}

std::optional<PushBodyError> check_not_before(const Batch& ticks, int64_t not_before) {
  if (!ticks.empty() && ticks.times[0] < not_before) {
    return PushBodyError{1, fmt::format("row 1: timestamp {} is earlier than {}, the time this "
                                        "source has already passed (late tick)",
                                        format_time(ticks.times[0]), format_time(not_before))};
  }
  return std::nullopt;
}

// Moves the columns of `read` (fields named `names`) into `out`, built on `schema`; fields
// the body left out get the type default.
void to_schema(Batch& read, const std::vector<std::string>& names, const SchemaPtr& schema,
               Batch& out) {
  out = Batch(schema);
  out.times = std::move(read.times);
  for (size_t f = 0; f < schema->size(); ++f) {
    auto it = std::find(names.begin(), names.end(), (*schema)[f].name);
    if (it == names.end()) {
      out.columns[f].resize(out.times.size());
    } else {
      out.columns[f] = std::move(read.columns[static_cast<size_t>(it - names.begin())]);
    }
  }
}

std::optional<PushBodyError> decode_csv(std::string_view body, const SchemaPtr& schema,
                                        const TimeZone& zone, int64_t receipt_time,
                                        int64_t not_before, Batch& out) {
  csv::RecordReader reader(csv::memory_source(std::string(body)), std::string(kBodyName), ',');
  std::vector<std::string> header;
  try {
    header = csv::read_header(reader);
  } catch (const RuntimeError& e) {
    return located(0, e.data_location(), e.message());
  }
  std::vector<Type> types;
  std::vector<std::string> field_names;
  size_t time_column = csv::CsvLayout::kNoTimeColumn;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "TIMESTAMP") {
      time_column = i;
      types.push_back(Type::Time);
    } else if (auto f = schema->index_of(header[i])) {
      types.push_back((*schema)[*f].type);
      field_names.push_back(header[i]);
    } else {
      return located(0, Location{std::string(kBodyName), 1, 0}, unknown_column(header[i], *schema));
    }
  }
  const csv::CsvLayout layout = csv::make_layout(header, types, time_column, std::nullopt);
  csv::TickReaderOptions options;
  options.missing_time = receipt_time;
  options.time_zone = zone;
  csv::TickReader ticks(reader, layout, options);
  Batch read(layout.schema);
  try {
    while (ticks.read(read, std::numeric_limits<size_t>::max())) {
    }
  } catch (const RuntimeError& e) {
    return located(read.size() + 1, e.data_location(),
                   fmt::format("row {}: {}", read.size() + 1, e.message()));
  }
  if (auto late = check_not_before(read, not_before)) return late;
  to_schema(read, field_names, schema, out);
  return std::nullopt;
}

// One JSON value as a field of type `type`; false when it does not fit.
bool append_json_value(const nlohmann::json& value, Type type, Column& column,
                       const TimeZone& zone) {
  if (value.is_null()) {
    column.append_default();
    return true;
  }
  switch (type) {
    case Type::Int:
      if (!value.is_number_integer()) return false;
      column.ints().push_back(value.get<int64_t>());
      return true;
    case Type::Double:
      if (value.is_number()) {
        column.doubles().push_back(value.get<double>());
        return true;
      }
      if (double d; value.is_string() && csv::parse_double_cell(value.get<std::string>(), d)) {
        column.doubles().push_back(d);  // "nan", "inf", "-inf"
        return true;
      }
      return false;
    case Type::Bool:
      if (!value.is_boolean()) return false;
      column.bools().push_back(value.get<bool>() ? 1 : 0);
      return true;
    case Type::String:
      if (!value.is_string()) return false;
      column.strings().push_back(value.get<std::string>());
      return true;
    case Type::Time:
    case Type::Duration: {
      if (value.is_number_integer()) {
        column.ints().push_back(value.get<int64_t>());
        return true;
      }
      if (!value.is_string()) return false;
      const std::string text = value.get<std::string>();
      int64_t parsed = 0;
      if (type == Type::Duration) {
        if (!csv::parse_duration_cell(text, parsed)) return false;
      } else if (auto t = parse_time_text(text) ? zone.parse(text) : std::nullopt) {
        parsed = *t;  // a time text (not integer nanoseconds in a string), in the zone
      } else {
        return false;
      }
      column.ints().push_back(parsed);
      return true;
    }
  }
  return false;
}

std::optional<PushBodyError> decode_json_lines(std::string_view body, const SchemaPtr& schema,
                                               const TimeZone& zone, int64_t receipt_time,
                                               int64_t not_before, Batch& out) {
  out = Batch(schema);
  size_t row = 0;
  int line = 0;
  for (size_t start = 0; start < body.size();) {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view text = body.substr(start, end - start);
    start = end + 1;
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    ++row;
    auto fail = [&](const std::string& message) {
      return PushBodyError{row, fmt::format("{}:{}: row {}: {}", kBodyName, line, row, message)};
    };
    nlohmann::json tick;
    // nlohmann keeps the last of repeated keys; a repeated field is refused instead.
    std::vector<std::string> keys;
    std::string repeated;
    auto note_key = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
        auto key = parsed.get<std::string>();
        if (std::find(keys.begin(), keys.end(), key) != keys.end()) repeated = key;
        keys.push_back(std::move(key));
      }
      return true;
    };
    try {
      tick = nlohmann::json::parse(text, note_key);
    } catch (const nlohmann::json::parse_error& e) {
      return fail(fmt::format("not JSON: {}", e.what()));
    }
    if (!repeated.empty()) return fail(fmt::format("key {} appears twice", repeated));
    if (!tick.is_object()) return fail("a JSON-lines tick must be an object {\"FIELD\": value}");
    std::optional<int64_t> time;
    std::vector<bool> seen(schema->size(), false);
    for (const auto& [key, value] : tick.items()) {
      if (key == "TIMESTAMP") {
        Column parsed(Type::Time);
        if (value.is_null() || !append_json_value(value, Type::Time, parsed, zone)) {
          return fail("TIMESTAMP must be a time text or integer nanoseconds");
        }
        time = parsed.ints()[0];
      } else if (auto f = schema->index_of(key)) {
        const Field& field = (*schema)[*f];
        if (!append_json_value(value, field.type, out.columns[*f], zone)) {
          return fail(
              fmt::format("bad {} value {} in field {}", type_name(field.type), value.dump(), key));
        }
        seen[*f] = true;
      } else {
        return fail(unknown_column(key, *schema));
      }
    }
    for (size_t f = 0; f < seen.size(); ++f) {
      if (!seen[f]) out.columns[f].append_default();
    }
    const int64_t t = time.value_or(receipt_time);
    if (!out.times.empty() && t < out.times.back()) {
      return fail(
          fmt::format("timestamp {} is earlier than the previous tick's {}; ticks must "
                      "be in time order",
                      format_time(t), format_time(out.times.back())));
    }
    out.times.push_back(t);
  }
  return check_not_before(out, not_before);
}

}  // namespace

std::optional<PushBodyError> decode_push_body(std::string_view body, PushFormat format,
                                              const SchemaPtr& schema, const TimeZone& zone,
                                              int64_t receipt_time, int64_t not_before,
                                              Batch& out) {
  if (format == PushFormat::Csv) {
    return decode_csv(body, schema, zone, receipt_time, not_before, out);
  }
  return decode_json_lines(body, schema, zone, receipt_time, not_before, out);
}

}  // namespace tickflow::eps
