// Runs a query once per symbol, several symbols at a time, with output in a deterministic
// order. See run_symbols in tickflow/run.hpp for the contract.
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <mutex>
#include <queue>

#include "core/tsan_handoff.hpp"
#include "tickflow/run.hpp"

namespace tickflow {
namespace {

bool is_cancellation(const RuntimeError& e) {
  return e.node.empty() && e.message() == "cancelled";
}

void add_stats(std::vector<NodeStats>& total, const std::vector<NodeStats>& run) {
  if (total.empty()) {
    total = run;
    return;
  }
  for (size_t i = 0; i < run.size(); ++i) {
    NodeStats& t = total[i];
    const NodeStats& r = run[i];
    t.ticks_in += r.ticks_in;
    t.ticks_out += r.ticks_out;
    t.peak_ticks_held = std::max(t.peak_ticks_held, r.peak_ticks_held);
    t.peak_bytes_held = std::max(t.peak_bytes_held, r.peak_bytes_held);
    t.nanos += r.nanos;
    for (const auto& [name, value] : r.counters) {
      // (a named copy: clang 14 cannot capture a structured binding)
      const std::string& counter = name;
      auto it = std::find_if(t.counters.begin(), t.counters.end(),
                             [&](const auto& c) { return c.first == counter; });
      if (it == t.counters.end()) {
        t.counters.emplace_back(name, value);
      } else {
        it->second += value;
      }
    }
  }
}

class SymbolRunner {
 public:
  SymbolRunner(const Query& query, const Plan& plan, const RunOptions& options,
               const std::vector<std::string>& symbols, const SymbolRunOptions& symbol_options,
               const SymbolOutputWriter& write)
      : query_(query),
        plan_(plan),
        options_(options),
        symbols_(symbols),
        symbol_options_(symbol_options),
        write_(write),
        states_(symbols.size()) {
    size_t threads = std::max<size_t>(1, options.threads);
    window_ = symbol_options.max_in_flight ? symbol_options.max_in_flight : 2 * threads;
    for (auto& state : states_) state.buffered.resize(query.outputs.size());
    cancel_ = std::make_unique<std::atomic<bool>[]>(symbols.size());
    for (size_t i = 0; i < symbols.size(); ++i) cancel_[i] = false;
  }

  MultiRunResult run() {
    tbb::task_arena arena(static_cast<int>(std::max<size_t>(1, options_.threads)));
    arena.execute([&] {
      {
        std::lock_guard lock(mutex_);
        launch_more();
      }
      group_.wait();
      handoff_.after_wait();
    });
    MultiRunResult result;
    result.stats = std::move(stats_);
    result.state = std::move(state_stats_);
    bool any_failed = false;
    for (size_t i = 0; i < states_.size(); ++i) {
      if (states_[i].error && !is_cancellation(*states_[i].error)) {
        any_failed = true;
        result.failures.push_back({symbols_[i], *states_[i].error});
        if (!symbol_options_.keep_going) break;  // the first in list order decides
      }
    }
    if (symbol_options_.merge_symbols && (!any_failed || symbol_options_.keep_going)) {
      try {
        write_merged();
      } catch (const RuntimeError& e) {
        result.failures.push_back({"", e});
      }
    }
    finish_commits(result, !result.failures.empty() && !symbol_options_.keep_going);
    return result;
  }

 private:
  struct SymbolState {
    std::vector<std::vector<Batch>> buffered;  // per output stream
    bool done = false;
    std::optional<RuntimeError> error;
    std::vector<std::unique_ptr<Operator>> uncommitted;
  };

