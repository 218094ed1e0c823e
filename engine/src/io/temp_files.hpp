// Temporary output files that exist right now, so that a signal handler can remove
// them when the process is interrupted (no half-written output survives Ctrl-C).
#pragma once

#include <string>

namespace tickflow::detail {

void track_temporary_file(const std::string& path);
void untrack_temporary_file(const std::string& path);
// Async-signal-safe: only unlink() and atomics.
void remove_tracked_temporary_files() noexcept;

}  // namespace tickflow::detail
