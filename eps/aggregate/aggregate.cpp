// The `aggregate` operator: cuts the stream into buckets (time, ticks, condition, or the
// whole run) or, with running: true, emits after every tick over everything so far or a
// sliding window; per group, with the functions of aggregate_functions.hpp. The exact
// semantics (bucket edges, stamps, empty buckets, exit events) are in docs/aggregate.md.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aggregate/aggregate.hpp"
#include "tickflow/group_keys.hpp"
#include "tickflow/rows.hpp"
#include "tickflow/time.hpp"

namespace tickflow::eps::agg {
namespace {

constexpr int64_t kNanosPerDay = 86'400 * kNanosPerSecond;
constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}

class AggregateOperator : public Operator {
 public:
  AggregateOperator(std::shared_ptr<const Options> options, const RunContext& run)
      : options_(std::move(options)),
        groups_(options_->key_columns, options_->key_schema),
        pending_(options_->output_schema),
        symbol_(run.symbol),
        state_reader_(run.state),
        batch_size_(std::max<size_t>(run.batch_size, 1)) {
    const Options& o = *options_;
    const Feed feed = !o.running                                ? Feed::Bucket
                      : o.window == Options::Window::Cumulative ? Feed::Cumulative
                                                                : Feed::Sliding;
    const uint64_t window_ticks =
        o.window == Options::Window::Ticks ? static_cast<uint64_t>(o.window_ticks) : 0;
    for (const AggSpec& spec : o.aggs) {
      states_.push_back(make_agg_state(spec, feed, window_ticks));
      if (feed == Feed::Sliding) {
        bytes_per_held_tick_ += 16;
      } else {
        bytes_per_held_tick_ += bytes_per_held_value(spec);
      }
      holds_ticks_ = holds_ticks_ || holds_values(spec.fn) || feed == Feed::Sliding;
    }
    if (o.condition) condition_state_ = o.condition->make_state();
    for (const CompiledExprPtr& argument : o.arguments)
      argument_states_.push_back(argument->make_state());
    grow_groups(groups_.group_count());
    if (o.key_columns.empty()) visible_groups_ = 1;
  }

  void process(size_t, Batch&& batch, OutputSink& out) override {
    if (batch.empty()) return;
    out_ = &out;
    evaluate_arguments(batch);
    grow_groups(groups_.assign(batch, row_groups_));
    const Options& o = *options_;
    if (o.running) {
      run_rows(batch);
    } else {
      switch (o.bucket) {
        case Options::Bucket::Time:
          add_time_buckets(batch);
          break;
        case Options::Bucket::Ticks:
          add_tick_buckets(batch);
          break;
        case Options::Bucket::Condition:
          add_condition_buckets(batch);
          break;
        case Options::Bucket::Whole:
          add_segment(batch, 0, batch.size());
          break;
      }
    }
    flush();
  }

  void finish(OutputSink& out) override {
    out_ = &out;
    const Options& o = *options_;
    if (o.running) {
      if (o.window == Options::Window::Time && o.exit_leaving) {
        // Exits at or after the range end are not emitted, as with exit_ticks: after.
        if (!o.range_end) {
          flush_leaving_through(std::numeric_limits<int64_t>::max());
        } else if (*o.range_end > std::numeric_limits<int64_t>::min()) {
          flush_leaving_through(*o.range_end - 1);
        }
      } else if (o.window == Options::Window::Time) {
        flush_exits_before(o.range_end ? *o.range_end : std::numeric_limits<int64_t>::max());
      }
    } else if (o.bucket == Options::Bucket::Time) {
      finish_time_buckets();
    } else if (o.bucket == Options::Bucket::Whole) {
      finish_whole_run();
    } else if (bucket_ticks_ > 0) {
      // The bucket still open: a condition bucket, or a ticks bucket not yet full.
      const bool at_range_end = o.stamp_close && o.range_end;
      close_bucket(o.stamp_start  ? bucket_first_time_
                   : at_range_end ? *o.range_end
                                  : bucket_last_time_);
    }
    flush();
  }

