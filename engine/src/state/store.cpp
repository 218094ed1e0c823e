#include <cmath>
#include <cstring>
#include <limits>

#include "tickflow/diagnostics.hpp"
#include "tickflow/state.hpp"

namespace tickflow {

std::string_view state_kind_name(StateKind kind) {
  switch (kind) {
    case StateKind::Scalar:
      return "scalar";
    case StateKind::TickSet:
      return "tick_set";
    case StateKind::TickList:
      return "tick_list";
    case StateKind::TickDeque:
      return "tick_deque";
  }
  return "?";
}

// ---------------------------------------------------------------- TickContainer

namespace {

// Per-entry bookkeeping beyond the values themselves (list/map nodes, vector header).
constexpr int64_t kEntryOverhead = 64;

void append_key_part(std::string& out, const Value& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) {
    out.push_back('i');
    out.append(reinterpret_cast<const char*>(i), sizeof(*i));
  } else if (const auto* d = std::get_if<double>(&value)) {
    // Equal doubles give equal keys: -0.0 is 0.0 and every NaN is the same NaN.
    double v = *d == 0 ? 0.0 : *d;
    if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
    out.push_back('d');
    out.append(reinterpret_cast<const char*>(&v), sizeof(v));
  } else if (const auto* b = std::get_if<bool>(&value)) {
    out.push_back(*b ? 'T' : 'F');
  } else {
    const auto& s = std::get<std::string>(value);
    uint64_t n = s.size();
    out.push_back('s');
    out.append(reinterpret_cast<const char*>(&n), sizeof(n));
    out.append(s);
  }
}

}  // namespace

TickContainer::TickContainer(const StateVariable& variable) : variable_(&variable) {}

size_t TickContainer::size() const {
  return variable_->kind == StateKind::TickSet ? set_entries_.size() : sequence_.size();
}

std::string TickContainer::encode_key(const std::vector<Value>& key) const {
  std::string out;
  for (const auto& v : key) append_key_part(out, v);
  return out;
}

std::string TickContainer::key_of(const StateEntry& entry) const {
  std::string out;
  for (size_t k : variable_->key) append_key_part(out, entry[k]);
  return out;
}

int64_t TickContainer::entry_bytes(const StateEntry& entry) const {
  int64_t bytes = kEntryOverhead + static_cast<int64_t>(entry.size() * sizeof(Value));
  for (const auto& v : entry) {
    if (const auto* s = std::get_if<std::string>(&v)) {
      if (s->size() > 15) bytes += static_cast<int64_t>(s->capacity());
    }
  }
  return bytes;
}

const StateEntry* TickContainer::find(const std::vector<Value>& key) const {
  if (variable_->kind != StateKind::TickSet) return nullptr;
  auto it = index_.find(encode_key(key));
  return it == index_.end() ? nullptr : &it->second->values;
}

const StateEntry* TickContainer::at(int64_t index) const {
  if (variable_->kind == StateKind::TickSet) return nullptr;
  const auto n = static_cast<int64_t>(sequence_.size());
  if (index < 0) index += n;
  if (index < 0 || index >= n) return nullptr;
  return &sequence_[static_cast<size_t>(index)];
}

void TickContainer::note_size() {
  peak_ticks_ = std::max(peak_ticks_, ticks());
  peak_bytes_ = std::max(peak_bytes_, bytes_);
}

void TickContainer::insert(StateEntry entry) {
  if (variable_->kind == StateKind::TickSet) {
    std::string key = key_of(entry);
    auto found = index_.find(key);
    if (found != index_.end()) {
      if (variable_->keep_last) {
        bytes_ += entry_bytes(entry) - entry_bytes(found->second->values);
        found->second->values = std::move(entry);
      }
      note_size();
      return;
    }
    bytes_ += entry_bytes(entry) + static_cast<int64_t>(key.size());
    set_entries_.push_back({key, std::move(entry)});
    index_.emplace(std::move(key), std::prev(set_entries_.end()));
  } else {
    bytes_ += entry_bytes(entry);
    sequence_.push_back(std::move(entry));
    if (variable_->kind == StateKind::TickDeque && variable_->max_size > 0 &&
        sequence_.size() > variable_->max_size) {
      bytes_ -= entry_bytes(sequence_.front());
      sequence_.pop_front();
    }
  }
  note_size();
}

