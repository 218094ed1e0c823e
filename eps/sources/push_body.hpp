// The body of a push request (SPEC §13: POST /v1/queries/{query}/push/{node}) as ticks of a
// push source's schema. CSV bodies go through the csv source's reader (RFC 4180 records,
// the same cell conversions and error messages); JSON-lines bodies hold one object per
// tick. Either way the columns are TIMESTAMP (optional: every tick then gets the receipt
// time) and fields of the schema, any subset in any order; a field left out, an empty CSV
// cell or a JSON null is the type's default (SPEC §11).
//
// A body is decoded whole before anything is applied: the first problem is reported with
// the 1-based row number of the tick (0 for the header or the body as a whole) and a
// location in the body, and nothing of the body is used.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tickflow/batch.hpp"
#include "tickflow/time.hpp"

namespace tickflow::eps {

enum class PushFormat { Csv, JsonLines };

struct PushBodyError {
  size_t row = 0;       // 1-based tick row; 0: the header or the whole body
  std::string message;  // "body:LINE:COL: ..." where a place is known
};

// Decodes `body` into `out` (a batch of `schema`). Ticks must be in non-decreasing time
// order and none earlier than `not_before` (the time the source has passed). Times written
// without an offset are read in `zone`, the query's (SPEC §17). Returns the problem, or
// nullopt when `out` holds every tick of the body.
std::optional<PushBodyError> decode_push_body(std::string_view body, PushFormat format,
                                              const SchemaPtr& schema, const TimeZone& zone,
                                              int64_t receipt_time, int64_t not_before, Batch& out);

}  // namespace tickflow::eps
