// Schemas: the ordered, typed fields of a stream, known before any tick flows.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tickflow/types.hpp"

namespace tickflow {

struct Field {
  std::string name;
  Type type;
  bool operator==(const Field&) const = default;
};

// The fields of a stream in order. TIMESTAMP is implicit: every tick has it, it is
// not listed here, and batches carry it in their own column (Batch::times).
class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}

  const std::vector<Field>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  const Field& operator[](size_t i) const { return fields_[i]; }

  // Index of the field named `name`, or nullopt.
  std::optional<size_t> index_of(std::string_view name) const;
  bool contains(std::string_view name) const { return index_of(name).has_value(); }

  void add(std::string name, Type type) { fields_.push_back({std::move(name), type}); }
  std::vector<std::string> names() const;

  bool operator==(const Schema&) const = default;

 private:
  std::vector<Field> fields_;
};

using SchemaPtr = std::shared_ptr<const Schema>;

inline SchemaPtr make_schema(std::vector<Field> fields) {
  return std::make_shared<const Schema>(std::move(fields));
}

}  // namespace tickflow
