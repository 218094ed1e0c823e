// Binding helpers shared by join and join_by_time: naming inputs, keys, prefixes and the
// output column layout of SPEC §11 (the first input's fields, then each other input's in
// input order, key fields once).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/ep.hpp"

namespace tickflow::eps {

// The input named `name` ("node" or "node.port" as in `in:`; a bare node name also matches
// its "node.port" input). Reports an unknown name at `loc` with "did you mean".
std::optional<size_t> find_input(BindContext& ctx, const std::string& name, const Location& loc);

struct JoinLayout {
  // Indexed by input: the columns of the key fields (in `keys` order; empty without keys)
  // and the columns that appear in the output, in output order.
  std::vector<std::vector<size_t>> key_columns;
  std::vector<std::vector<size_t>> output_columns;
  SchemaPtr schema;
};

// Reads the key list parameter `keys_param` (optional) and `prefix` and lays out the output:
// inputs in `order` (the leading/left input first). Every key must exist with one type in
// every input; `prefix` is a mapping {input: P_} or one prefix for every input after the
// first. Reports every problem, including each field-name clash (naming both fields and
// suggesting prefix), and returns false after any.
bool plan_join_output(BindContext& ctx, const std::vector<size_t>& order,
                      std::string_view keys_param, JoinLayout& layout);

// Overwrites value `row` of `to` with value `from_row` of `from` (same type).
inline void assign_value(Column& to, size_t row, const Column& from, size_t from_row) {
  with_value_type(to.type(), [&]<class T>() {
    if constexpr (std::is_same_v<T, std::string>) {
      to.strings().set_from(row, from.strings(), from_row);
    } else {
      to.values<T>()[row] = from.values<T>()[from_row];
    }
  });
}

}  // namespace tickflow::eps
