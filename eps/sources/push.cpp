// The `push` source EP (SPEC §13): ticks pushed over HTTP to a standing query of
// `tickflow serve`. The server validates each request whole (sources/push_body.hpp) and
// appends it to the node's LiveFeed (tickflow/live.hpp); the operator hands what arrived to
// the graph whenever the standing run asks, and finishes when the query is stopped.
#include <string>

#include "builtin.hpp"
#include "sources/field_types.hpp"
#include "tickflow/ep.hpp"

namespace tickflow::eps {
namespace {

class PushOperator : public Operator {
 public:
  PushOperator(LiveFeed& feed, const RunContext& run)
      : feed_(feed), batch_size_(std::max<size_t>(run.batch_size, 1)), query_(*run.query) {}

  bool produce(OutputSink& out) override {
    Batch ticks = feed_.take();
    // The query's range limits what sources emit (SPEC §7), as it does for files.
    size_t begin = 0, end = ticks.size();
    if (query_.range_start) {
      while (begin < end && ticks.times[begin] < *query_.range_start) ++begin;
    }
    if (query_.range_end) {
      while (end > begin && ticks.times[end - 1] >= *query_.range_end) --end;
    }
    if (begin == 0 && end == ticks.size() && end <= batch_size_) {
      if (!ticks.empty()) out.emit(0, std::move(ticks));
    } else {
      for (size_t at = begin; at < end; at += batch_size_) {
        out.emit(0, ticks.slice(at, std::min(end, at + batch_size_)));
      }
    }
    return !feed_.closed();
  }

 private:
  LiveFeed& feed_;
  size_t batch_size_;
  const QueryInfo& query_;
};

OperatorFactory bind_push(BindContext& ctx) {
  const auto given = read_given_types(ctx, "fields");
  if (!given) return {};
  std::vector<Field> fields;
  for (const auto& g : *given) {
    if (g.name == "TIMESTAMP") {
      ctx.error(g.location,
                "TIMESTAMP is implied: every pushed tick has it; list only the other "
                "fields");
      return {};
    }
    if (!is_valid_name(g.name)) {
      ctx.error(g.location, "'" + g.name + "' is not a valid field name");
      return {};
    }
    fields.push_back({g.name, g.type});
  }
  ctx.set_output(0, make_schema(std::move(fields)));
  ctx.set_accumulation(Accumulation::none());
  return [](const RunContext& run) -> std::unique_ptr<Operator> {
    LiveFeed* feed = run.live ? run.live->find(run.node_id) : nullptr;
    if (!feed) {
      throw RuntimeError(
          "a push source receives its ticks from a standing query of `tickflow serve "
          "QUERY.yaml` (POST /v1/queries/{query}/push/" +
          run.node_id + "); a batch run has none: read the ticks with csv instead");
    }
    return std::make_unique<PushOperator>(*feed, run);
  };
}

// Shown by `tickflow eps push` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample push_example() {
  return {.query =
              R"~(# Large trades from ticks pushed over HTTP while `tickflow serve graph.yaml` runs.
tickflow: 1
nodes:
  trades:
    ep: push
    fields: {PRICE: double, SIZE: int}
  large:
    ep: where
    in: trades
    if: SIZE >= 200
)~",
          .push_node = "trades",
          .push_body = R"~(TIMESTAMP,PRICE,SIZE
2024-01-02 09:30:00,185.25,100
2024-01-02 09:30:20,185.3,300
2024-01-02 09:30:40,185.5,200
)~",
          .output = R"~({"TIMESTAMP":"2024-01-02 09:30:20.000000000","PRICE":185.3,"SIZE":300}
{"TIMESTAMP":"2024-01-02 09:30:40.000000000","PRICE":185.5,"SIZE":200}
)~"};
}

}  // namespace

void register_push(Registry& registry) {
  EpDefinition def;
  def.name = "push";
  def.example = push_example();
  def.doc =
      "Ticks pushed while `tickflow serve QUERY.yaml` runs the query (SPEC §13): POST "
      "/v1/queries/{query}/push/{node} with a CSV (header + rows) or JSON-lines body, "
      "?symbol=S in a query with symbols. A tick without TIMESTAMP gets the receipt time; "
      "ticks must not go back in time per node and symbol. The source has passed the time "
      "of its last tick, or a later time set with POST /v1/queries/{query}/advance/{node}.";
  def.inputs = {};
  def.outputs = {"out"};
  def.params = {
      {.name = "fields",
       .type = ParamType::FieldTypes,
       .required = true,
       .doc = "the fields of every tick besides TIMESTAMP ({PRICE: double, SIZE: int})"},
  };
  def.accumulation = "none";
  def.bind = bind_push;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
