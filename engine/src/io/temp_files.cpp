#include "io/temp_files.hpp"

#include "tickflow/tick_writer.hpp"

#include <unistd.h>

#include <atomic>
#include <cstring>

namespace tickflow::detail {
namespace {

// Fixed slots instead of a container: a signal handler may run at any moment and must
// neither allocate nor take locks. Paths longer than a slot are not tracked (they are
// still removed on normal failure paths).
constexpr size_t kSlots = 256;
constexpr size_t kPathBytes = 4096;

struct Slot {
  std::atomic<int> state{0};  // 0 free, 1 being written, 2 holds a path
  char path[kPathBytes];
};

Slot slots[kSlots];

}  // namespace

void track_temporary_file(const std::string& path) {
  if (path.size() >= kPathBytes) return;
  for (Slot& slot : slots) {
    int expected = 0;
    if (slot.state.compare_exchange_strong(expected, 1)) {
      std::memcpy(slot.path, path.c_str(), path.size() + 1);
      slot.state.store(2);
      return;
    }
  }
}

void untrack_temporary_file(const std::string& path) {
  for (Slot& slot : slots) {
    if (slot.state.load() == 2 && path == slot.path) {
      slot.state.store(0);
      return;
    }
  }
}

void remove_tracked_temporary_files() noexcept {
  for (Slot& slot : slots) {
    if (slot.state.load() == 2) ::unlink(slot.path);
  }
}

}  // namespace tickflow::detail

namespace tickflow {
void remove_unfinished_output_files() noexcept {
  detail::remove_tracked_temporary_files();
}
}  // namespace tickflow
