// The parsed query file: a YAML-like tree in which every node, key and value keeps
// its file:line:col. EP parameters reach factories in this form, so plugins never
// depend on the YAML library.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tickflow/diagnostics.hpp"

namespace tickflow {

class ConfigNode {
 public:
  enum class Kind { Null, Scalar, Sequence, Mapping };
  struct Entry;

  ConfigNode() = default;
  static ConfigNode scalar(std::string text, Location loc, bool quoted = false);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_scalar() const { return kind_ == Kind::Scalar; }
  bool is_sequence() const { return kind_ == Kind::Sequence; }
  bool is_mapping() const { return kind_ == Kind::Mapping; }
  // "null", "scalar", "list", "mapping" — for error messages.
  std::string_view kind_name() const;

  const Location& location() const { return location_; }
  // Scalar text as written (without quotes). Empty for non-scalars.
  const std::string& text() const { return text_; }
  // True when the scalar was quoted in the file (so "123" is a string, not a number).
  bool quoted() const { return quoted_; }

  const std::vector<ConfigNode>& items() const { return items_; }
  const std::vector<Entry>& entries() const { return entries_; }
  // The value under `key` in a mapping, or nullptr.
  const ConfigNode* find(std::string_view key) const;
  const Entry* find_entry(std::string_view key) const;

  // Builders used by the loader.
  void set_kind(Kind k) { kind_ = k; }
  void set_location(Location loc) { location_ = std::move(loc); }
  std::vector<ConfigNode>& mutable_items() { return items_; }
  std::vector<Entry>& mutable_entries() { return entries_; }

 private:
  Kind kind_ = Kind::Null;
  Location location_;
  std::string text_;
  bool quoted_ = false;
  std::vector<ConfigNode> items_;
  std::vector<Entry> entries_;
};

struct ConfigNode::Entry {
  std::string key;
  Location key_location;
  ConfigNode value;
};

// Parses YAML text into a ConfigNode tree. Duplicate keys in a mapping, YAML syntax
// errors and unsupported constructs are reported to `diags`; returns a Null node then.
ConfigNode parse_yaml(std::string_view text, const std::string& file_name, Diagnostics& diags);

}  // namespace tickflow
