// TaskHandoff: tells ThreadSanitizer where work passes to and from oneTBB tasks.
//
// Debian's libtbb is not built with ThreadSanitizer, so the synchronisation inside it — a
// task spawned on one thread and run on another, wait() returning after the tasks have
// finished — is invisible to TSan, which then reports every hand-off of plain data through
// a task as a race. The engine marks the hand-offs it relies on: before_spawn() before
// giving work to oneTBB and task_started() as the very first statement of the task;
// task_finished() last in the task and after_wait() once the wait for the tasks has
// returned. These are the happens-before edges oneTBB guarantees. Spawns share one address
// for the whole process: a task must acquire before it reads anything, even its own lambda
// captures (which oneTBB copied on the spawning thread), so it cannot look up a more
// specific one. Finishes are per object, so races between tasks of one wait stay visible.
// Without ThreadSanitizer every call compiles to nothing.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define TICKFLOW_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TICKFLOW_TSAN 1
#endif
#endif

#ifdef TICKFLOW_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace tickflow::detail {

class TaskHandoff {
 public:
  static void before_spawn() { release(&spawned_); }
  static void task_started() { acquire(&spawned_); }
  void task_finished() { release(&finished_); }
  void after_wait() { acquire(&finished_); }

 private:
#ifdef TICKFLOW_TSAN
  static void release(char* sync) {
    __tsan_release(sync);
  }
  static void acquire(char* sync) {
    __tsan_acquire(sync);
  }
#else
  static void release(char*) {}
  static void acquire(char*) {}
#endif
  inline static char spawned_ = 0;
  char finished_ = 0;
};

}  // namespace tickflow::detail
