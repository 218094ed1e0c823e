// Field selection and renaming: `keep`, `drop`, `rename`. All three only rearrange
// columns, so their operators move column vectors from the input batch to the output
// batch and never touch a value.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/types.hpp"

namespace tickflow::eps {
namespace {

// Output column c is input column source_columns[c], under the output schema's name.
class SelectColumnsOperator : public Operator {
 public:
  SelectColumnsOperator(SchemaPtr schema, std::shared_ptr<const std::vector<size_t>> sources)
      : schema_(std::move(schema)), source_columns_(std::move(sources)) {}

  void process(size_t, Batch&& batch, OutputSink& out) override {
    Batch result;
    result.schema = schema_;
    result.times = std::move(batch.times);
    result.columns.reserve(source_columns_->size());
    for (size_t source : *source_columns_)
      result.columns.push_back(std::move(batch.columns[source]));
    out.emit(0, std::move(result));
  }

 private:
  SchemaPtr schema_;
  std::shared_ptr<const std::vector<size_t>> source_columns_;
};

// Declares the output and returns the factory shared by the three EPs.
// The EPs read no value but name fields that must exist: those count as read, and the
// fields they keep are passed on under the same name or renamed.
OperatorFactory select_columns(BindContext& ctx, std::vector<Field> fields,
                               std::vector<size_t> sources, std::vector<std::string> named) {
  ctx.reads_only(0, std::move(named));
  SchemaPtr schema = make_schema(std::move(fields));
  ctx.set_output(0, schema, ctx.input(0).time_ordered);
  auto shared_sources = std::make_shared<const std::vector<size_t>>(std::move(sources));
  return [schema, shared_sources](const RunContext&) {
    return std::make_unique<SelectColumnsOperator>(schema, shared_sources);
  };
}

OperatorFactory bind_keep(BindContext& ctx) {
  const Schema& input = *ctx.input(0).schema;
  bool failed = false;
  std::vector<Field> fields;
  std::vector<size_t> sources;
  std::set<std::string> listed;
  for (const ConfigNode* item : list_items(ctx.param("fields"))) {
    const std::string& name = item->text();
    if (name == "TIMESTAMP") continue;  // always kept, first
    if (!listed.insert(name).second) {
      ctx.error(item->location(), "field " + name + " is listed twice");
      failed = true;
      continue;
    }
    auto index = ctx.require_field(0, name, item->location());
    if (!index) {
      failed = true;
      continue;
    }
    fields.push_back(input[*index]);
    sources.push_back(*index);
  }
  if (failed) return {};
  std::vector<std::string> named = field_names(input, sources);
  return select_columns(ctx, std::move(fields), std::move(sources), std::move(named));
}

OperatorFactory bind_drop(BindContext& ctx) {
  const Schema& input = *ctx.input(0).schema;
  bool failed = false;
  std::vector<bool> dropped(input.size(), false);
  for (const ConfigNode* item : list_items(ctx.param("fields"))) {
    const std::string& name = item->text();
    if (name == "TIMESTAMP") {
      ctx.error(item->location(), "TIMESTAMP cannot be dropped: every tick has one");
      failed = true;
      continue;
    }
    auto index = ctx.require_field(0, name, item->location());
    if (!index) {
      failed = true;
      continue;
    }
    if (dropped[*index]) {
      ctx.error(item->location(), "field " + name + " is listed twice");
      failed = true;
    }
    dropped[*index] = true;
  }
  if (failed) return {};
  std::vector<Field> fields;
  std::vector<size_t> sources;
  std::vector<std::string> named;
  for (size_t i = 0; i < input.size(); ++i) {
    if (dropped[i]) {
      named.push_back(input[i].name);
      continue;
    }
    fields.push_back(input[i]);
    sources.push_back(i);
  }
  return select_columns(ctx, std::move(fields), std::move(sources), std::move(named));
}

OperatorFactory bind_rename(BindContext& ctx) {
  const Schema& input = *ctx.input(0).schema;
  bool failed = false;
  std::vector<Field> fields = input.fields();
  std::vector<const ConfigNode*> new_name_nodes(input.size(), nullptr);
  const ConfigNode* map = ctx.param("fields");
  if (map && map->is_mapping()) {
    for (const auto& entry : map->entries()) {
      const std::string& new_name = entry.value.text();
      if (entry.key == "TIMESTAMP") {
        ctx.error(entry.key_location, "TIMESTAMP cannot be renamed");
        failed = true;
        continue;
      }
      auto index = ctx.require_field(0, entry.key, entry.key_location);
      if (!index) {
        failed = true;
        continue;
      }
      if (!is_valid_name(new_name)) {
        ctx.error(entry.value.location(),
                  "invalid field name '" + new_name + "': names match [A-Za-z_][A-Za-z0-9_]*");
        failed = true;
        continue;
      }
      if (new_name == "TIMESTAMP") {
        ctx.error(entry.value.location(),
                  "cannot rename " + entry.key + " to TIMESTAMP: every tick already has one");
        failed = true;
        continue;
      }
      if (new_name == "SYMBOL" && !ctx.query().symbols.empty()) {
        ctx.error(entry.value.location(), "cannot rename " + entry.key +
                                              " to SYMBOL: in a run with symbols SYMBOL is the "
                                              "symbol of the run");
        failed = true;
        continue;
      }
      fields[*index].name = new_name;
      new_name_nodes[*index] = &entry.value;
    }
  }
  if (failed) return {};
  // Checked on the result so that swaps ({A: B, B: A}) are allowed.
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!new_name_nodes[i]) continue;
    for (size_t j = 0; j < fields.size(); ++j) {
      if (j == i || fields[j].name != fields[i].name) continue;
      // Report a clash of two renames once, at the later one.
      if (new_name_nodes[j] && j > i) continue;
      const std::string other = new_name_nodes[j]
                                    ? input[j].name + " (also renamed to " + fields[j].name + ")"
                                    : "the existing field " + fields[j].name;
      ctx.error(new_name_nodes[i]->location(),
                "renaming " + input[i].name + " to " + fields[i].name + " clashes with " + other);
      failed = true;
    }
  }
  if (failed) return {};
  std::vector<size_t> sources(input.size());
  std::vector<std::string> named;
  for (size_t i = 0; i < sources.size(); ++i) {
    sources[i] = i;
    if (new_name_nodes[i]) named.push_back(input[i].name);
  }
  return select_columns(ctx, std::move(fields), std::move(sources), std::move(named));
}

