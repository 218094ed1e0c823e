// Ticks already in memory as a source EP: the Python package hands a pandas DataFrame to a
// query this way (its `dataframe` EP), and any other embedding program can do the same.
//
// The table is built by the caller before the query is bound and looked up by the EP's
// `data` parameter (a handle text the caller chose). The EP emits the table's rows in row
// order, limited to the query's range; in a run with symbols a SYMBOL column selects each
// symbol's rows and is not part of the output (SPEC §1). Rows out of time order are a
// runtime error naming the first such row, as for the csv source: never reordered.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/ep.hpp"

namespace tickflow::eps {

// Columns of ticks in row order. times[i] is row i's TIMESTAMP; columns follow `schema`.
// Immutable once shared: every symbol's run reads it concurrently.
class TickTable {
 public:
  TickTable(std::string name, SchemaPtr schema, std::vector<int64_t> times,
            std::vector<Column> columns);

  // What the table is called in error messages, e.g. "sources['trades']".
  const std::string& name() const { return name_; }
  const SchemaPtr& schema() const { return schema_; }
  const std::vector<int64_t>& times() const { return times_; }
  const std::vector<Column>& columns() const { return columns_; }
  size_t size() const { return times_.size(); }

  // The rows whose SYMBOL column equals `symbol`, in row order (empty when there is no
  // SYMBOL string column or no such row). Built for every symbol on the first call.
  const std::vector<size_t>& rows_of(const std::string& symbol) const;

 private:
  std::string name_;
  SchemaPtr schema_;
  std::vector<int64_t> times_;
  std::vector<Column> columns_;
  mutable std::once_flag index_once_;
  mutable std::unordered_map<std::string, std::vector<size_t>> rows_by_symbol_;
};

// Finds the table a `data` parameter names; null when there is none.
using TickTableLookup = std::function<std::shared_ptr<const TickTable>(const std::string& handle)>;

// The definition of a source EP named `name` reading tables through `lookup`; `doc` and
// `data_doc` describe the EP and its `data` parameter for `tickflow eps`.
EpDefinition make_table_source(std::string name, std::string doc, std::string data_doc,
                               TickTableLookup lookup);

}  // namespace tickflow::eps
