// Checks shared by EPs, built on the public EP API only (plugins may use them too).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tickflow/ep.hpp"
#include "tickflow/expr.hpp"

namespace tickflow {

// Time order as a checked property (SPEC §4): an EP that relies on its input being in
// TIMESTAMP order (merge, joins, time buckets, time windows) calls this at bind time for
// each such input. When input `input` is not time-ordered it reports an error at the
// input's `in:` location naming this node and the input node, saying `why` order is needed
// (e.g. "an as-of join matches ticks by time") and suggesting update_timestamp, and returns
// false. Returns true when the input is time-ordered.
bool require_time_ordered(BindContext& ctx, size_t input, std::string_view why);

// The items of a FieldList (or other list) parameter as individual nodes, so that each
// name can be located on its own; any other node (a scalar) is a one-item list; nullptr
// gives none.
std::vector<const ConfigNode*> list_items(const ConfigNode* list);

// The key fields of a `group_by`-style FieldList parameter: the column of each field it
// names in input `input`, in order (an absent parameter: none). Every problem is reported
// at its item: an unknown field (with "did you mean"), a field listed twice, TIMESTAMP
// (followed by `timestamp_hint` when given, e.g. "use a time bucket instead"). Returns
// false after any error; `columns` then holds the fields that were fine.
bool read_key_fields(BindContext& ctx, std::vector<size_t>& columns,
                     std::string_view param = "group_by", std::string_view timestamp_hint = {},
                     size_t input = 0);

// For BindContext::reads_only: the names of the fields at `columns` of `schema`, and the
// names of the fields `expr` reads (`schema` being the one it was compiled against).
std::vector<std::string> field_names(const Schema& schema, const std::vector<size_t>& columns);
std::vector<std::string> field_names_read(const CompiledExpr& expr, const Schema& schema);

// Parallel work inside one EP call (a big sort at the end of the input, say). During a
// run, an EP's calls execute on the run's threads; these use the same threads, so a run
// never exceeds --threads, and with --threads 1 the parts run one after another.
//
// The threads an EP could use at once right now (1 with --threads 1): a useful number of
// parts for work_in_parts.
size_t available_threads();
// Calls body(part) for every part in [0, parts), concurrently where threads are free, and
// returns when all have returned. Calls for different parts must not conflict; an exception
// from one is rethrown here. The result must not depend on which part runs when, so that
// output stays the same for every --threads.
void work_in_parts(size_t parts, const std::function<void(size_t part)>& body);

// Work an EP starts in one call and takes up in a later one: a source reading ahead (the
// next window of a file parsed while the ticks of the one before flow downstream). It runs
// on the run's threads like work_in_parts, so a run never exceeds --threads; when no thread
// is free it runs in wait(), on the caller's.
//
// Contract: one piece of work at a time (start() while some is running is a logic error);
// wait() returns once it has finished and rethrows what it threw; the destructor waits
// too (dropping an exception), so work may use the owner's members as long as this object
// is declared after them. The work must not depend on which thread runs it or when.
class BackgroundWork {
 public:
  BackgroundWork();
  ~BackgroundWork();
  BackgroundWork(const BackgroundWork&) = delete;
  BackgroundWork& operator=(const BackgroundWork&) = delete;

  void start(std::function<void()> work);
  void wait();
  bool started() const { return started_; }

 private:
  struct Tasks;
  std::unique_ptr<Tasks> tasks_;
  bool started_ = false;
};

}  // namespace tickflow
