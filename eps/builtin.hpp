// Registration of the built-in EPs. Each function lives in the file of its EP family
// and adds its definitions through the same public API a plugin uses.
#pragma once

#include "tickflow/registry.hpp"

namespace tickflow::eps {

void register_ticks(Registry& registry);          // ticks.cpp
void register_generate(Registry& registry);       // generate.cpp
void register_csv(Registry& registry);            // csv_source.cpp
void register_db(Registry& registry);             // db.cpp: the tick archive
void register_fields(Registry& registry);         // fields.cpp: keep, drop, rename
void register_head_tail(Registry& registry);      // head_tail.cpp: head, tail
void register_fill_forward(Registry& registry);   // fill_forward.cpp
void register_writers(Registry& registry);        // writers.cpp: write_csv, write_jsonl
void register_merge(Registry& registry);          // merge.cpp
void register_field_exprs(Registry& registry);    // field_exprs.cpp: add_field, update_field, where
void register_rolling_stats(Registry& registry);  // rolling_stats.cpp
void register_order_by(Registry& registry);       // order_by.cpp
void register_update_timestamp(Registry& registry);  // update_timestamp.cpp
void register_join_by_time(Registry& registry);      // join_by_time.cpp
void register_join(Registry& registry);              // join.cpp
void register_aggregate(Registry& registry);         // aggregate_bind.cpp
void register_select_ticks(
    Registry& registry);  // select_ticks.cpp: first_tick, last_tick, high_tick, low_tick
// State variables (SPEC §6): set_state.cpp, state_insert_erase.cpp (state_insert and
// state_erase), state_dump.cpp.
void register_set_state(Registry& registry);
void register_state_insert_erase(Registry& registry);
void register_state_dump(Registry& registry);

// Registers every built-in EP.
void register_builtins(Registry& registry);

}  // namespace tickflow::eps