EpDefinition field_ep(std::string name, std::string doc, ParamSpec fields_param, BindFunction bind,
                      EpExample example) {
  EpDefinition def;
  def.name = std::move(name);
  def.example = std::move(example);
  def.doc = std::move(doc);
  def.inputs = {"in"};
  def.outputs = {"out"};
  def.params = {std::move(fields_param)};
  def.accumulation = "none";
  def.bind = std::move(bind);
  return def;
}

// Shown by `tickflow eps keep` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample keep_example() {
  return {.query = R"~(# Only SYMBOL and PRICE (TIMESTAMP always stays).
tickflow: 1
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
      - {TIMESTAMP: "2024-01-02 09:31:10", SYMBOL: AAPL, PRICE: 185.0, SIZE: 500}
      - {TIMESTAMP: "2024-01-02 09:31:30", SYMBOL: MSFT, PRICE: 371.0, SIZE: 100}
  prices:
    ep: keep
    in: trades
    fields: [SYMBOL, PRICE]
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE
2024-01-02 09:30:00.000000000,AAPL,185.25
2024-01-02 09:30:20.000000000,MSFT,370.5
2024-01-02 09:30:40.000000000,AAPL,185.5
2024-01-02 09:31:10.000000000,AAPL,185
2024-01-02 09:31:30.000000000,MSFT,371
)~"};
}

// Shown by `tickflow eps drop` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample drop_example() {
  return {.query = R"~(# Every field but SIZE.
tickflow: 1
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
      - {TIMESTAMP: "2024-01-02 09:31:10", SYMBOL: AAPL, PRICE: 185.0, SIZE: 500}
      - {TIMESTAMP: "2024-01-02 09:31:30", SYMBOL: MSFT, PRICE: 371.0, SIZE: 100}
  no_size:
    ep: drop
    in: trades
    fields: [SIZE]
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PRICE
2024-01-02 09:30:00.000000000,AAPL,185.25
2024-01-02 09:30:20.000000000,MSFT,370.5
2024-01-02 09:30:40.000000000,AAPL,185.5
2024-01-02 09:31:10.000000000,AAPL,185
2024-01-02 09:31:30.000000000,MSFT,371
)~"};
}

// Shown by `tickflow eps rename` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample rename_example() {
  return {.query = R"~(# PRICE and SIZE renamed, in place.
tickflow: 1
nodes:
  trades:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, PRICE: 185.25, SIZE: 100}
      - {TIMESTAMP: "2024-01-02 09:30:20", SYMBOL: MSFT, PRICE: 370.5, SIZE: 300}
      - {TIMESTAMP: "2024-01-02 09:30:40", SYMBOL: AAPL, PRICE: 185.5, SIZE: 200}
      - {TIMESTAMP: "2024-01-02 09:31:10", SYMBOL: AAPL, PRICE: 185.0, SIZE: 500}
      - {TIMESTAMP: "2024-01-02 09:31:30", SYMBOL: MSFT, PRICE: 371.0, SIZE: 100}
  renamed:
    ep: rename
    in: trades
    fields: {PRICE: PX, SIZE: QTY}
)~",
          .output = R"~(TIMESTAMP,SYMBOL,PX,QTY
2024-01-02 09:30:00.000000000,AAPL,185.25,100
2024-01-02 09:30:20.000000000,MSFT,370.5,300
2024-01-02 09:30:40.000000000,AAPL,185.5,200
2024-01-02 09:31:10.000000000,AAPL,185,500
2024-01-02 09:31:30.000000000,MSFT,371,100
)~"};
}

}  // namespace

void register_fields(Registry& registry) {
  registry.add(
      field_ep("keep",
               "Keeps only the listed fields, in the listed order. TIMESTAMP always stays first; "
               "listing it is allowed and has no effect.",
               {.name = "fields",
                .type = ParamType::FieldList,
                .required = true,
                .doc = "fields to keep, in output order"},
               bind_keep, keep_example()));
  registry.add(field_ep(
      "drop",
      "Removes the listed fields; the others keep their positions. TIMESTAMP cannot be dropped.",
      {.name = "fields", .type = ParamType::FieldList, .required = true, .doc = "fields to remove"},
      bind_drop, drop_example()));
  registry.add(field_ep(
      "rename",
      "Renames fields (OLD: NEW); every field keeps its position. NEW must be a valid name that "
      "no other field of the result has; renames apply at once, so {A: B, B: A} swaps. "
      "TIMESTAMP cannot be renamed.",
      {.name = "fields", .type = ParamType::NameMap, .required = true, .doc = "mapping OLD: NEW"},
      bind_rename, rename_example()));
}

}  // namespace tickflow::eps