  // Standing queries: a time bucket that time has passed is closed now instead of when the
  // next tick or the end comes; the empty buckets after it still wait for that tick (a
  // batch run emits them only when one comes). Returns the earliest stamp still to come.
  std::optional<int64_t> input_passed(size_t, int64_t time, OutputSink& out) override {
    const Options& o = *options_;
    if (o.running) {
      if (o.window == Options::Window::Time) return std::numeric_limits<int64_t>::min();
      return time;  // one output per input tick, at its time
    }
    if (o.bucket != Options::Bucket::Time || !time_started_) {
      return std::numeric_limits<int64_t>::min();
    }
    if (time >= bucket_end_ && !closed_early_) {
      out_ = &out;
      close_bucket(time_bucket_stamp());
      closed_early_ = true;
      flush();
    }
    if (closed_early_) return o.range_end ? std::min(bucket_end_, *o.range_end) : bucket_end_;
    return time_bucket_stamp();
  }

  Held held() const override {
    return {held_ticks_, held_ticks_ * bytes_per_held_tick_ + groups_.bytes() +
                             static_cast<int64_t>(group_count_ * states_.size() * 32)};
  }

  std::vector<std::pair<std::string, int64_t>> counters() const override {
    std::vector<std::pair<std::string, int64_t>> result = {
        {"groups", static_cast<int64_t>(group_count_)}};
    if (!options_->running) result.emplace_back("buckets", buckets_);
    if (options_->window == Options::Window::Time) result.emplace_back("exit_ticks", exit_ticks_);
    return result;
  }

 private:
  void grow_groups(size_t count) {
    if (count <= group_count_) return;
    for (auto& state : states_) state->resize(count);
    touched_.resize(count, 0);
    if (options_->running) {
      window_counts_.resize(count, 0);
      if (options_->window == Options::Window::Time) {
        window_times_.resize(count);
        if (options_->exit_leaving) {
          while (window_rows_.size() < count) window_rows_.emplace_back(options_->carried_schema);
          window_row_start_.resize(count, 0);
        }
        last_arrival_.resize(count, kNoTime);
        last_exit_.resize(count, kNoTime);
      }
    }
    group_count_ = count;
  }

  // Appends the expression arguments' values to `batch` as the columns AggSpec names.
  void evaluate_arguments(Batch& batch) {
    const auto& arguments = options_->arguments;
    for (size_t a = 0; a < arguments.size(); ++a) {
      Column values(arguments[a]->type());
      arguments[a]->evaluate(batch, *argument_states_[a], values, {symbol_, state_reader_});
      batch.columns.push_back(std::move(values));
    }
  }

  // ---- output

  // `carried` (exit_ticks: leaving): the batch and row whose fields follow the aggregates;
  // `already_carried`: its columns are the carried ones (a held window row), else the input's.
  void emit_row(int64_t stamp, uint32_t group, const Batch* carried = nullptr, size_t row = 0,
                bool already_carried = false) {
    pending_.times.push_back(stamp);
    const size_t key_count = options_->key_columns.size();
    for (size_t k = 0; k < key_count; ++k) {
      pending_.columns[k].append_from(groups_.keys().columns[k], group);
    }
    for (size_t a = 0; a < states_.size(); ++a)
      states_[a]->write(group, pending_.columns[key_count + a]);
    const std::vector<size_t>& columns = options_->carried_columns;
    for (size_t c = 0; c < columns.size(); ++c) {
      Column& out = pending_.columns[key_count + states_.size() + c];
      out.append_from(carried->columns[already_carried ? c : columns[c]], row);
    }
    if (pending_.size() >= batch_size_) flush();
  }

  void flush() {
    if (pending_.empty()) return;
    out_->emit(0, std::move(pending_));
    pending_ = Batch(options_->output_schema);
  }

  // ---- buckets

  void add_segment(const Batch& batch, size_t begin, size_t end) {
    if (begin == end) return;
    if (bucket_ticks_ == 0) bucket_first_time_ = batch.times[begin];
    if (options_->bucket == Options::Bucket::Whole && buckets_ == 0 && bucket_ticks_ == 0) {
      // The whole run's bucket starts at the range start, else at its first tick.
      whole_start_ = options_->range_start.value_or(batch.times[begin]);
      for (auto& state : states_)
        state->set_bucket(whole_start_, std::numeric_limits<int64_t>::max());
    }
    bucket_last_time_ = batch.times[end - 1];
    bucket_ticks_ += static_cast<int64_t>(end - begin);
    for (auto& state : states_) state->add(batch, begin, end, row_groups_.data());
    for (size_t r = begin; r < end; ++r) {
      const uint32_t g = row_groups_[r];
      if (!touched_[g]) {
        touched_[g] = 1;
        touched_list_.push_back(g);
        // Ids follow first appearance, so the groups seen so far are [0, g].
        visible_groups_ = std::max<size_t>(visible_groups_, g + 1);
      }
    }
    if (holds_ticks_) held_ticks_ += static_cast<int64_t>(end - begin);
  }

