#include "tickflow/batch.hpp"

#include <cassert>
#include <limits>

namespace tickflow {

size_t Column::size() const {
  switch (type_) {
    case Type::Double:
      return doubles_.size();
    case Type::Bool:
      return bools_.size();
    case Type::String:
      return strings_.size();
    default:
      return ints_.size();
  }
}

void Column::reserve(size_t n) {
  switch (type_) {
    case Type::Double:
      doubles_.reserve(n);
      break;
    case Type::Bool:
      bools_.reserve(n);
      break;
    case Type::String:
      strings_.reserve(n);
      break;
    default:
      ints_.reserve(n);
  }
}

void Column::clear() {
  ints_.clear();
  doubles_.clear();
  bools_.clear();
  strings_.clear();
}

void Column::resize(size_t n) {
  switch (type_) {
    case Type::Double:
      doubles_.resize(n, std::numeric_limits<double>::quiet_NaN());
      break;
    case Type::Bool:
      bools_.resize(n, 0);
      break;
    case Type::String:
      strings_.resize(n);
      break;
    default:
      ints_.resize(n, 0);
  }
}

void Column::append_default() {
  resize(size() + 1);
}

void Column::append(const Value& value) {
  switch (type_) {
    case Type::Double:
      doubles_.push_back(std::get<double>(value));
      break;
    case Type::Bool:
      bools_.push_back(std::get<bool>(value) ? 1 : 0);
      break;
    case Type::String:
      strings_.push_back(std::get<std::string>(value));
      break;
    default:
      ints_.push_back(std::get<int64_t>(value));
  }
}

void Column::append_from(const Column& other, size_t row) {
  assert(other.type_ == type_);
  switch (type_) {
    case Type::Double:
      doubles_.push_back(other.doubles_[row]);
      break;
    case Type::Bool:
      bools_.push_back(other.bools_[row]);
      break;
    case Type::String:
      strings_.push_back_from(other.strings_, row);
      break;
    default:
      ints_.push_back(other.ints_[row]);
  }
}

void Column::append_range(const Column& other, size_t begin, size_t end) {
  assert(other.type_ == type_);
  switch (type_) {
    case Type::Double:
      doubles_.insert(doubles_.end(), other.doubles_.begin() + begin, other.doubles_.begin() + end);
      break;
    case Type::Bool:
      bools_.insert(bools_.end(), other.bools_.begin() + begin, other.bools_.begin() + end);
      break;
    case Type::String:
      strings_.append_range(other.strings_, begin, end);
      break;
    default:
      ints_.insert(ints_.end(), other.ints_.begin() + begin, other.ints_.begin() + end);
  }
}

Value Column::value(size_t row) const {
  switch (type_) {
    case Type::Double:
      return doubles_[row];
    case Type::Bool:
      return bools_[row] != 0;
    case Type::String:
      return std::string(strings_[row]);
    default:
      return ints_[row];
  }
}

size_t Column::bytes() const {
  switch (type_) {
    case Type::Double:
      return doubles_.size() * sizeof(double);
    case Type::Bool:
      return bools_.size();
    case Type::String:
      return strings_.bytes();
    default:
      return ints_.size() * sizeof(int64_t);
  }
}

Batch::Batch(SchemaPtr s) : schema(std::move(s)) {
  columns.reserve(schema->size());
  for (const auto& f : schema->fields()) columns.emplace_back(f.type);
}

void Batch::reserve(size_t n) {
  times.reserve(n);
  for (auto& c : columns) c.reserve(n);
}

void Batch::clear() {
  times.clear();
  for (auto& c : columns) c.clear();
}

void Batch::append_row(const Batch& other, size_t row) {
  times.push_back(other.times[row]);
  for (size_t c = 0; c < columns.size(); ++c) columns[c].append_from(other.columns[c], row);
}

void Batch::append_rows(const Batch& other, size_t begin, size_t end) {
  times.insert(times.end(), other.times.begin() + begin, other.times.begin() + end);
  for (size_t c = 0; c < columns.size(); ++c) columns[c].append_range(other.columns[c], begin, end);
}

Batch Batch::slice(size_t begin, size_t end) const {
  Batch out(schema);
  out.append_rows(*this, begin, end);
  return out;
}

size_t Batch::bytes() const {
  size_t total = times.size() * sizeof(int64_t);
  for (const auto& c : columns) total += c.bytes();
  return total;
}

}  // namespace tickflow
