// Fuzz target: what the archive reader trusts least — the bytes it reads back from disk.
// The first byte picks what the rest is: a manifest or catalog JSON document (parsed
// without its checksum line, which a fuzzer could not forge), a zstd frame, or an
// encoded column chunk of some type and row count. Damage must be a RuntimeError or a
// false return, never a crash or an allocation the size of a corrupt length field.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "archive/format.hpp"
#include "archive/manifest.hpp"
#include "tickflow/diagnostics.hpp"

using namespace tickflow;
using namespace tickflow::archive;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t what = data[0] % 4;
  const size_t rows = static_cast<size_t>(data[1]) * 17 + data[2];  // 0 .. 4350
  const std::string_view bytes(reinterpret_cast<const char*>(data + 3), size - 3);
  try {
    switch (what) {
      case 0: {
        const auto json = nlohmann::json::parse(bytes, nullptr, false);
        if (!json.is_discarded()) (void)format::manifest_from_json(json, "fuzz/manifest.json");
        break;
      }
      case 1: {
        const auto json = nlohmann::json::parse(bytes, nullptr, false);
        if (!json.is_discarded()) (void)format::catalog_from_json(json, "fuzz/catalog.json");
        break;
      }
      case 2: {
        std::string raw;
        (void)format::decompress(bytes, rows * 64, raw);
        break;
      }
      default: {
        static const Type kTypes[] = {Type::Int,    Type::Double, Type::Bool,
                                      Type::String, Type::Time,   Type::Duration};
        Column column(kTypes[data[1] % 6]);
        (void)format::decode_column(bytes, rows, column);
        break;
      }
    }
  } catch (const RuntimeError&) {
  }
  return 0;
}