  // Emits one tick per group seen so far (emit_empty) or per group with ticks in the
  // bucket, in order of first appearance, then starts the next bucket.
  void close_bucket(int64_t stamp) {
    const bool all = options_->emit_empty;
    for (uint32_t g = 0; g < visible_groups_; ++g) {
      if (all || touched_[g]) emit_row(stamp, g);
    }
    for (uint32_t g : touched_list_) {
      for (auto& state : states_) state->reset(g);
      touched_[g] = 0;
    }
    touched_list_.clear();
    bucket_ticks_ = 0;
    held_ticks_ = 0;
    ++buckets_;
  }

  int64_t time_bucket_stamp() const {
    if (options_->stamp_start) return bucket_start_;
    return options_->range_end ? std::min(bucket_end_, *options_->range_end) : bucket_end_;
  }

  // Bucket arithmetic runs on the wall clock of Options::bucket_zone (the identity for
  // UTC): bucket k starts at local origin_ + k * d and ends where bucket k + 1 starts.
  int64_t to_local(int64_t t) const { return options_->bucket_zone.to_local(t); }

  void set_local_bucket(int64_t local_start) {
    const TimeZone& zone = options_->bucket_zone;
    bucket_local_start_ = local_start;
    bucket_start_ = zone.to_utc(local_start);
    int64_t local_end;
    if (__builtin_add_overflow(local_start, options_->bucket_duration, &local_end)) {
      local_end = std::numeric_limits<int64_t>::max();
    }
    bucket_end_ = zone.to_utc(local_end);
    const int64_t end =
        options_->range_end ? std::min(bucket_end_, *options_->range_end) : bucket_end_;
    for (auto& state : states_) state->set_bucket(bucket_start_, end);
  }

  void next_time_bucket() {
    int64_t next;
    if (__builtin_add_overflow(bucket_local_start_, options_->bucket_duration, &next)) {
      next = std::numeric_limits<int64_t>::max();
    }
    set_local_bucket(next);
  }

  // The bucket holding `time`, never one before the current (a wall clock that goes
  // back at a DST change must not reopen a closed bucket).
  void set_bucket_holding(int64_t time) {
    const int64_t d = options_->bucket_duration;
    int64_t start = origin_ + floor_div(to_local(time) - origin_, d) * d;
    if (time_started_ && start < bucket_local_start_) start = bucket_local_start_;
    set_local_bucket(start);
  }

  // Closes the current bucket and moves to the one holding `time`, emitting the empty
  // buckets between them when emit_empty.
  void advance_time_bucket(int64_t time) {
    if (!closed_early_) close_bucket(time_bucket_stamp());
    closed_early_ = false;
    if (options_->emit_empty) {
      for (next_time_bucket(); bucket_end_ <= time; next_time_bucket()) {
        close_bucket(time_bucket_stamp());
      }
    } else {
      set_bucket_holding(time);
    }
  }

  void start_time_buckets(int64_t first_time) {
    const Options& o = *options_;
    origin_ = o.range_start ? to_local(*o.range_start)
                            : floor_div(to_local(first_time), kNanosPerDay) * kNanosPerDay;
    if (o.range_start && o.emit_empty && first_time >= *o.range_start) {
      set_local_bucket(origin_);
      while (bucket_end_ <= first_time) {
        close_bucket(time_bucket_stamp());
        next_time_bucket();
      }
    } else {
      set_bucket_holding(first_time);
    }
    time_started_ = true;
  }

  void add_time_buckets(const Batch& batch) {
    const size_t n = batch.size();
    size_t r = 0;
    while (r < n) {
      const int64_t t = batch.times[r];
      if (!time_started_) {
        start_time_buckets(t);
      } else if (t >= bucket_end_) {
        advance_time_bucket(t);
      }
      size_t end = r + 1;
      while (end < n && batch.times[end] < bucket_end_) ++end;
      add_segment(batch, r, end);
      r = end;
    }
  }

  void finish_time_buckets() {
    const Options& o = *options_;
    if (time_started_) {
      if (!closed_early_) close_bucket(time_bucket_stamp());
      next_time_bucket();
    } else if (o.range_start) {
      set_local_bucket(to_local(*o.range_start));
    } else {
      return;  // no ticks and no range: no bucket to speak of
    }
    if (!o.emit_empty || !o.range_end) return;
    while (bucket_start_ < *o.range_end) {
      close_bucket(time_bucket_stamp());
      next_time_bucket();
    }
  }

