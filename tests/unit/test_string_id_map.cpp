// StringIdMap (eps/combine/string_id_map.hpp) against std::unordered_map on keys short and long,
// empty, sharing 8-byte prefixes, and enough of them to grow the table many times.
#include <doctest/doctest.h>

#include <string>
#include <unordered_map>

#include "combine/string_id_map.hpp"

using tickflow::eps::StringIdMap;

TEST_CASE("StringIdMap: ids agree with a reference map through growth") {
  StringIdMap map;
  std::unordered_map<std::string, uint32_t> reference;
  auto key_of = [](int i) {
    switch (i % 4) {
      case 0:
        return std::to_string(i);  // short
      case 1:
        return "PREFIX__" + std::to_string(i);  // long, shared 8-byte prefix
      case 2:
        return std::string(static_cast<size_t>(i % 9), 'x');  // lengths 0..8 of one char
      default:
        return std::string("A\0B", 3) + std::to_string(i);  // embedded NUL
    }
  };
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 5000; ++i) {
      const std::string key = key_of(i);
      bool added = false;
      const auto next = static_cast<uint32_t>(reference.size());
      const uint32_t id = map.find_or_add(key, next, added);
      auto [it, inserted] = reference.try_emplace(key, next);
      CHECK(added == inserted);
      CHECK(id == it->second);
    }
  }
  CHECK(map.size() == reference.size());
  for (const auto& [key, id] : reference) CHECK(map.find(key) == id);
  CHECK(map.find("absent key, long") == StringIdMap::kNone);
  CHECK(map.find("zz") == StringIdMap::kNone);
  CHECK(StringIdMap().find("") == StringIdMap::kNone);
}

TEST_CASE("StringIdMap: every short key is told apart by each of its bytes") {
  // All strings of length 0..9 over {a, b}: keys that differ in one position of any length.
  StringIdMap map;
  std::unordered_map<std::string, uint32_t> reference;
  for (size_t length = 0; length <= 9; ++length) {
    for (uint32_t bits = 0; bits < (1u << length); ++bits) {
      std::string key;
      for (size_t i = 0; i < length; ++i) key += (bits >> i) & 1 ? 'b' : 'a';
      bool added = false;
      const auto next = static_cast<uint32_t>(reference.size());
      CHECK(map.find_or_add(key, next, added) == next);
      CHECK(added);
      reference.emplace(key, next);
    }
  }
  for (const auto& [key, id] : reference) CHECK(map.find(key) == id);
}
