#include "builtin.hpp"

namespace tickflow::eps {

void register_builtins(Registry& registry) {
  register_ticks(registry);
  register_generate(registry);
  register_csv(registry);
  register_fields(registry);
  register_head_tail(registry);
  register_writers(registry);
  register_merge(registry);
  register_field_exprs(registry);
  register_rolling_stats(registry);
}

}  // namespace tickflow::eps
