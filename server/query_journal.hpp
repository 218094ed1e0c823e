// Records of the standing queries' journal (`tickflow serve --journal DIR`, SPEC §13 with the
// journal of §12): DIR/queries/<query name as hex>.journal in the format of journal.hpp, with
// raw 8-byte words. Every accepted push is recorded with its body as sent, its format and
// its receipt time, every advance with its time, in the order they were applied; decoding a
// body is deterministic given the receipt time, so replaying the records through a fresh
// query gives the same ticks, state and latest ticks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sources/push_body.hpp"

namespace tickflow::server {

struct QueryRecord {
  enum class Kind : uint8_t { Push = 1, Advance = 2 };
  Kind kind = Kind::Push;
  eps::PushFormat format = eps::PushFormat::Csv;
  std::string node;
  std::string symbol;  // advance: "" for every symbol of a query with symbols
  int64_t time = 0;    // push: the receipt time; advance: the time passed
  std::string body;    // push only
};

// The record as words: its byte length, then the bytes, padded to a whole word.
std::vector<double> encode_query_record(const QueryRecord& record);
// nullopt when the words are not a record this server wrote.
std::optional<QueryRecord> decode_query_record(std::span<const double> words);

}  // namespace tickflow::server
