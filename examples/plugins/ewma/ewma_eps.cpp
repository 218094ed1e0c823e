// Example tickflow plugin with three EPs:
//   ewma      — exponentially weighted moving average of a numeric field, by tick:
//               EWMA_t = alpha * x_t + (1 - alpha) * EWMA_(t-1), starting at the first value;
//               with group_by, one average per group (tickflow/group_keys.hpp).
//   zscore    — (x - mean) / std of three fields of the same tick, as a new field.
//   every_nth — a sampler: the 1st, (n+1)th, (2n+1)th ... tick (of each group), the others
//               dropped; written on tickflow/row_selector.hpp, which moves the ticks.
// It uses only tickflow's public headers, exactly like the built-in EPs.
#include <tickflow/ep_helpers.hpp>
#include <tickflow/group_keys.hpp>
#include <tickflow/plugin.hpp>
#include <tickflow/row_selector.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace {

using namespace tickflow;

// Reads an int or double column as double.
double number_at(const Column& column, size_t row) {
  return column.type() == Type::Double ? column.doubles()[row]
                                       : static_cast<double>(column.ints()[row]);
}

bool is_number(Type type) {
  return type == Type::Int || type == Type::Double;
}

class EwmaOperator : public Operator {
 public:
  EwmaOperator(SchemaPtr schema, size_t field, double alpha, std::vector<size_t> key_columns)
      : schema_(std::move(schema)), field_(field), alpha_(alpha), groups_(std::move(key_columns)) {}

  void process(size_t, Batch&& batch, OutputSink& out) override {
    Column result(Type::Double);
    result.reserve(batch.size());
    groups_.assign(batch, group_of_row_);
    averages_.resize(groups_.group_count());
    for (size_t row = 0; row < batch.size(); ++row) {
      double x = number_at(batch.columns[field_], row);
      Average& a = averages_[group_of_row_[row]];
      a.value = a.started ? alpha_ * x + (1 - alpha_) * a.value : x;
      a.started = true;
      result.doubles().push_back(a.value);
    }
    batch.columns.push_back(std::move(result));
    batch.schema = schema_;
    out.emit(0, std::move(batch));
  }

 private:
  struct Average {
    double value = 0;
    bool started = false;
  };
  SchemaPtr schema_;
  size_t field_;
  double alpha_;
  GroupKeys groups_;                    // group_by values -> dense group id
  std::vector<uint32_t> group_of_row_;  // scratch: the group of each row of a batch
  std::vector<Average> averages_;       // per group; per run, so per symbol
};

OperatorFactory bind_ewma(BindContext& ctx) {
  const std::string field = ctx.get_string("field");
  auto index = ctx.require_field(0, field, ctx.location("field"));
  const double alpha = ctx.get_double("alpha");
  if (!(alpha > 0 && alpha <= 1)) {
    ctx.error(ctx.location("alpha"), "alpha must be in (0, 1], got " + std::to_string(alpha));
  }
  if (index && !is_number((*ctx.input(0).schema)[*index].type)) {
    ctx.error(ctx.location("field"), "field " + field + " is not a number");
  }
  std::string output = ctx.has("as") ? ctx.get_string("as") : field + "_EWMA";
  if (ctx.input(0).schema->contains(output)) {
    ctx.error(ctx.location("as"),
              "field " + output + " already exists; choose another name with as:");
  }
  std::vector<size_t> key_columns;
  read_key_fields(ctx, key_columns);  // located errors; ctx.has_errors() below
  if (ctx.has_errors()) return {};
  auto fields = ctx.input(0).schema->fields();
  fields.push_back({output, Type::Double});
  SchemaPtr schema = make_schema(fields);
  ctx.set_output(0, schema);
  size_t column = *index;
  return [schema, column, alpha, key_columns](const RunContext&) {
    return std::make_unique<EwmaOperator>(schema, column, alpha, key_columns);
  };
}

class ZscoreOperator : public Operator {
 public:
  ZscoreOperator(SchemaPtr schema, size_t x, size_t mean, size_t std)
      : schema_(std::move(schema)), x_(x), mean_(mean), std_(std) {}

  void process(size_t, Batch&& batch, OutputSink& out) override {
    Column result(Type::Double);
    result.reserve(batch.size());
    for (size_t row = 0; row < batch.size(); ++row) {
      double sd = number_at(batch.columns[std_], row);
      double z = (number_at(batch.columns[x_], row) - number_at(batch.columns[mean_], row)) / sd;
      result.doubles().push_back(sd > 0 ? z : std::nan(""));
    }
    batch.columns.push_back(std::move(result));
    batch.schema = schema_;
    out.emit(0, std::move(batch));
  }

 private:
  SchemaPtr schema_;
  size_t x_, mean_, std_;
};

OperatorFactory bind_zscore(BindContext& ctx) {
  size_t columns[3] = {0, 0, 0};
  const char* params[3] = {"x", "mean", "std"};
  for (int i = 0; i < 3; ++i) {
    auto index = ctx.require_field(0, ctx.get_string(params[i]), ctx.location(params[i]));
    if (index && !is_number((*ctx.input(0).schema)[*index].type)) {
      ctx.error(ctx.location(params[i]), std::string(params[i]) + " must be a numeric field");
    }
    if (index) columns[i] = *index;
  }
  const std::string output = ctx.get_string("as");
  if (ctx.input(0).schema->contains(output)) {
    ctx.error(ctx.location("as"), "field " + output + " already exists");
  }
  if (ctx.has_errors()) return {};
  auto fields = ctx.input(0).schema->fields();
  fields.push_back({output, Type::Double});
  SchemaPtr schema = make_schema(fields);
  ctx.set_output(0, schema);
  return [schema, columns](const RunContext&) {
    return std::make_unique<ZscoreOperator>(schema, columns[0], columns[1], columns[2]);
  };
}

