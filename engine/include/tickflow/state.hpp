// State variables (SPEC §6): their declarations as binding sees them, the tick
// containers, and the per-run store operators read and write.
//
// Declarations come from the query's `state:` section (QueryInfo::state, indexed by
// StateVariable::id). An EP that reads or writes a variable declares it while binding
// (BindContext::use_state; expressions do it themselves through make_expr_context), so
// the planner knows which nodes touch state and runs them in tick-passage order. At run
// time every Operator reaches the run's variables through RunContext::state.
//
// Threading: a StateStore belongs to one run (one symbol) and is only used by that run's
// operators, which the engine calls one at a time. Variables of `scope: query` are shared
// by every run and are read-only once initialised, so sharing them needs no lock.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/diagnostics.hpp"
#include "tickflow/schema.hpp"
#include "tickflow/types.hpp"

namespace tickflow {

enum class StateKind { Scalar, TickSet, TickList, TickDeque };

// "scalar", "tick_set", "tick_list", "tick_deque".
std::string_view state_kind_name(StateKind kind);

// One declared state variable.
struct StateVariable {
  std::string name;
  Location location;  // of the variable's name in `state:`
  size_t id = 0;      // index in QueryInfo::state and in the StateStore
  StateKind kind = StateKind::Scalar;
  Type type = Type::Int;     // scalars: the value's type
  Value init;                // scalars: the initial value (`init:` or the type's default)
  SchemaPtr fields;          // containers: the fields of one entry, in declared order
  std::vector<size_t> key;   // tick_set: the key fields, as indices into `fields`
  bool keep_last = false;    // tick_set: `keep: last` replaces an entry's values
  size_t max_size = 0;       // tick_deque: the oldest entries go beyond this size
  bool query_scope = false;  // `scope: query`: shared by all symbols, read-only
  std::string init_from;     // resolved path of the query that fills it, or ""
  std::string init_field;    // scalars with init_from: the field of the last tick taken

  bool is_container() const { return kind != StateKind::Scalar; }
};

// One entry of a container: a value per field of StateVariable::fields.
using StateEntry = std::vector<Value>;

// The entries of a tick_set, tick_list or tick_deque.
//
// tick_set: at most one entry per key, iterated in order of first insertion; inserting
// an existing key keeps the old entry (`keep: first`) or replaces its values in place
// (`keep: last`). tick_list: entries in insertion order. tick_deque: the same, and an
// insertion beyond max_size drops the oldest entry. Memory: one StateEntry per entry
// (plus a hash-map slot per tick_set entry); held() reports it.
class TickContainer {
 public:
  explicit TickContainer(const StateVariable& variable);

  const StateVariable& variable() const { return *variable_; }
  size_t size() const;

  // tick_set: the entry whose key fields equal `key` (values of the key fields' types, in
  // StateVariable::key order), or nullptr.
  const StateEntry* find(const std::vector<Value>& key) const;
  // tick_list / tick_deque: entry `index` counted from the oldest (0) or, when negative,
  // from the newest (-1); nullptr when out of range.
  const StateEntry* at(int64_t index) const;

  // Adds an entry (values in field order, of the fields' types).
  void insert(StateEntry entry);
  // tick_set: erases the entry with this key. Lists and deques: `key` must be empty and
  // the oldest entry goes. Returns whether an entry was erased.
  bool erase(const std::vector<Value>& key);
  void clear();

  // Calls f(const StateEntry&) for every entry: a tick_set in order of first insertion,
  // lists and deques from the oldest.
  template <class F>
  void for_each(F&& f) const {
    if (variable_->kind == StateKind::TickSet) {
      for (const auto& e : set_entries_) f(e.values);
    } else {
      for (const auto& e : sequence_) f(e);
    }
  }
  // The entries as ticks of schema `fields`, every one stamped `time`.
  Batch to_batch(int64_t time) const;

  // Entries held now, their approximate bytes, and the largest of each so far.
  int64_t ticks() const { return static_cast<int64_t>(size()); }
  int64_t bytes() const { return bytes_; }
  int64_t peak_ticks() const { return peak_ticks_; }
  int64_t peak_bytes() const { return peak_bytes_; }

 private:
  struct SetEntry {
    std::string key;
    StateEntry values;
  };
  std::string encode_key(const std::vector<Value>& key) const;
  std::string key_of(const StateEntry& entry) const;
  int64_t entry_bytes(const StateEntry& entry) const;
  void note_size();

  const StateVariable* variable_;
  std::list<SetEntry> set_entries_;
  std::unordered_map<std::string, std::list<SetEntry>::iterator> index_;
  std::deque<StateEntry> sequence_;
  int64_t bytes_ = 0;
  int64_t peak_ticks_ = 0;
  int64_t peak_bytes_ = 0;
};

// Supplies state-variable values while an expression is evaluated (see expr.hpp).
class StateReader {
 public:
  virtual ~StateReader() = default;
  // Fills `out` (of the variable's type, possibly holding stale values) with exactly
  // `rows` values: the value of scalar `id` as seen by each of the first `rows` ticks of
  // `batch`.
  virtual void read(size_t id, const Batch& batch, size_t rows, Column& out) const = 0;
  // Container `id`, or nullptr when this reader has none of that id.
  virtual const TickContainer* container(size_t id) const {
    (void)id;
    return nullptr;
  }
};

// Peak size of one variable over a run, for --stats (containers only; scalars hold no ticks).
struct StateStats {
  std::string name;
  int64_t peak_ticks = 0;
  int64_t peak_bytes = 0;
  int64_t final_ticks = 0;
};

// Every variable of one run. Scalars start at their `init`, containers empty, unless
// `shared` (the query-scope variables, created once for all runs) provides them.
class StateStore final : public StateReader {
 public:
  explicit StateStore(const std::vector<StateVariable>& variables,
                      std::shared_ptr<const StateStore> shared = nullptr);

  const std::vector<StateVariable>& variables() const { return *variables_; }
  const StateVariable& variable(size_t id) const { return (*variables_)[id]; }

  // A scalar's value (of the variable's type; Time and Duration as int64_t). Writing a
  // query-scope variable is a programming error (the loader rejects such writers).
  const Value& scalar(size_t id) const;
  Value& scalar(size_t id);
  // A container by id (the variable must be one).
  const TickContainer& tick_container(size_t id) const;
  TickContainer& tick_container(size_t id);

  void read(size_t id, const Batch& batch, size_t rows, Column& out) const override;
  const TickContainer* container(size_t id) const override;

  // Containers of this run (query-scope ones are reported by the run that created them).
  std::vector<StateStats> stats() const;

 private:
  const std::vector<StateVariable>* variables_;
  std::shared_ptr<const StateStore> shared_;
  std::vector<Value> scalars_;
  std::vector<std::unique_ptr<TickContainer>> containers_;  // null for scalars / shared
};

}  // namespace tickflow