  void add_tick_buckets(const Batch& batch) {
    const int64_t size = options_->bucket_ticks;
    size_t r = 0;
    while (r < batch.size()) {
      const size_t take = std::min<size_t>(batch.size() - r, size - bucket_ticks_);
      add_segment(batch, r, r + take);
      r += take;
      if (bucket_ticks_ == size) {
        close_bucket(options_->stamp_start ? bucket_first_time_ : bucket_last_time_);
      }
    }
  }

  void add_condition_buckets(const Batch& batch) {
    options_->condition->evaluate(batch, *condition_state_, condition_values_,
                                  {symbol_, state_reader_});
    const uint8_t* boundary = condition_values_.bools().data();
    const bool boundary_new = options_->boundary_new;
    auto close = [&] {
      close_bucket(options_->stamp_start ? bucket_first_time_ : bucket_last_time_);
    };
    size_t begin = 0;
    for (size_t r = 0; r < batch.size(); ++r) {
      if (!boundary[r]) continue;
      if (boundary_new) {
        add_segment(batch, begin, r);
        if (bucket_ticks_ > 0) {
          // bucket_time: close stamps it with the tick that closes it (starts the next).
          if (options_->stamp_close) {
            close_bucket(batch.times[r]);
          } else {
            close();
          }
        }
        begin = r;
      } else {
        add_segment(batch, begin, r + 1);
        close();
        begin = r + 1;
      }
    }
    add_segment(batch, begin, batch.size());
  }

  void finish_whole_run() {
    const Options& o = *options_;
    const bool any = bucket_ticks_ > 0;
    if (any) {
      for (auto& state : states_)
        state->set_bucket(whole_start_, o.range_end.value_or(bucket_last_time_));
    }
    if (o.stamp_start) {
      if (o.range_start || any) close_bucket(o.range_start ? *o.range_start : bucket_first_time_);
    } else if (o.range_end || any) {
      close_bucket(o.range_end ? *o.range_end : bucket_last_time_);
    }
  }

  // ---- running

  void run_rows(const Batch& batch) {
    const Options& o = *options_;
    for (size_t r = 0; r < batch.size(); ++r) {
      const uint32_t g = row_groups_[r];
      const int64_t t = batch.times[r];
      if (o.window == Options::Window::Time && o.exit_leaving) {
        // Every tick leaving at or before t does so before t's arrival, with its own tick.
        flush_leaving_through(t);
        window_times_[g].push_back(t);
        exits_.emplace_back(t + o.window_duration, g);
        Batch& held = window_rows_[g];
        held.times.push_back(t);
        for (size_t c = 0; c < o.carried_columns.size(); ++c)
          held.columns[c].append_from(batch.columns[o.carried_columns[c]], r);
        for (auto& state : states_) state->add(batch, r, r + 1, row_groups_.data());
        ++window_counts_[g];
        ++held_ticks_;
        emit_row(t, g, &batch, r);
        continue;
      }
      if (o.window == Options::Window::Time) {
        flush_exits_before(t);
        expire(g, t - o.window_duration);
        window_times_[g].push_back(t);
        last_arrival_[g] = t;
        exits_.emplace_back(t + o.window_duration, g);
      } else if (o.window == Options::Window::Ticks && !o.window_per_group) {
        // The stream's oldest tick leaves; it is the oldest its group still holds.
        if (static_cast<int64_t>(stream_window_.size()) == o.window_ticks) {
          const uint32_t h = stream_window_.front();
          stream_window_.pop_front();
          for (auto& state : states_) state->remove_oldest(h);
          --window_counts_[h];
          --held_ticks_;
        }
        stream_window_.push_back(g);
      } else if (o.window == Options::Window::Ticks && window_counts_[g] == o.window_ticks) {
        for (auto& state : states_) state->remove_oldest(g);
        --window_counts_[g];
        --held_ticks_;
      }
      for (auto& state : states_) state->add(batch, r, r + 1, row_groups_.data());
      ++window_counts_[g];
      if (holds_ticks_) ++held_ticks_;
      emit_row(t, g);
    }
  }

  // Forgets the ticks of group g with TIMESTAMP <= cutoff.
  void expire(uint32_t g, int64_t cutoff) {
    std::deque<int64_t>& times = window_times_[g];
    while (!times.empty() && times.front() <= cutoff) {
      for (auto& state : states_) state->remove_oldest(g);
      times.pop_front();
      --window_counts_[g];
      --held_ticks_;
    }
  }

