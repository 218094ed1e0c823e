// Columnar tick batches: what flows along the edges between segments.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "tickflow/schema.hpp"
#include "tickflow/string_column.hpp"
#include "tickflow/types.hpp"

namespace tickflow {

// The container a Column keeps values of type T in: std::vector<T>, except StringColumn
// (16-byte slots, short strings inline) for strings.
template <class T>
using ColumnValues =
    std::conditional_t<std::is_same_v<T, std::string>, StringColumn, std::vector<T>>;

// One column of values of a single type. Int, Time and Duration use ints(); Double
// doubles(); Bool bools() (one byte per value); String strings() (a StringColumn: values
// read as std::string_view, written whole). Accessing the values of another type is a
// programming error.
class Column {
 public:
  explicit Column(Type type) : type_(type) {}

  Type type() const { return type_; }
  size_t size() const;
  bool empty() const { return size() == 0; }

  std::vector<int64_t>& ints() { return ints_; }
  const std::vector<int64_t>& ints() const { return ints_; }
  std::vector<double>& doubles() { return doubles_; }
  const std::vector<double>& doubles() const { return doubles_; }
  std::vector<uint8_t>& bools() { return bools_; }
  const std::vector<uint8_t>& bools() const { return bools_; }
  StringColumn& strings() { return strings_; }
  const StringColumn& strings() const { return strings_; }
  // The same containers chosen by value type, for code templated on it: T is int64_t,
  // double, uint8_t (Bool) or std::string, and must match type() as above.
  template <class T>
  ColumnValues<T>& values() {
    return const_cast<ColumnValues<T>&>(static_cast<const Column&>(*this).values<T>());
  }
  template <class T>
  const ColumnValues<T>& values() const {
    if constexpr (std::is_same_v<T, double>) {
      return doubles_;
    } else if constexpr (std::is_same_v<T, uint8_t>) {
      return bools_;
    } else if constexpr (std::is_same_v<T, std::string>) {
      return strings_;
    } else {
      static_assert(std::is_same_v<T, int64_t>,
                    "a column holds int64_t, double, uint8_t or std::string");
      return ints_;
    }
  }
  // The type default (SPEC §1) as the value type T: NaN for double, else T{}.
  template <class T>
  static T default_of() {
    if constexpr (std::is_same_v<T, double>) {
      return std::numeric_limits<double>::quiet_NaN();
    } else {
      return T{};
    }
  }

  void reserve(size_t n);
  void clear();
  // Grows or shrinks to n values; new values are the type's default.
  void resize(size_t n);
  void append_default();
  void append(const Value& value);  // the Value must match type()
  void append_from(const Column& other, size_t row);
  void append_range(const Column& other, size_t begin, size_t end);
  Value value(size_t row) const;
  // Memory held by the values (payload of strings included), for accumulation stats.
  size_t bytes() const;

 private:
  Type type_;
  std::vector<int64_t> ints_;
  std::vector<double> doubles_;
  std::vector<uint8_t> bools_;
  StringColumn strings_;
};

// Calls f.template operator()<T>() with T the value type a Column of `type` stores
// (int64_t, double, uint8_t or std::string), for code templated on it; returns its result.
template <class F>
decltype(auto) with_value_type(Type type, F&& f) {
  switch (type) {
    case Type::Double:
      return f.template operator()<double>();
    case Type::Bool:
      return f.template operator()<uint8_t>();
    case Type::String:
      return f.template operator()<std::string>();
    default:
      return f.template operator()<int64_t>();
  }
}

// A run of ticks in columnar form: times[i] is the TIMESTAMP of tick i and
// columns[c][i] its value of schema field c. All columns have times.size() values.
struct Batch {
  SchemaPtr schema;
  std::vector<int64_t> times;
  std::vector<Column> columns;

  Batch() = default;
  // An empty batch with one empty column per field of `schema`.
  explicit Batch(SchemaPtr schema);

  size_t size() const { return times.size(); }
  bool empty() const { return times.empty(); }
  void reserve(size_t n);
  void clear();
  // Appends tick `row` of `other`, whose schema must equal this one's.
  void append_row(const Batch& other, size_t row);
  void append_rows(const Batch& other, size_t begin, size_t end);
  Batch slice(size_t begin, size_t end) const;
  size_t bytes() const;
};

}  // namespace tickflow
