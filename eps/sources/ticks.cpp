// The `ticks` source: ticks written inline in the query file. Everything is parsed and
// validated at bind time, so a run only copies prepared rows into batches.
#include <charconv>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps {
namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

std::optional<int64_t> parse_int_text(std::string_view text) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parse_double_text(std::string_view text) {
  // YAML spells the special values .nan / .inf; SPEC §1 spells them nan / inf.
  bool negative = false;
  std::string_view body = text;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (!body.empty() && body[0] == '.' &&
      (equals_ignoring_case(body, ".nan") || equals_ignoring_case(body, ".inf"))) {
    body.remove_prefix(1);
  }
  if (body.empty() || body[0] == '+' || body[0] == '-') return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (ec != std::errc() || end != body.data() + body.size()) return std::nullopt;
  return negative ? -value : value;
}

std::optional<bool> parse_bool_text(std::string_view text) {
  if (equals_ignoring_case(text, "true")) return true;
  if (equals_ignoring_case(text, "false")) return false;
  return std::nullopt;
}

// The type an unquoted YAML scalar reads as; quoted text is always a string so that
// users can write '123' to get a string field.
Type infer_type(const std::string& text, bool quoted) {
  if (quoted) return Type::String;
  if (parse_bool_text(text)) return Type::Bool;
  if (parse_int_text(text)) return Type::Int;
  if (parse_double_text(text)) return Type::Double;
  return Type::String;
}

// Converts a cell to `type`, or nullopt when it does not fit. A declared type is the
// user's explicit intent, so quoted numbers are accepted for numeric fields.
// Times without an offset are read in `zone`, the query's (SPEC §17).
std::optional<Value> parse_cell(const std::string& text, Type type, const TimeZone& zone) {
  switch (type) {
    case Type::Int:
      if (auto v = parse_int_text(text)) return Value(*v);
      return std::nullopt;
    case Type::Double:
      if (auto v = parse_double_text(text)) return Value(*v);
      return std::nullopt;
    case Type::Bool:
      if (auto v = parse_bool_text(text)) return Value(*v);
      return std::nullopt;
    case Type::String:
      return Value(text);
    case Type::Time:
      if (auto v = zone.parse(text)) return Value(*v);
      return std::nullopt;
    case Type::Duration:
      // Durations print as integer ns (SPEC §5), so that form must read back.
      if (auto v = parse_duration(text)) return Value(*v);
      if (auto v = parse_int_text(text)) return Value(*v);
      return std::nullopt;
  }
  return std::nullopt;
}

void set_cell(Column& column, size_t row, Value value) {
  switch (column.type()) {
    case Type::Double:
      column.doubles()[row] = std::get<double>(value);
      break;
    case Type::Bool:
      column.bools()[row] = std::get<bool>(value) ? 1 : 0;
      break;
    case Type::String:
      column.strings().set(row, std::get<std::string>(value));
      break;
    default:
      column.ints()[row] = std::get<int64_t>(value);
  }
}

std::vector<std::string> all_type_names() {
  std::vector<std::string> names;
  for (Type t : {Type::Int, Type::Double, Type::Bool, Type::String, Type::Time, Type::Duration}) {
    names.emplace_back(type_name(t));
  }
  return names;
}

std::string describe_type_for_message(Type type) {
  switch (type) {
    case Type::Int:
      return "an int";
    case Type::Double:
      return "a double";
    case Type::Bool:
      return "a bool (true or false)";
    case Type::String:
      return "a string";
    case Type::Time:
      return "a time";
    case Type::Duration:
      return "a duration";
  }
  return "?";
}

// One field as collected from `fields:` and the rows, before the values are converted.
struct FieldBuild {
  std::string name;
  std::optional<Type> declared;
  std::optional<Type> inferred;
  size_t inferred_from_row = 0;  // 1-based, for messages
  struct Cell {
    size_t row;
    const ConfigNode* value;
    std::string text;  // after ${NAME} substitution
  };
  std::vector<Cell> cells;
};

// All rows of the query, shared by the runs of every symbol.
struct PreparedTicks {
  Batch rows;
  // The SYMBOL of each row when the run has symbols and the rows name them (SPEC §1).
  std::optional<std::vector<std::string>> row_symbols;
};

class TicksOperator : public Operator {
 public:
  TicksOperator(std::shared_ptr<const PreparedTicks> data, std::vector<size_t> selected,
                const RunContext& run)
      : data_(std::move(data)),
        selected_(std::move(selected)),
        batch_size_(run.batch_size == 0 ? 1 : run.batch_size),
        progress_(run.progress) {
    if (progress_) progress_->set_total(static_cast<int64_t>(selected_.size()));
  }

