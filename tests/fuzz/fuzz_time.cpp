// Fuzz target: the time and duration parsers. Whatever parses must format and parse back
// to the same value (times print with nanoseconds in UTC).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tickflow/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tickflow;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = parse_time_text(text)) {
    const std::string printed = format_time(*t);
    auto again = parse_time_text(printed);
    if (!again || *again != *t) __builtin_trap();
  }
  (void)parse_time_or_nanos(text);
  (void)parse_duration(text);
  (void)time_range_hint(text);
  return 0;
}