  // Called with mutex_ held. Peaks: the largest of any symbol; final sizes: summed.
  void add_state_stats(const std::vector<StateStats>& run) {
    if (state_stats_.empty()) {
      state_stats_ = run;
      return;
    }
    for (size_t i = 0; i < run.size() && i < state_stats_.size(); ++i) {
      state_stats_[i].peak_ticks = std::max(state_stats_[i].peak_ticks, run[i].peak_ticks);
      state_stats_[i].peak_bytes = std::max(state_stats_[i].peak_bytes, run[i].peak_bytes);
      state_stats_[i].final_ticks += run[i].final_ticks;
    }
  }

  // Called with mutex_ held. A task runs the lowest symbol not started yet, whichever task
  // it is: oneTBB runs a thread's own tasks last-in first-out, and symbols started out of
  // list order would fill the window with finished output while a worker idles.
  void launch_more() {
    while (!stop_ && next_ < symbols_.size() && next_ < head_ + window_) {
      ++next_;
      detail::TaskHandoff::before_spawn();
      group_.run([this] {
        detail::TaskHandoff::task_started();
        size_t index;
        {
          std::lock_guard lock(mutex_);
          index = started_++;
        }
        run_one(index);
        handoff_.task_finished();
      });
    }
  }

  void run_one(size_t index) {
    RunOptions options = options_;
    options.symbol = symbols_[index];
    options.use_current_arena = true;
    options.defer_commit = true;
    // With at least as many symbols as workers, every worker has a symbol of its own: a
    // symbol's graph then runs best on one thread, where its batches stay in cache.
    options.one_thread = symbols_.size() >= std::max<size_t>(1, options_.threads);
    if (!symbol_options_.keep_going) options.cancel = &cancel_[index];
    std::vector<OutputTap> taps;
    for (size_t k = 0; k < query_.outputs.size(); ++k) {
      taps.push_back({query_.outputs[k].node, query_.outputs[k].port,
                      [this, index, k](const Batch& batch) { deliver(index, k, batch); }, nullptr});
    }
    RunResult result = run_query(query_, plan_, options, taps);
    std::lock_guard lock(mutex_);
    SymbolState& state = states_[index];
    add_stats(stats_, result.stats);
    add_state_stats(result.state);
    state.done = true;
    state.uncommitted = std::move(result.uncommitted);
    if (result.error && !is_cancellation(*result.error) && !symbol_options_.keep_going) {
      // Symbols after this one are cancelled; those before it run to their end, so the
      // failure reported (the first in list order) is the same for every thread count.
      stop_ = true;
      for (size_t i = index + 1; i < symbols_.size(); ++i) cancel_[i] = true;
    }
    state.error = std::move(result.error);
    try {
      advance_head();
    } catch (const RuntimeError& e) {
      // Writing the output failed: nothing later can be written either.
      state.error = e;
      stop_ = true;
      for (size_t i = 0; i < symbols_.size(); ++i) cancel_[i] = true;
    }
    launch_more();
  }

  bool streams_directly(size_t index) const {
    return !symbol_options_.merge_symbols && !symbol_options_.keep_going && index == head_;
  }

  void deliver(size_t index, size_t output, const Batch& batch) {
    std::lock_guard lock(mutex_);
    if (streams_directly(index)) {
      write_(output, symbols_[index], batch);
    } else {
      states_[index].buffered[output].push_back(batch);
    }
  }

  // Writes the buffered output of finished symbols at the head of the list, and of the
  // new head symbol, which then streams directly. Called with mutex_ held.
  void advance_head() {
    while (head_ < symbols_.size()) {
      SymbolState& state = states_[head_];
      bool flush = !symbol_options_.merge_symbols &&
                   (symbol_options_.keep_going ? state.done && !state.error : !stop_);
      if (flush) {
        for (size_t k = 0; k < state.buffered.size(); ++k) {
          for (const Batch& batch : state.buffered[k]) write_(k, symbols_[head_], batch);
          state.buffered[k].clear();
        }
      }
      if (!state.done) break;
      if (!symbol_options_.merge_symbols) state.buffered.clear();
      ++head_;
    }
  }