// Decides per tick; RowSelectingOperator drops or passes the ticks without copying them
// when it can.
class EveryNthOperator : public RowSelectingOperator {
 public:
  EveryNthOperator(int64_t n, std::vector<size_t> key_columns)
      : n_(n), groups_(std::move(key_columns)) {}

 private:
  void select(const Batch& batch, size_t rows, std::vector<uint8_t>& ports) override {
    groups_.assign(batch, group_of_row_);
    seen_.resize(groups_.group_count(), 0);
    for (size_t row = 0; row < rows; ++row) {
      int64_t& seen = seen_[group_of_row_[row]];
      if (seen % n_ == 0) ports[row] = 0;  // otherwise left at kDrop
      ++seen;
    }
  }

  int64_t n_;
  GroupKeys groups_;
  std::vector<uint32_t> group_of_row_;
  std::vector<int64_t> seen_;  // ticks seen per group
};

OperatorFactory bind_every_nth(BindContext& ctx) {
  const int64_t n = ctx.get_int("n");
  if (n < 1) ctx.error(ctx.location("n"), "n must be at least 1, got " + std::to_string(n));
  std::vector<size_t> key_columns;
  read_key_fields(ctx, key_columns);  // located errors; ctx.has_errors() below
  if (ctx.has_errors()) return {};
  ctx.set_output(0, ctx.input(0).schema, ctx.input(0).time_ordered);
  return [n, key_columns](const RunContext&) {
    return std::make_unique<EveryNthOperator>(n, key_columns);
  };
}

// A plugin's EP carries a runnable example too: `tickflow eps ewma` shows it.
EpExample ewma_example() {
  return {
      .query =
          R"~(# A smoothed price: each tick's PRICE_EWMA is 0.5 * PRICE + 0.5 * the previous average.
tickflow: 1
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", PRICE: 10.0}
      - {TIMESTAMP: "2024-01-02 09:30:01", PRICE: 11.0}
      - {TIMESTAMP: "2024-01-02 09:30:02", PRICE: 9.0}
      - {TIMESTAMP: "2024-01-02 09:30:03", PRICE: 13.0}
  smooth:
    ep: ewma
    in: trades
    field: PRICE
    alpha: 0.5
)~",
      .output = R"~(TIMESTAMP,PRICE,PRICE_EWMA
2024-01-02 09:30:00.000000000,10,10
2024-01-02 09:30:01.000000000,11,10.5
2024-01-02 09:30:02.000000000,9,9.75
2024-01-02 09:30:03.000000000,13,11.375
)~"};
}

void register_eps(Registry& registry) {
  EpDefinition ewma;
  ewma.name = "ewma";
  ewma.example = ewma_example();
  ewma.doc =
      "Exponentially weighted moving average of a numeric field, tick by tick: "
      "alpha * x + (1 - alpha) * previous, starting at the first value.";
  ewma.inputs = {"in"};
  ewma.params = {
      {.name = "field",
       .type = ParamType::Field,
       .required = true,
       .doc = "numeric field to average"},
      {.name = "alpha",
       .type = ParamType::Double,
       .default_value = "0.1",
       .doc = "weight of the newest tick, in (0, 1]"},
      {.name = "as", .type = ParamType::Field, .doc = "output field (default <FIELD>_EWMA)"},
      {.name = "group_by",
       .type = ParamType::FieldList,
       .doc = "fields whose values form groups; one average per group"},
  };
  ewma.bind = bind_ewma;
  registry.add(std::move(ewma));

  EpDefinition zscore;
  zscore.name = "zscore";
  zscore.doc =
      "Adds (x - mean) / std computed from three numeric fields of each tick; "
      "NaN where std is not positive.";
  zscore.inputs = {"in"};
  zscore.params = {
      {.name = "x", .type = ParamType::Field, .required = true, .doc = "the value"},
      {.name = "mean", .type = ParamType::Field, .required = true, .doc = "field holding the mean"},
      {.name = "std",
       .type = ParamType::Field,
       .required = true,
       .doc = "field holding the standard deviation"},
      {.name = "as", .type = ParamType::Field, .default_value = "ZSCORE", .doc = "output field"},
  };
  zscore.bind = bind_zscore;
  registry.add(std::move(zscore));

  EpDefinition every_nth;
  every_nth.name = "every_nth";
  every_nth.doc =
      "Passes the 1st, (n+1)th, (2n+1)th ... tick, per group with group_by; drops the others.";
  every_nth.inputs = {"in"};
  every_nth.params = {
      {.name = "n", .type = ParamType::Int, .required = true, .doc = "keep one tick in n"},
      {.name = "group_by", .type = ParamType::FieldList, .doc = "count per group of these fields"},
  };
  every_nth.bind = bind_every_nth;
  registry.add(std::move(every_nth));
}

}  // namespace

extern "C" TICKFLOW_PLUGIN_EXPORT const tickflow::PluginInfo* tickflow_plugin_info() {
  static const tickflow::PluginInfo info{tickflow::kPluginAbiVersion, "ewma_eps", "1.0",
                                         &register_eps};
  return &info;
}
