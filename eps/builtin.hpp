// Registration of the built-in EPs. Each function lives in the file of its EP family
// and adds its definitions through the same public API a plugin uses.
#pragma once

#include "tickflow/registry.hpp"

namespace tickflow::eps {

// `tickflow eps NAME` prints the file each EP is registered from.
void register_ticks(Registry& registry);             // sources/ticks.cpp
void register_generate(Registry& registry);          // sources/generate.cpp
void register_csv(Registry& registry);               // sources/csv.cpp
void register_db(Registry& registry);                // sources/db.cpp: the tick archive
void register_push(Registry& registry);              // sources/push.cpp: standing queries
void register_fields(Registry& registry);            // fields/keep_drop_rename.cpp
void register_head_tail(Registry& registry);         // fields/head_tail.cpp: head, tail
void register_fill_forward(Registry& registry);      // fields/fill_forward.cpp
void register_add_update_field(Registry& registry);  // fields/add_update_field.cpp
void register_where(Registry& registry);             // fields/where.cpp
void register_writers(Registry& registry);           // output/write_csv_jsonl.cpp
void register_merge(Registry& registry);             // combine/merge.cpp
void register_join_by_time(Registry& registry);      // combine/join_by_time.cpp
void register_join(Registry& registry);              // combine/join.cpp
void register_order_by(Registry& registry);          // order/order_by.cpp
void register_update_timestamp(Registry& registry);  // order/update_timestamp.cpp
void register_rolling_stats(Registry& registry);     // rolling/rolling_stats.cpp
void register_aggregate(Registry& registry);         // aggregate/aggregate_bind.cpp
// aggregate/first_last_high_low_tick.cpp
void register_select_ticks(Registry& registry);
void register_set_state(Registry& registry);           // state/set_state.cpp
void register_state_insert_erase(Registry& registry);  // state/state_insert_erase.cpp
void register_state_dump(Registry& registry);          // state/state_dump.cpp

// Registers every built-in EP.
void register_builtins(Registry& registry);

}  // namespace tickflow::eps
