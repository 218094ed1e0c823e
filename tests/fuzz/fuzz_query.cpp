// Fuzz target: the YAML loader and the binder (load_query_text with every built-in EP).
// Any input must give a query or located diagnostics, never a crash, hang or unbounded
// memory. The query is loaded, not run.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "builtin.hpp"
#include "tickflow/query.hpp"
#include "tickflow/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tickflow::Registry registry = [] {
    tickflow::Registry r;
    tickflow::eps::register_builtins(r);
    return r;
  }();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Loading binds `plugins:` (dlopen) and opens data files: keep the fuzzer away from
  // loading arbitrary system libraries and from device files that never end (/dev/stdin).
  for (std::string_view word : {"plugins", "/dev/", "/proc/", "/sys/"}) {
    if (text.find(word) != std::string_view::npos) return 0;
  }
  tickflow::Diagnostics diags;
  // Relative paths resolve against a directory that does not exist.
  auto query = tickflow::load_query_text(text, "/nonexistent-fuzz-dir/q.yaml", registry, {}, diags);
  if (!query && !diags.has_errors()) __builtin_trap();  // a failure must say why
  return 0;
}
