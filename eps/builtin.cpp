#include "builtin.hpp"

namespace tickflow::eps {

void register_builtins(Registry& registry) {
  register_ticks(registry);
  register_generate(registry);
  register_csv(registry);
  register_db(registry);
  register_push(registry);
  register_fields(registry);
  register_head_tail(registry);
  register_fill_forward(registry);
  register_writers(registry);
  register_merge(registry);
  register_add_update_field(registry);
  register_where(registry);
  register_rolling_stats(registry);
  register_order_by(registry);
  register_update_timestamp(registry);
  register_join_by_time(registry);
  register_join(registry);
  register_aggregate(registry);
  register_select_ticks(registry);
  register_set_state(registry);
  register_state_insert_erase(registry);
  register_state_dump(registry);
}

}  // namespace tickflow::eps