  bool produce(OutputSink& out) override {
    size_t end = std::min(next_ + batch_size_, selected_.size());
    if (next_ < end) {
      Batch batch(data_->rows.schema);
      batch.reserve(end - next_);
      for (size_t i = next_; i < end; ++i) batch.append_row(data_->rows, selected_[i]);
      out.emit(0, std::move(batch));
    }
    next_ = end;
    if (progress_) progress_->set_done(static_cast<int64_t>(next_));
    return next_ < selected_.size();
  }

 private:
  std::shared_ptr<const PreparedTicks> data_;
  std::vector<size_t> selected_;
  size_t batch_size_;
  SourceProgress* progress_;
  size_t next_ = 0;
};

OperatorFactory bind_ticks(BindContext& ctx) {
  bool failed = false;
  auto fail = [&](const Location& loc, std::string message) {
    ctx.error(loc, std::move(message));
    failed = true;
  };

  std::vector<FieldBuild> fields;
  std::map<std::string, size_t, std::less<>> field_index;
  auto field_for = [&](const std::string& name) -> FieldBuild& {
    auto it = field_index.find(name);
    if (it != field_index.end()) return fields[it->second];
    field_index.emplace(name, fields.size());
    fields.push_back({});
    fields.back().name = name;
    return fields.back();
  };

  if (const ConfigNode* declared = ctx.param("fields"); declared && declared->is_mapping()) {
    for (const auto& entry : declared->entries()) {
      if (!is_valid_name(entry.key)) {
        fail(entry.key_location,
             "invalid field name '" + entry.key + "': names match [A-Za-z_][A-Za-z0-9_]*");
        continue;
      }
      auto type = parse_type(entry.value.text());
      if (!type) {
        fail(entry.value.location(), "unknown type '" + entry.value.text() + "' for field " +
                                         entry.key +
                                         did_you_mean(entry.value.text(), all_type_names()) +
                                         "; types are int, double, bool, string, time, duration");
        continue;
      }
      if (entry.key == "TIMESTAMP") {
        if (*type != Type::Time) {
          fail(entry.value.location(), "TIMESTAMP is always of type time");
        }
        continue;
      }
      field_for(entry.key).declared = type;
    }
  }

  const int64_t stamp_origin = ctx.query().range_start.value_or(0);
  const TimeZone zone = query_zone(ctx.query());
  std::vector<int64_t> times;
  std::vector<Location> time_locations;
  const ConfigNode* rows = ctx.param("rows");
  const std::vector<ConfigNode> no_rows;
  const std::vector<ConfigNode>& row_nodes = rows && rows->is_sequence() ? rows->items() : no_rows;
  times.reserve(row_nodes.size());
  for (size_t r = 0; r < row_nodes.size(); ++r) {
    const ConfigNode& row = row_nodes[r];
    const std::string row_name = "row " + std::to_string(r + 1);
    int64_t time = stamp_origin + static_cast<int64_t>(r) * kNanosPerMilli;
    Location time_location = row.location();
    if (!row.is_mapping()) {
      fail(row.location(), row_name + " is a " + std::string(row.kind_name()) +
                               "; each row is a mapping of field: value");
      times.push_back(time);
      time_locations.push_back(time_location);
      continue;
    }
    for (const auto& entry : row.entries()) {
      const ConfigNode& value = entry.value;
      if (!value.is_scalar() && !value.is_null()) {
        fail(value.location(), row_name + ": the value of " + entry.key + " is a " +
                                   std::string(value.kind_name()) + "; expected a single value");
        continue;
      }
      if (entry.key == "TIMESTAMP") {
        if (value.is_null()) continue;  // stamped like a row without TIMESTAMP
        std::string text = value.text();
        if (text.find("${") != std::string::npos) text = ctx.substitute(text, value.location());
        auto parsed = zone.parse(text);
        if (!parsed) {
          fail(value.location(), row_name + ": TIMESTAMP '" + text +
                                     "' is not a time (use \"YYYY-MM-DD HH:MM:SS[.fraction]\", "
                                     "ISO-8601 or integer nanoseconds)" +
                                     time_range_hint(text));
          continue;
        }
        time = *parsed;
        time_location = value.location();
        continue;
      }
      if (!is_valid_name(entry.key)) {
        fail(entry.key_location,
             "invalid field name '" + entry.key + "': names match [A-Za-z_][A-Za-z0-9_]*");
        continue;
      }
      FieldBuild& field = field_for(entry.key);
      if (value.is_null()) continue;  // the type's default
      std::string text = value.text();
      if (text.find("${") != std::string::npos) text = ctx.substitute(text, value.location());
      if (!field.declared && !field.inferred) {
        field.inferred = infer_type(text, value.quoted());
        field.inferred_from_row = r + 1;
      }
      field.cells.push_back({r, &value, std::move(text)});
    }
    if (!times.empty() && time < times.back()) {
      fail(time_location, row_name + ": TIMESTAMP " + format_time(time) + " is earlier than row " +
                              std::to_string(r) + "'s " + format_time(times.back()) +
                              "; rows must be in time order");
    }
    times.push_back(time);
    time_locations.push_back(time_location);
  }

  const bool filter_by_symbol = !ctx.query().symbols.empty() && field_index.count("SYMBOL") > 0;
  std::vector<Field> schema_fields;
  std::vector<Column> columns;
  std::optional<std::vector<std::string>> row_symbols;
  for (auto& field : fields) {
    // A field seen only with empty values has nothing to infer from; string is the
    // type that can hold whatever a later edit of the file puts there.
    Type type = field.declared.value_or(field.inferred.value_or(Type::String));
    Column column(type);
    column.resize(row_nodes.size());
    for (auto& cell : field.cells) {
      auto parsed = parse_cell(cell.text, type, zone);
      if (!parsed) {
        std::string message = "row " + std::to_string(cell.row + 1) + ": " + field.name + " is '" +
                              cell.text + "', which is not " + describe_type_for_message(type);
        if (field.declared) {
          message += " (declared in fields:)";
        } else {
          message += " (the type inferred from row " + std::to_string(field.inferred_from_row) +
                     "); declare the type with fields: {" + field.name + ": <type>}";
        }
        fail(cell.value->location(), std::move(message));
        continue;
      }
      set_cell(column, cell.row, std::move(*parsed));
    }
    if (filter_by_symbol && field.name == "SYMBOL") {
      if (type != Type::String) {
        fail(ctx.location("rows"), "SYMBOL must be a string");
        continue;
      }
      row_symbols.emplace(column.strings().begin(), column.strings().end());
      continue;
    }
    schema_fields.push_back({field.name, type});
    columns.push_back(std::move(column));
  }
  if (failed) return {};

  auto data = std::make_shared<PreparedTicks>();
  data->rows.schema = make_schema(std::move(schema_fields));
  data->rows.times = std::move(times);
  data->rows.columns = std::move(columns);
  data->row_symbols = std::move(row_symbols);
  ctx.set_output(0, data->rows.schema, true);

  return [data = std::shared_ptr<const PreparedTicks>(data)](const RunContext& run) {
    std::vector<size_t> selected;
    const auto& times = data->rows.times;
    selected.reserve(times.size());
    const QueryInfo* query = run.query;
    for (size_t i = 0; i < times.size(); ++i) {
      if (query && query->range_start && times[i] < *query->range_start) continue;
      if (query && query->range_end && times[i] >= *query->range_end) break;
      if (data->row_symbols && (*data->row_symbols)[i] != run.symbol) continue;
      selected.push_back(i);
    }
    return std::make_unique<TicksOperator>(data, std::move(selected), run);
  };
}

