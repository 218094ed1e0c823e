#include "tickflow/ep_helpers.hpp"

#include <string>

namespace tickflow {

bool require_time_ordered(BindContext& ctx, size_t input, std::string_view why) {
  const InputInfo& info = ctx.input(input);
  if (info.time_ordered) return true;
  const Location& where = info.location.known() ? info.location : ctx.node_location();
  ctx.error(where, "input '" + info.name + "' is not in time order (an EP such as order_by " +
                       "upstream reorders ticks), but '" + ctx.node_id() + "' needs time order: " +
                       std::string(why) + "; restore it with update_timestamp (to: TIMESTAMP) " +
                       "between '" + info.name + "' and '" + ctx.node_id() + "'");
  return false;
}

std::vector<const ConfigNode*> list_items(const ConfigNode* list) {
  std::vector<const ConfigNode*> items;
  if (!list) return items;
  if (list->is_sequence()) {
    for (const auto& item : list->items()) items.push_back(&item);
  } else {
    items.push_back(list);  // a scalar, or something the caller reports as not a list item
  }
  return items;
}

}  // namespace tickflow
