// A standing run: one run of a query (for one symbol) that stays open while ticks arrive
// through the LiveFeeds of its push sources (SPEC §13, `tickflow serve QUERY.yaml`).
//
// Contract of StandingRun
// -----------------------
// - It is the batch executor's sequential run (direct calls on the calling thread, the
//   same operators, routing and tick-passage order), driven step by step: pump() hands the
//   graph every tick that may enter now and returns instead of waiting for more.
// - What may enter: in a plan without tick passage (Plan::sequential false) every tick
//   that arrived; with it, ticks enter in the time order of all sources together (ties by
//   source position), so a tick waits until every other source has passed its time — a
//   push source passes a time with its ticks or LiveFeed::advance.
// - After the ticks, pump() tells every EP the times its inputs have passed
//   (Operator::input_passed), so merges, as-of joins and time buckets release what no
//   later tick can change. Nodes that run tick by tick for state variables are not told:
//   they release only as ticks pass, exactly as in a batch run.
// - The taps see the same ticks, in the same order, as a batch run over all the ticks
//   pushed (whatever the split into pumps) once close() has run: close() ends every
//   source after its feed was closed, lets the EPs emit what they hold and commits.
// - Not thread-safe: one caller at a time (the query's lock). A runtime error fails the
//   run: pump() and close() rethrow it from then on.
#pragma once

#include <memory>
#include <vector>

#include "tickflow/live.hpp"
#include "tickflow/run.hpp"

namespace tickflow {

namespace detail {
class Execution;
}

class StandingRun {
 public:
  // `query`, `plan` and `feeds` must outlive the run. Starts the operators (throws
  // RuntimeError when one cannot start).
  StandingRun(const Query& query, const Plan& plan, RunOptions options, std::vector<OutputTap> taps,
              const LiveFeeds& feeds);
  ~StandingRun();
  StandingRun(const StandingRun&) = delete;
  StandingRun& operator=(const StandingRun&) = delete;

  void pump();
  RunResult close();

  // Per node so far: ticks in and out, peak held; `held` is what each node holds now.
  std::vector<NodeStats> stats() const;
  std::vector<Held> held() const;

 private:
  RunOptions options_;
  std::vector<OutputTap> taps_;
  std::unique_ptr<detail::Execution> execution_;
};

}  // namespace tickflow