// Shown by `tickflow eps ticks` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample ticks_example() {
  return {
      .query =
          R"~(# Ticks written in the query; SIZE forced to double, a missing value is nan (or false).
tickflow: 1
nodes:
  trades:
    ep: ticks
    fields: {SIZE: double}
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:00.5", SYMBOL: AAPL, PRICE: 185.5}
      - {TIMESTAMP: "2024-01-02 09:30:01", SYMBOL: "MSFT", PRICE: 370.5, SIZE: 300, ODD_LOT: false}
)~",
      .output = R"~(TIMESTAMP,SIZE,SYMBOL,PRICE,ODD_LOT
2024-01-02 09:30:00.000000000,100,AAPL,185.25,false
2024-01-02 09:30:00.500000000,nan,AAPL,185.5,false
2024-01-02 09:30:01.000000000,300,MSFT,370.5,false
)~"};
}

}  // namespace

void register_ticks(Registry& registry) {
  EpDefinition def;
  def.name = "ticks";
  def.example = ticks_example();
  def.doc =
      "Ticks written inline in the query. `rows:` is a list of mappings field -> value; a row "
      "without TIMESTAMP is stamped range start (or 1970-01-01) + i*1ms, i being the row index. "
      "Field types come from `fields:` or are inferred from the first row that has the field: "
      "unquoted integers are int, other numbers (and nan, inf) double, true/false bool, "
      "anything else (and quoted text) string. Fields are ordered as in `fields:`, then by "
      "first appearance; a row without a field gets the type's default. Rows must be in time "
      "order. In a run with symbols, a SYMBOL field selects each symbol's rows.";
  def.inputs = {};
  def.outputs = {"out"};
  def.params = {
      {.name = "rows",
       .type = ParamType::Rows,
       .required = true,
       .doc = "list of ticks, each a mapping field -> value"},
      {.name = "fields",
       .type = ParamType::FieldTypes,
       .doc = "types of fields, e.g. {PRICE: double}"},
  };
  def.accumulation = "none";
  def.bind = bind_ticks;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
