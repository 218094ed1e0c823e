// `order_by`: the whole stream sorted by field values, stable. It must see every tick
// before it can emit the first, so it holds the stream (unbounded accumulation), and its
// output keeps the original TIMESTAMPs, so it is declared not time-ordered.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "rows.hpp"
#include "stable_sort.hpp"
#include "tickflow/ep.hpp"

namespace tickflow::eps {
namespace {

class OrderByOperator : public Operator {
 public:
  OrderByOperator(SchemaPtr schema, std::vector<SortKey> keys, size_t batch_size)
      : schema_(std::move(schema)), keys_(std::move(keys)), batch_size_(batch_size) {}

  void process(size_t, Batch&& batch, OutputSink&) override {
    if (batch.empty()) return;
    held_ticks_ += static_cast<int64_t>(batch.size());
    held_bytes_ += static_cast<int64_t>(batch.bytes());
    held_.push_back(std::move(batch));
  }

  void finish(OutputSink& out) override {
    Batch store = concat_batches(std::move(held_), schema_);
    const std::vector<RowIndex> order = stable_order(store, keys_);
    for (size_t begin = 0; begin < order.size(); begin += batch_size_) {
      const size_t n = std::min(batch_size_, order.size() - begin);
      out.emit(0, gather_rows(store, order.data() + begin, n, /*move_strings=*/true));
    }
    held_ticks_ = held_bytes_ = 0;
  }

  Held held() const override { return {held_ticks_, held_bytes_}; }

 private:
  SchemaPtr schema_;
  std::vector<Batch> held_;  // concatenated once at the end: no copying while ticks arrive
  int64_t held_ticks_ = 0;
  std::vector<SortKey> keys_;
  size_t batch_size_;
  int64_t held_bytes_ = 0;
};

// Reads `by`: field names, each optionally prefixed with '-' for descending.
bool read_keys(BindContext& ctx, std::vector<SortKey>& keys) {
  const ConfigNode& by = *ctx.param("by");
  std::vector<const ConfigNode*> items;
  if (by.is_scalar()) {
    items.push_back(&by);
  } else if (by.is_sequence()) {
    for (const auto& item : by.items()) items.push_back(&item);
  } else {
    ctx.error(by.location(), "'by' must be a list of fields such as [PRICE, -SIZE], found a " +
                                 std::string(by.kind_name()));
    return false;
  }
  if (items.empty()) {
    ctx.error(by.location(), "'by' needs at least one field, such as [PRICE, -SIZE]");
    return false;
  }
  bool ok = true;
  std::set<std::string> seen;
  for (const ConfigNode* item : items) {
    if (!item->is_scalar()) {
      ctx.error(item->location(), "expected a field name (with '-' for descending), found a " +
                                      std::string(item->kind_name()));
      ok = false;
      continue;
    }
    std::string name = item->text();
    SortKey key;
    if (name.starts_with('-')) {
      key.descending = true;
      name.erase(0, 1);
    }
    if (!is_valid_name(name)) {
      ctx.error(item->location(), "'" + item->text() +
                                      "' is not a sort key: write a field name, with '-' "
                                      "in front for descending order (e.g. -SIZE)");
      ok = false;
      continue;
    }
    if (!seen.insert(name).second) {
      ctx.error(item->location(), "field " + name + " is listed twice in 'by'");
      ok = false;
      continue;
    }
    if (name != "TIMESTAMP") {
      auto index = ctx.require_field(0, name, item->location());
      if (!index) {
        ok = false;
        continue;
      }
      key.column = *index;
    }
    keys.push_back(key);
  }
  return ok;
}

OperatorFactory bind_order_by(BindContext& ctx) {
  std::vector<SortKey> keys;
  if (!read_keys(ctx, keys)) return {};
  SchemaPtr schema = ctx.input(0).schema;
  ctx.set_output(0, schema, /*time_ordered=*/false);
  ctx.set_accumulation(Accumulation::unbounded());
  return [schema, keys](const RunContext& run) {
    return std::make_unique<OrderByOperator>(schema, keys, std::max<size_t>(1, run.batch_size));
  };
}

}  // namespace

void register_order_by(Registry& registry) {
  EpDefinition def;
  def.name = "order_by";
  def.doc =
      "Sorts the whole stream by `by` (e.g. [PRICE, -SIZE]: PRICE ascending, then SIZE "
      "descending; TIMESTAMP may be a key). Stable: ticks equal on every key keep their input "
      "order. Numbers compare by value, strings bytewise (UTF-8 code point order), false < true; "
      "NaN sorts after every number in both directions. The output keeps the original "
      "TIMESTAMPs and is not time-ordered: EPs that need time order reject it unless "
      "update_timestamp restores order. Holds every tick until the input ends.";
  def.inputs = {"in"};
  def.outputs = {"out"};
  def.params = {
      {"by", ParamType::Any, true, "", "sort keys: field names, '-' in front for descending"}};
  def.accumulation = "unbounded";
  def.bind = bind_order_by;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
