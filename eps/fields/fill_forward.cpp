// `fill_forward`: a missing value (NaN in a double field, "" in a string field) is replaced by
// the field's last present value, per group with group_by. Ticks pass at once; the EP holds
// one value per field and group.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/ep_helpers.hpp"
#include "tickflow/group_keys.hpp"
#include "tickflow/rows.hpp"

namespace tickflow::eps {
namespace {

struct FillOptions {
  std::vector<size_t> fields;  // columns to fill, double or string
  std::vector<size_t> key_columns;
};

class FillForwardOperator : public Operator {
 public:
  explicit FillForwardOperator(std::shared_ptr<const FillOptions> options)
      : options_(std::move(options)), groups_(options_->key_columns) {}

  void process(size_t, Batch&& batch, OutputSink& out) override {
    for (size_t row = 0; row < batch.size(); ++row) {
      Last& last = group_of(batch, row);
      for (size_t f = 0; f < options_->fields.size(); ++f) {
        Column& column = batch.columns[options_->fields[f]];
        if (column.type() == Type::Double) {
          double& value = column.doubles()[row];
          if (std::isnan(value)) {
            value = last.doubles[f];
          } else {
            last.doubles[f] = value;
          }
        } else {
          StringColumn& values = column.strings();
          const std::string_view value = values[row];
          if (value.empty()) {
            values.set(row, last.strings[f]);
          } else {
            last.strings[f].assign(value);
          }
        }
      }
    }
    out.emit(0, std::move(batch));
  }

  Held held() const override { return {static_cast<int64_t>(last_.size()), 0}; }

 private:
  // The last present values of one group; NaN and "" until a value is seen.
  struct Last {
    std::vector<double> doubles;
    std::vector<std::string> strings;
  };

  Last make_last() const {
    const size_t n = options_->fields.size();
    return {std::vector<double>(n, std::numeric_limits<double>::quiet_NaN()),
            std::vector<std::string>(n)};
  }

  Last& group_of(const Batch& batch, size_t row) {
    const uint32_t group = groups_.id(batch, row);
    if (group == last_.size()) last_.push_back(make_last());
    return last_[group];
  }

  std::shared_ptr<const FillOptions> options_;
  GroupKeys groups_;
  std::vector<Last> last_;  // by group id
};

OperatorFactory bind_fill_forward(BindContext& ctx) {
  const Schema& input = *ctx.input(0).schema;
  auto options = std::make_shared<FillOptions>();
  bool ok = true;
  std::vector<bool> is_key(input.size(), false);
  ok = read_key_fields(ctx, options->key_columns) && ok;
  for (size_t c : options->key_columns) is_key[c] = true;
  auto fillable = [&](size_t c) {
    return input[c].type == Type::Double || input[c].type == Type::String;
  };
  if (ctx.has("fields")) {
    std::vector<bool> listed(input.size(), false);
    for (const ConfigNode* item : list_items(ctx.param("fields"))) {
      auto index = ctx.require_field(0, item->text(), item->location());
      if (!index) {
        ok = false;
        continue;
      }
      if (listed[*index]) {
        ctx.error(item->location(), "field " + item->text() + " is listed twice");
        ok = false;
      } else if (!fillable(*index)) {
        ctx.error(item->location(),
                  "field " + item->text() + " is " + std::string(type_name(input[*index].type)) +
                      ", which has no missing value; fill_forward fills NaN doubles and empty "
                      "strings");
        ok = false;
      } else if (is_key[*index]) {
        ctx.error(item->location(), "field " + item->text() + " is a group_by field");
        ok = false;
      }
      listed[*index] = true;
      options->fields.push_back(*index);
    }
  } else {
    for (size_t c = 0; c < input.size(); ++c) {
      if (fillable(c) && !is_key[c]) options->fields.push_back(c);
    }
  }
  if (!ok) return {};
  ctx.set_output(0, ctx.input(0).schema, ctx.input(0).time_ordered);
  std::shared_ptr<const FillOptions> shared = options;
  return [shared](const RunContext&) { return std::make_unique<FillForwardOperator>(shared); };
}

// Shown by `tickflow eps fill_forward` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample fill_forward_example() {
  return {.query = R"~(# Missing bids (nan) and venues ('') take the symbol's last present value.
tickflow: 1
nodes:
  quotes:
    ep: ticks
    rows:
      - {TIMESTAMP: "2024-01-02 09:30:00", SYMBOL: AAPL, BID: 185.2, VENUE: XNAS}
      - {TIMESTAMP: "2024-01-02 09:30:01", SYMBOL: MSFT, BID: 370.4, VENUE: XNYS}
      - {TIMESTAMP: "2024-01-02 09:30:02", SYMBOL: AAPL, BID: nan, VENUE: ""}
      - {TIMESTAMP: "2024-01-02 09:30:03", SYMBOL: MSFT, BID: nan, VENUE: ARCX}
  filled:
    ep: fill_forward
    in: quotes
    group_by: [SYMBOL]
)~",
          .output = R"~(TIMESTAMP,SYMBOL,BID,VENUE
2024-01-02 09:30:00.000000000,AAPL,185.2,XNAS
2024-01-02 09:30:01.000000000,MSFT,370.4,XNYS
2024-01-02 09:30:02.000000000,AAPL,185.2,XNAS
2024-01-02 09:30:03.000000000,MSFT,370.4,ARCX
)~"};
}

}  // namespace

void register_fill_forward(Registry& registry) {
  EpDefinition def;
  def.name = "fill_forward";
  def.example = fill_forward_example();
  def.doc =
      "Replaces a missing value — NaN in a double field, the empty string in a string field — "
      "by the last present value of that field (per group with group_by); before the first "
      "present value it stays missing. Fields: `fields`, or every double and string field "
      "except the group_by ones. Ticks pass at once, in order.";
  def.inputs = {"in"};
  def.outputs = {"out"};
  def.params = {
      {.name = "fields",
       .type = ParamType::FieldList,
       .doc = "double or string fields to fill (default: all of them except group_by)"},
      {.name = "group_by",
       .type = ParamType::FieldList,
       .doc = "fill from the last tick of the same group"},
  };
  def.accumulation = "none (one value per field and group)";
  def.bind = bind_fill_forward;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
