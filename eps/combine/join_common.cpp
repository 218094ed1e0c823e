#include "combine/join_common.hpp"

#include <map>
#include <set>

#include "tickflow/util.hpp"

namespace tickflow::eps {

std::optional<size_t> find_input(BindContext& ctx, const std::string& name, const Location& loc) {
  std::vector<std::string> names;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    const std::string& input = ctx.input(i).name;
    if (input == name) return i;
    names.push_back(input);
  }
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    const std::string& input = ctx.input(i).name;
    if (input.starts_with(name + ".")) return i;
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  ctx.error(loc,
            "'" + name + "' is not one of the inputs (" + list + ")" + did_you_mean(name, names));
  return std::nullopt;
}

namespace {

// The prefix of each input ("" for none) from `prefix`.
bool read_prefixes(BindContext& ctx, const std::vector<size_t>& order,
                   std::vector<std::string>& prefixes, std::vector<Location>& where) {
  prefixes.assign(ctx.input_count(), "");
  where.assign(ctx.input_count(), Location{});
  for (size_t i = 0; i < ctx.input_count(); ++i) where[i] = ctx.input(i).location;
  const ConfigNode* prefix = ctx.param("prefix");
  if (!prefix) return true;
  bool ok = true;
  auto valid = [&](const std::string& text, const Location& loc) {
    // The prefix is glued in front of field names, so it must start like a name.
    if (is_valid_name(text + "X")) return true;
    ctx.error(loc, "prefix '" + text +
                       "' would not give valid field names (use letters, digits "
                       "and _, not starting with a digit)");
    ok = false;
    return false;
  };
  if (prefix->is_scalar()) {
    const std::string text = ctx.substitute(prefix->text(), prefix->location());
    if (valid(text, prefix->location())) {
      for (size_t k = 1; k < order.size(); ++k) {
        prefixes[order[k]] = text;
        where[order[k]] = prefix->location();
      }
    }
    return ok;
  }
  if (!prefix->is_mapping()) {
    ctx.error(prefix->location(),
              "prefix must be a mapping such as {quotes: Q_} or one prefix, "
              "found a " +
                  std::string(prefix->kind_name()));
    return false;
  }
  for (const auto& entry : prefix->entries()) {
    auto input = find_input(ctx, entry.key, entry.key_location);
    if (!input) {
      ok = false;
      continue;
    }
    if (!entry.value.is_scalar()) {
      ctx.error(entry.value.location(),
                "the prefix of '" + entry.key + "' must be text such as Q_");
      ok = false;
      continue;
    }
    const std::string text = ctx.substitute(entry.value.text(), entry.value.location());
    if (valid(text, entry.value.location())) {
      prefixes[*input] = text;
      where[*input] = entry.value.location();
    }
  }
  return ok;
}

}  // namespace

bool plan_join_output(BindContext& ctx, const std::vector<size_t>& order,
                      std::string_view keys_param, JoinLayout& layout) {
  const size_t inputs = ctx.input_count();
  layout.key_columns.assign(inputs, {});
  layout.output_columns.assign(inputs, {});
  bool ok = true;

  std::set<std::string> key_names;
  if (const ConfigNode* keys = ctx.param(keys_param)) {
    std::vector<const ConfigNode*> items;
    if (keys->is_scalar()) items.push_back(keys);
    for (const auto& item : keys->items()) items.push_back(&item);
    for (const ConfigNode* item : items) {
      const std::string& name = item->text();
      if (name == "TIMESTAMP") {
        ctx.error(item->location(), "TIMESTAMP cannot be a key here");
        ok = false;
        continue;
      }
      if (!key_names.insert(name).second) {
        ctx.error(item->location(), "key " + name + " is listed twice");
        ok = false;
        continue;
      }
      std::optional<Type> type;
      size_t typed_input = 0;
      for (size_t i : order) {
        auto column = ctx.require_field(i, name, item->location());
        if (!column) {
          ok = false;
          continue;
        }
        layout.key_columns[i].push_back(*column);
        const Type here = (*ctx.input(i).schema)[*column].type;
        if (!type) {
          type = here;
          typed_input = i;
        } else if (here != *type) {
          ctx.error(item->location(), "key " + name + " is " + std::string(type_name(*type)) +
                                          " in '" + ctx.input(typed_input).name + "' but " +
                                          std::string(type_name(here)) + " in '" +
                                          ctx.input(i).name + "'");
          ok = false;
        }
      }
    }
  }

  std::vector<std::string> prefixes;
  std::vector<Location> prefix_where;
  ok &= read_prefixes(ctx, order, prefixes, prefix_where);

  std::vector<Field> fields;
  std::map<std::string, std::pair<size_t, std::string>> owner;  // output name -> (input, field)
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    const Schema& schema = *ctx.input(i).schema;
    for (size_t c = 0; c < schema.size(); ++c) {
      const Field& field = schema[c];
      const bool is_key = key_names.contains(field.name);
      if (is_key && k > 0) continue;  // keys appear once, as the first input's
      const std::string name = is_key ? field.name : prefixes[i] + field.name;
      auto [it, added] = owner.try_emplace(name, i, field.name);
      if (!added) {
        const auto& [other, other_field] = it->second;
        const std::string& input_name = ctx.input(i).name;
        std::string suggestion = input_name.substr(0, input_name.find('.'));
        const std::string fix = prefixes[i].empty()
                                    ? "rename one side with prefix, e.g. prefix: {" + suggestion +
                                          ": " + suggestion + "_}"
                                    : "choose another prefix";
        ctx.error(prefix_where[i],
                  "field '" + name + "' of input '" + input_name + "'" +
                      (name == field.name ? "" : " (from '" + field.name + "')") +
                      " clashes with field '" + name + "' of input '" + ctx.input(other).name +
                      "'" + (other_field == name ? "" : " (from '" + other_field + "')") + "; " +
                      fix);
        ok = false;
        continue;
      }
      layout.output_columns[i].push_back(c);
      fields.push_back({name, field.type});
    }
  }
  layout.schema = make_schema(std::move(fields));
  return ok;
}

}  // namespace tickflow::eps
