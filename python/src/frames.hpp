// Columns between numpy arrays and the engine, without a per-value loop in Python:
// numbers are copied with memcpy on the way in and handed over (the engine's vector
// becomes the array's buffer) on the way out; text becomes or comes from object arrays.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sources/table_source.hpp"
#include "tickflow/batch.hpp"

namespace tickflow::python {

// A table from prepared arrays: `times` int64 nanoseconds (UTC), and per column
// (name, tickflow type name, array) with int64 arrays for int/time/duration, float64 for
// double, uint8 for bool and object (str) for string. Throws std::invalid_argument naming
// the column and row of a value that does not fit.
std::shared_ptr<eps::TickTable> make_table(const std::string& name, const pybind11::array& times,
                                           const pybind11::list& columns);

// Ticks of one output stream collected during a run, per symbol in output order.
struct CollectedOutput {
  std::string name;
  SchemaPtr schema;
  std::vector<int64_t> times;
  std::vector<Column> columns;
  std::vector<std::pair<std::string, size_t>> symbol_runs;  // (symbol, ticks) in order

  explicit CollectedOutput(std::string name, SchemaPtr schema);
  void append(const std::string& symbol, const Batch& batch);
};

// The columns of `output` as (name, array) pairs: TIMESTAMP (datetime64[ns]), SYMBOL when
// `with_symbol` (object; a schema field named SYMBOL is then left out, as in the CLI), then
// every field. Moves the collected vectors into the arrays.
pybind11::list to_arrays(CollectedOutput& output, bool with_symbol);

}  // namespace tickflow::python
