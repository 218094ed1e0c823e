// Shared helpers of the expression tests: a test schema, a batch builder and one-call
// compile/evaluate wrappers.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/expr.hpp"
#include "tickflow/time.hpp"

namespace expr_test {

using namespace tickflow;

// PRICE double, SIZE int, NAME string, FLAG bool, T time, D duration.
inline SchemaPtr test_schema() {
  return make_schema({{"PRICE", Type::Double},
                      {"SIZE", Type::Int},
                      {"NAME", Type::String},
                      {"FLAG", Type::Bool},
                      {"T", Type::Time},
                      {"D", Type::Duration}});
}

struct Row {
  double price = 0;
  int64_t size = 0;
  std::string name;
  bool flag = false;
  int64_t t = 0;
  int64_t d = 0;
};

inline Batch make_batch(const std::vector<Row>& rows, int64_t first_time = 1'000) {
  Batch b(test_schema());
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    b.times.push_back(first_time + static_cast<int64_t>(i));
    b.columns[0].doubles().push_back(r.price);
    b.columns[1].ints().push_back(r.size);
    b.columns[2].strings().push_back(r.name);
    b.columns[3].bools().push_back(r.flag);
    b.columns[4].ints().push_back(r.t);
    b.columns[5].ints().push_back(r.d);
  }
  return b;
}

// A batch whose SIZE column holds `sizes` (other fields default-ish).
inline Batch sizes_batch(const std::vector<int64_t>& sizes, int64_t first_time = 1'000) {
  std::vector<Row> rows;
  for (int64_t s : sizes)
    rows.push_back({static_cast<double>(s), s, std::to_string(s), s % 2 == 0, s, s});
  return make_batch(rows, first_time);
}

inline ExprContext test_context(const Schema* schema) {
  ExprContext cx;
  cx.schema = schema;
  cx.param = [](std::string_view name) -> std::optional<TypedValue> {
    if (name == "MIN_SIZE") return TypedValue{Type::Int, int64_t{500}};
    if (name == "RATIO") return TypedValue{Type::Double, 0.5};
    if (name == "ZERO") return TypedValue{Type::Int, int64_t{0}};
    return std::nullopt;
  };
  cx.param_names = {"MIN_SIZE", "RATIO", "ZERO"};
  return cx;
}

inline std::vector<Diagnostic> compile_errors(const std::string& text,
                                              const ExprContext* context = nullptr,
                                              Location where = {"q.yaml", 3, 10},
                                              bool quoted = false) {
  static SchemaPtr schema = test_schema();
  ExprContext cx = context ? *context : test_context(schema.get());
  std::vector<Diagnostic> errors;
  auto compiled = compile_expr(text, where, quoted, cx, errors);
  CHECK((compiled == nullptr) == !errors.empty());
  return errors;
}

inline CompiledExprPtr compile_ok(const std::string& text, const ExprContext* context = nullptr) {
  static SchemaPtr schema = test_schema();
  ExprContext cx = context ? *context : test_context(schema.get());
  std::vector<Diagnostic> errors;
  auto compiled = compile_expr(text, {"q.yaml", 1, 1}, false, cx, errors);
  for (const auto& e : errors) FAIL_CHECK(e.to_string());
  REQUIRE(compiled);
  return compiled;
}

// Evaluates over the whole batch in one call.
inline Column eval(const std::string& text, const Batch& batch, std::string_view symbol = "") {
  auto compiled = compile_ok(text);
  auto state = compiled->make_state();
  Column out(Type::Int);
  compiled->evaluate(batch, *state, out, EvalInfo{symbol, nullptr});
  return out;
}

// The value of an expression without fields (folded at compile time).
inline TypedValue constant(const std::string& text) {
  auto compiled = compile_ok(text);
  REQUIRE_MESSAGE(compiled->is_constant(), text);
  return *compiled->constant_value();
}

inline int64_t as_int(const std::string& text) {
  return std::get<int64_t>(constant(text).value);
}
inline double as_double(const std::string& text) {
  return std::get<double>(constant(text).value);
}
inline bool as_bool(const std::string& text) {
  return std::get<bool>(constant(text).value);
}
inline std::string as_string(const std::string& text) {
  return std::get<std::string>(constant(text).value);
}
inline Type type_of(const std::string& text) {
  return compile_ok(text)->type();
}

// The message of the single error `text` produces.
inline std::string error_of(const std::string& text) {
  auto errors = compile_errors(text);
  REQUIRE_MESSAGE(errors.size() == 1, text);
  return errors[0].message;
}

}  // namespace expr_test
