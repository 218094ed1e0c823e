#include "tickflow/ep_helpers.hpp"

#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <exception>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/tsan_handoff.hpp"

namespace tickflow {

bool require_time_ordered(BindContext& ctx, size_t input, std::string_view why) {
  const InputInfo& info = ctx.input(input);
  if (info.time_ordered) return true;
  const Location& where = info.location.known() ? info.location : ctx.node_location();
  ctx.error(where, "input '" + info.name + "' is not in time order (an EP such as order_by " +
                       "upstream reorders ticks), but '" + ctx.node_id() + "' needs time order: " +
                       std::string(why) + "; restore it with update_timestamp (to: TIMESTAMP) " +
                       "between '" + info.name + "' and '" + ctx.node_id() + "'");
  return false;
}

std::vector<const ConfigNode*> list_items(const ConfigNode* list) {
  std::vector<const ConfigNode*> items;
  if (!list) return items;
  if (list->is_sequence()) {
    for (const auto& item : list->items()) items.push_back(&item);
  } else {
    items.push_back(list);  // a scalar, or something the caller reports as not a list item
  }
  return items;
}

std::vector<std::string> field_names(const Schema& schema, const std::vector<size_t>& columns) {
  std::vector<std::string> names;
  names.reserve(columns.size());
  for (size_t column : columns) names.push_back(schema[column].name);
  return names;
}

std::vector<std::string> field_names_read(const CompiledExpr& expr, const Schema& schema) {
  return field_names(schema, expr.fields_read());
}

bool read_key_fields(BindContext& ctx, std::vector<size_t>& columns, std::string_view param,
                     std::string_view timestamp_hint, size_t input) {
  bool ok = true;
  std::set<std::string> seen;
  for (const ConfigNode* item : list_items(ctx.param(param))) {
    const std::string& name = item->text();
    if (name.find(',') != std::string::npos) {
      ctx.error(item->location(), std::string(param) + ": '" + name +
                                      "' is not a field name; write the fields as a list: [" +
                                      name + "]");
      ok = false;
    } else if (!seen.insert(name).second) {
      ctx.error(item->location(), "field " + name + " is listed twice in " + std::string(param));
      ok = false;
    } else if (name == "TIMESTAMP") {
      ctx.error(item->location(),
                std::string(param) + " cannot use TIMESTAMP" +
                    (timestamp_hint.empty() ? "" : "; " + std::string(timestamp_hint)));
      ok = false;
    } else if (auto index = ctx.require_field(input, name, item->location())) {
      columns.push_back(*index);
    } else {
      ok = false;
    }
  }
  return ok;
}

size_t available_threads() {
  return static_cast<size_t>(std::max(1, tbb::this_task_arena::max_concurrency()));
}

void work_in_parts(size_t parts, const std::function<void(size_t part)>& body) {
  if (parts <= 1) {
    if (parts == 1) body(0);
    return;
  }
  // A task per part, all made before the hand-off is marked and spawned after: a
  // parallel_for copies its body while it splits the range on whichever thread runs a part,
  // which ThreadSanitizer cannot see ordered (it reported those copies once a part ran
  // while another thread waited in a BackgroundWork).
  detail::TaskHandoff handoff;
  tbb::task_group group;
  std::vector<tbb::task_handle> tasks;
  tasks.reserve(parts);
  for (size_t part = 0; part < parts; ++part) {
    tasks.push_back(group.defer([&body, &handoff, part] {
      detail::TaskHandoff::task_started();
      body(part);
      handoff.task_finished();
    }));
  }
  detail::TaskHandoff::before_spawn();
  for (auto& task : tasks) group.run(std::move(task));
  group.wait();  // rethrows the first exception of a part
  handoff.after_wait();
}

struct BackgroundWork::Tasks {
  tbb::task_group group;
  detail::TaskHandoff handoff;
  std::exception_ptr error;
};

BackgroundWork::BackgroundWork() : tasks_(std::make_unique<Tasks>()) {}

BackgroundWork::~BackgroundWork() {
  if (!started_) return;
  try {
    wait();
  } catch (...) {  // nobody is left to take it
  }
}

void BackgroundWork::start(std::function<void()> work) {
  if (started_) throw std::logic_error("BackgroundWork::start while work is running");
  started_ = true;
  tasks_->error = nullptr;
  // The task (with its copy of `work`) is made before the hand-off is marked and spawned
  // after, so that ThreadSanitizer sees the copy happen before the task reads it.
  tbb::task_handle task = tasks_->group.defer([tasks = tasks_.get(), work = std::move(work)] {
    detail::TaskHandoff::task_started();
    // Caught here, not by the task group, which would cancel the group's other work.
    try {
      work();
    } catch (...) {
      tasks->error = std::current_exception();
    }
    tasks->handoff.task_finished();
  });
  detail::TaskHandoff::before_spawn();
  tasks_->group.run(std::move(task));
}

void BackgroundWork::wait() {
  if (!started_) return;
  tasks_->group.wait();
  tasks_->handoff.after_wait();
  started_ = false;
  if (tasks_->error) std::rethrow_exception(std::exchange(tasks_->error, nullptr));
}

}  // namespace tickflow
