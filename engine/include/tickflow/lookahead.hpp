// The hold an expression with leads (X[+k]) needs: a tick's value is known only once the
// k ticks after it have arrived. For EPs that evaluate expressions (where, add_field,
// update_field, and RowSelectingOperator for any filter); public, plugins use it too.
//
// Contract: Lookahead holds at most lead() ticks between calls (declare
// lookahead_accumulation(lead) at bind time); every tick reaches `use` exactly once as a
// final row, in arrival order; the window handed to `use` carries the ticks that follow as
// lookahead rows after the final ones, as CompiledExpr::evaluate expects.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "tickflow/batch.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/rows.hpp"

namespace tickflow {

// The accumulation of an EP whose expressions' leads add up to `lead` ticks:
// "bounded(k ticks)", or none without leads.
inline Accumulation lookahead_accumulation(size_t lead) {
  if (lead == 0) return Accumulation::none();
  return Accumulation::bounded(std::to_string(lead) + (lead == 1 ? " tick" : " ticks"));
}

// Keeps the last `lead` ticks of the stream back. push() and finish() hand `use` a window
// and a row count: the first `rows` ticks of the window are final, the ticks after them
// are lookahead for X[+k] (the CompiledExpr::evaluate contract). `use` may modify or
// take the window apart; the lookahead ticks were copied out before it runs. With lead 0
// the batch itself is the window, so nothing is copied.
class Lookahead {
 public:
  explicit Lookahead(size_t lead) : lead_(lead) {}

  template <class Use>
  void push(Batch&& batch, Use&& use) {
    if (batch.empty()) return;
    if (lead_ == 0) {
      const size_t rows = batch.size();
      use(batch, rows);
      return;
    }
    if (held_.empty()) {
      held_ = std::move(batch);
    } else {
      held_.times.insert(held_.times.end(), batch.times.begin(), batch.times.end());
      for (size_t c = 0; c < held_.columns.size(); ++c)
        held_.columns[c].append_range(batch.columns[c], 0, batch.size());
    }
    if (held_.size() <= lead_) return;
    const size_t rows = held_.size() - lead_;
    Batch rest = slice_all_columns(held_, rows, held_.size());
    Batch window = std::move(held_);
    held_ = std::move(rest);
    use(window, rows);
  }

  // End of stream: every held tick becomes final (leads past the end read defaults).
  template <class Use>
  void finish(Use&& use) {
    if (held_.empty()) return;
    Batch window = std::move(held_);
    held_ = Batch();
    const size_t rows = window.size();
    use(window, rows);
  }

  size_t lead() const { return lead_; }
  Held held() const {
    return {static_cast<int64_t>(held_.size()), static_cast<int64_t>(held_.bytes())};
  }

 private:
  size_t lead_;
  Batch held_;
};

}  // namespace tickflow
