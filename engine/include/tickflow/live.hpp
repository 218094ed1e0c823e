// Ticks that arrive while a query runs: the feeds of `push` sources in a standing query
// (`tickflow serve QUERY.yaml`, SPEC §13).
//
// Contract of LiveFeed
// --------------------
// - One feed per push node and symbol of a standing query. The host (the server) appends
//   ticks that it has fully validated: the feed's schema, non-decreasing times, none
//   earlier than passed(). A request is applied with one append(), so an operator never
//   sees part of a request.
// - passed() is the time the source has passed: no tick earlier than it will come. It
//   moves forward with every appended tick (to the last tick's time) and with advance().
// - The push operator takes what was appended since its last take(); the executor asks
//   passed() to decide what other sources may release (SPEC §13: an EP waiting for
//   several inputs releases a tick once every input has passed its time).
// - close() ends the feed: the source then finishes and the query flushes what it holds.
// - Not thread-safe: the host calls it only while it holds the standing run's lock, and the
//   run reads it only inside its own calls.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tickflow/batch.hpp"

namespace tickflow {

class LiveFeed {
 public:
  static constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();

  explicit LiveFeed(SchemaPtr schema) : schema_(std::move(schema)), waiting_(schema_) {}

  const SchemaPtr& schema() const { return schema_; }

  // Appends validated ticks (see the contract above) and moves passed() to the last one.
  void append(const Batch& ticks) {
    if (ticks.empty()) return;
    waiting_.append_rows(ticks, 0, ticks.size());
    passed_ = std::max(passed_, ticks.times.back());
    total_ += ticks.size();
  }
  // No tick earlier than `time` will come; never moves back.
  void advance(int64_t time) { passed_ = std::max(passed_, time); }
  void close() { closed_ = true; }

  // The ticks appended since the last call.
  Batch take() {
    Batch out(schema_);
    std::swap(out, waiting_);
    return out;
  }
  bool has_ticks() const { return !waiting_.empty(); }
  int64_t passed() const { return passed_; }
  bool closed() const { return closed_; }
  // Ticks appended over the feed's life.
  uint64_t total() const { return total_; }

 private:
  SchemaPtr schema_;
  Batch waiting_;
  int64_t passed_ = kNoTime;
  uint64_t total_ = 0;
  bool closed_ = false;
};

// The feeds of one run (one symbol) of a standing query, by push node id.
struct LiveFeeds {
  std::unordered_map<std::string, LiveFeed*> by_node;

  LiveFeed* find(std::string_view node) const {
    auto it = by_node.find(std::string(node));
    return it == by_node.end() ? nullptr : it->second;
  }
};

}  // namespace tickflow