  // --merge-symbols: a k-way merge of every symbol's buffered output by time; equal times
  // in symbol-list order, then arrival order.
  void write_merged() {
    for (size_t k = 0; k < query_.outputs.size(); ++k) {
      struct Cursor {
        size_t symbol, batch, row;
      };
      auto later = [this, k](const Cursor& a, const Cursor& b) {
        int64_t ta = states_[a.symbol].buffered[k][a.batch].times[a.row];
        int64_t tb = states_[b.symbol].buffered[k][b.batch].times[b.row];
        return ta != tb ? ta > tb : a.symbol > b.symbol;
      };
      std::priority_queue<Cursor, std::vector<Cursor>, decltype(later)> heap(later);
      for (size_t s = 0; s < states_.size(); ++s) {
        if (!states_[s].error && !states_[s].buffered[k].empty()) heap.push({s, 0, 0});
      }
      // Consecutive ticks of one symbol are written as one batch.
      Batch run;
      bool have_run = false;
      size_t run_symbol = 0;
      auto flush = [&] {
        if (have_run && !run.empty()) write_(k, symbols_[run_symbol], run);
        have_run = false;
      };
      while (!heap.empty()) {
        Cursor c = heap.top();
        heap.pop();
        const Batch& batch = states_[c.symbol].buffered[k][c.batch];
        if (!have_run || run_symbol != c.symbol || run.size() >= 4096) {
          flush();
          run = Batch(batch.schema);
          have_run = true;
          run_symbol = c.symbol;
        }
        run.append_row(batch, c.row);
        Cursor next = c;
        if (++next.row == batch.size()) {
          next.row = 0;
          ++next.batch;
        }
        if (next.batch < states_[c.symbol].buffered[k].size()) heap.push(next);
      }
      flush();
    }
  }

  void finish_commits(MultiRunResult& result, bool abort_all) {
    for (size_t i = 0; i < states_.size(); ++i) {
      for (auto& op : states_[i].uncommitted) {
        if (abort_all || states_[i].error) {
          op->abort();
          continue;
        }
        try {
          op->commit();
        } catch (const std::exception& e) {
          RuntimeError error(e.what());
          error.symbol = symbols_[i];
          result.failures.push_back({symbols_[i], error});
          abort_all = true;
        }
      }
    }
  }

  const Query& query_;
  const Plan& plan_;
  const RunOptions& options_;
  const std::vector<std::string>& symbols_;
  const SymbolRunOptions& symbol_options_;
  const SymbolOutputWriter& write_;

  std::mutex mutex_;
  std::vector<SymbolState> states_;
  std::vector<NodeStats> stats_;
  size_t window_ = 2;
  size_t head_ = 0;     // first symbol whose output is not completely written
  size_t next_ = 0;     // symbols launched (tasks created)
  size_t started_ = 0;  // symbols whose run has begun: always a prefix of the list
  bool stop_ = false;   // no more symbols start (guarded by mutex_)
  std::unique_ptr<std::atomic<bool>[]> cancel_;  // per symbol: stop its run
  std::vector<StateStats> state_stats_;
  tbb::task_group group_;
  detail::TaskHandoff handoff_;
};

}  // namespace

MultiRunResult run_symbols(const Query& query, const Plan& plan, const RunOptions& options,
                           const std::vector<std::string>& symbols,
                           const SymbolRunOptions& symbol_options,
                           const SymbolOutputWriter& write) {
  // The query-scope state variables are filled once and shared by every symbol's run.
  RunOptions prepared = options;
  if (!prepared.query_state) {
    try {
      prepared.query_state = prepare_query_state(query);
    } catch (const RuntimeError& e) {
      MultiRunResult result;
      result.stats.resize(query.nodes.size());
      result.failures.push_back({"", e});
      return result;
    }
  }
  SymbolRunner runner(query, plan, prepared, symbols, symbol_options, write);
  return runner.run();
}

}  // namespace tickflow