bool TickContainer::erase(const std::vector<Value>& key) {
  if (variable_->kind == StateKind::TickSet) {
    auto found = index_.find(encode_key(key));
    if (found == index_.end()) return false;
    bytes_ -= entry_bytes(found->second->values) + static_cast<int64_t>(found->first.size());
    set_entries_.erase(found->second);
    index_.erase(found);
    return true;
  }
  if (sequence_.empty()) return false;
  bytes_ -= entry_bytes(sequence_.front());
  sequence_.pop_front();
  return true;
}

void TickContainer::clear() {
  set_entries_.clear();
  index_.clear();
  sequence_.clear();
  bytes_ = 0;
}

Batch TickContainer::to_batch(int64_t time) const {
  Batch batch(variable_->fields);
  batch.reserve(size());
  for_each([&](const StateEntry& entry) {
    batch.times.push_back(time);
    for (size_t f = 0; f < entry.size(); ++f) batch.columns[f].append(entry[f]);
  });
  return batch;
}

// ---------------------------------------------------------------- StateStore

StateStore::StateStore(const std::vector<StateVariable>& variables,
                       std::shared_ptr<const StateStore> shared)
    : variables_(&variables), shared_(std::move(shared)) {
  scalars_.resize(variables.size());
  containers_.resize(variables.size());
  for (const auto& v : variables) {
    if (v.query_scope && shared_) continue;
    if (v.is_container()) {
      containers_[v.id] = std::make_unique<TickContainer>(v);
    } else {
      scalars_[v.id] = v.init;
    }
  }
}

const Value& StateStore::scalar(size_t id) const {
  const StateVariable& v = variable(id);
  if (v.query_scope && shared_) return shared_->scalar(id);
  return scalars_[id];
}

Value& StateStore::scalar(size_t id) {
  if (variable(id).query_scope && shared_) {
    throw RuntimeError("internal error: write to the query-scope state variable '" +
                       variable(id).name + "'");
  }
  return scalars_[id];
}

const TickContainer& StateStore::tick_container(size_t id) const {
  const TickContainer* c = container(id);
  if (!c)
    throw RuntimeError("internal error: state variable '" + variable(id).name +
                       "' is not a container");
  return *c;
}

TickContainer& StateStore::tick_container(size_t id) {
  if (variable(id).query_scope && shared_) {
    throw RuntimeError("internal error: write to the query-scope state variable '" +
                       variable(id).name + "'");
  }
  if (!containers_[id]) {
    throw RuntimeError("internal error: state variable '" + variable(id).name +
                       "' is not a container");
  }
  return *containers_[id];
}

const TickContainer* StateStore::container(size_t id) const {
  if (id >= variables_->size()) return nullptr;
  if (variable(id).query_scope && shared_) return shared_->container(id);
  return containers_[id].get();
}

void StateStore::read(size_t id, const Batch& batch, size_t rows, Column& out) const {
  (void)batch;
  // Ticks pass the EPs touching state one at a time (the planner sees to it), so every
  // row of one call sees the same value.
  const Value& value = scalar(id);
  out.clear();
  out.reserve(rows);
  for (size_t i = 0; i < rows; ++i) out.append(value);
}

std::vector<StateStats> StateStore::stats() const {
  std::vector<StateStats> out;
  for (const auto& v : *variables_) {
    if (!v.is_container() || !containers_[v.id]) continue;
    const TickContainer& c = *containers_[v.id];
    out.push_back({v.name, c.peak_ticks(), c.peak_bytes(), c.ticks()});
  }
  return out;
}

}  // namespace tickflow