  // A tick at t leaves a window of duration d at t + d. Exit events before `limit` are
  // processed in time order (ties: in the order the leaving ticks arrived); each emits one
  // tick for its group at the exit time, unless a tick of that group arrived at exactly
  // that time (its own output already shows the window without the leaving ticks) or an
  // exit tick for the group was already emitted at that time.
  // exit_ticks: leaving: each exit event up to `limit` (inclusive) is one tick leaving: the
  // oldest its group holds (events are in arrival order and share the window length). It
  // emits that tick's fields with the window before the removal, then removes it.
  void flush_leaving_through(int64_t limit) {
    while (!exits_.empty() && exits_.front().first <= limit) {
      const auto [exit_time, g] = exits_.front();
      exits_.pop_front();
      Batch& held = window_rows_[g];
      size_t& start = window_row_start_[g];
      ++exit_ticks_;
      emit_row(exit_time, g, &held, start, true);
      for (auto& state : states_) state->remove_oldest(g);
      window_times_[g].pop_front();
      --window_counts_[g];
      --held_ticks_;
      ++start;
      if (start >= 1024 && 2 * start >= held.size()) {  // drop the rows that left
        held = held.slice(start, held.size());
        start = 0;
      }
    }
  }

  void flush_exits_before(int64_t limit) {
    const int64_t d = options_->window_duration;
    while (!exits_.empty() && exits_.front().first < limit) {
      const auto [exit_time, g] = exits_.front();
      exits_.pop_front();
      expire(g, exit_time - d);
      if (last_arrival_[g] != exit_time && last_exit_[g] != exit_time) {
        last_exit_[g] = exit_time;
        ++exit_ticks_;
        emit_row(exit_time, g);
      }
    }
  }

  std::shared_ptr<const Options> options_;
  GroupKeys groups_;
  Batch pending_;
  std::string symbol_;
  const StateReader* state_reader_ = nullptr;
  size_t batch_size_;
  OutputSink* out_ = nullptr;
  std::vector<std::unique_ptr<AggState>> states_;
  std::vector<uint32_t> row_groups_;
  size_t group_count_ = 0;
  // Groups whose first tick has reached a bucket (a batch may already hold later groups).
  size_t visible_groups_ = 0;

  // buckets
  std::vector<uint8_t> touched_;  // per group: has ticks in the current bucket
  std::vector<uint32_t> touched_list_;
  int64_t bucket_ticks_ = 0;
  int64_t bucket_first_time_ = 0;
  int64_t bucket_last_time_ = 0;
  bool time_started_ = false;
  // Standing queries: the current time bucket was closed by input_passed (and is not again).
  bool closed_early_ = false;
  int64_t origin_ = 0;              // on the bucket zone's wall clock
  int64_t bucket_local_start_ = 0;  // bucket_start_ on the bucket zone's wall clock
  int64_t bucket_start_ = 0;
  int64_t whole_start_ = 0;  // the whole-run bucket's start (range start or first tick)
  int64_t bucket_end_ = 0;
  std::unique_ptr<ExprState> condition_state_;
  Column condition_values_{Type::Bool};
  std::vector<std::unique_ptr<ExprState>> argument_states_;  // per Options::arguments

  // running
  std::vector<int64_t> window_counts_;
  std::vector<std::deque<int64_t>> window_times_;
  std::vector<int64_t> last_arrival_;
  std::vector<int64_t> last_exit_;
  std::deque<uint32_t> stream_window_;
  std::vector<Batch> window_rows_;        // exit_ticks: leaving: each group's carried rows
  std::vector<size_t> window_row_start_;  // the first of them still in the window  // per_group:
                                          // false: the groups of the last N ticks
  std::deque<std::pair<int64_t, uint32_t>> exits_;  // (exit time, group), in time order

  // stats
  bool holds_ticks_ = false;
  int64_t bytes_per_held_tick_ = 0;
  int64_t held_ticks_ = 0;
  int64_t buckets_ = 0;
  int64_t exit_ticks_ = 0;
};

}  // namespace

OperatorFactory make_aggregate_factory(std::shared_ptr<const Options> options) {
  return [options](const RunContext& run) {
    return std::make_unique<AggregateOperator>(options, run);
  };
}

}  // namespace tickflow::eps::agg
