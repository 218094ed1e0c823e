// init_from (SPEC §6): a state variable filled from another query's output before the
// run that uses it, as OneTick's eval does.
#include <mutex>

#include "tickflow/run.hpp"

namespace tickflow {
namespace {

// Converts a value of an init query's field to the variable field's type (the loader
// allows only equal types and int -> double).
Value convert(const Value& value, Type to) {
  if (to == Type::Double) {
    if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  }
  return value;
}

// Where each of the variable's fields comes from in the init query's output: a column
// index, or npos for SYMBOL filled from the symbol being run.
std::vector<size_t> field_sources(const StateVariable& variable, const Schema& schema) {
  std::vector<size_t> sources;
  auto add = [&](const std::string& name) {
    auto index = schema.index_of(name);
    sources.push_back(index ? *index : std::string::npos);
  };
  if (variable.is_container()) {
    for (const auto& f : variable.fields->fields()) add(f.name);
  } else {
    add(variable.init_field);
  }
  return sources;
}

}  // namespace

void fill_state_from_query(const Query& query, const StateVariable& variable,
                           const std::string& symbol, StateStore& store) {
  const OutputRef& output = query.outputs.at(0);
  const Schema& schema = *query.nodes[output.node].output_schemas[output.port];
  const std::vector<size_t> sources = field_sources(variable, schema);
  std::optional<Value> last;
  auto take = [&](const std::string& run_symbol, const Batch& batch) {
    for (size_t row = 0; row < batch.size(); ++row) {
      StateEntry entry;
      for (size_t f = 0; f < sources.size(); ++f) {
        Type type = variable.is_container() ? (*variable.fields)[f].type : variable.type;
        entry.push_back(sources[f] == std::string::npos
                            ? Value(run_symbol)
                            : convert(batch.columns[sources[f]].value(row), type));
      }
      if (variable.is_container()) {
        store.tick_container(variable.id).insert(std::move(entry));
      } else {
        last = std::move(entry[0]);
      }
    }
  };

  Plan plan = plan_query(query);
  RunOptions options;
  std::vector<std::string> symbols = query.info.symbols;
  if (!symbol.empty()) symbols = {symbol};
  // The cause keeps its own place (the init query's node and file); the message says
  // which variable's init_from it was.
  auto fail = [&](const RuntimeError& cause) {
    RuntimeError error("state variable '" + variable.name + "', init_from " + query.info.file +
                           ": " + cause.message(),
                       cause.data_location());
    error.node = cause.node;
    error.node_location = cause.node_location;
    error.tick_time = cause.tick_time;
    error.symbol = cause.symbol;
    throw error;
  };
  if (symbols.empty()) {
    std::vector<OutputTap> taps = {
        {output.node, output.port, [&](const Batch& batch) { take("", batch); }, nullptr}};
    RunResult result = run_query(query, plan, options, taps);
    if (result.error) fail(*result.error);
  } else {
    MultiRunResult result = run_symbols(query, plan, options, symbols, {},
                                        [&](size_t, const std::string& run_symbol,
                                            const Batch& batch) { take(run_symbol, batch); });
    if (!result.failures.empty()) fail(result.failures.front().error);
  }
  if (last) store.scalar(variable.id) = std::move(*last);
}

std::shared_ptr<const StateStore> prepare_query_state(const Query& query) {
  bool any = false;
  for (const auto& variable : query.info.state) any |= variable.query_scope;
  if (!any) return nullptr;
  auto store = std::make_shared<StateStore>(query.info.state);
  for (const auto& variable : query.info.state) {
    const auto& init = query.state_init_queries[variable.id];
    if (variable.query_scope && init) fill_state_from_query(*init, variable, "", *store);
  }
  return store;
}

}  // namespace tickflow
