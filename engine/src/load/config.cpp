#include "tickflow/config.hpp"

#include <map>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace tickflow {

ConfigNode ConfigNode::scalar(std::string text, Location loc, bool quoted) {
  ConfigNode node;
  node.kind_ = Kind::Scalar;
  node.text_ = std::move(text);
  node.quoted_ = quoted;
  node.location_ = std::move(loc);
  return node;
}

std::string_view ConfigNode::kind_name() const {
  switch (kind_) {
    case Kind::Null:
      return "null";
    case Kind::Scalar:
      return "scalar";
    case Kind::Sequence:
      return "list";
    case Kind::Mapping:
      return "mapping";
  }
  return "?";
}

const ConfigNode::Entry* ConfigNode::find_entry(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

const ConfigNode* ConfigNode::find(std::string_view key) const {
  const Entry* e = find_entry(key);
  return e ? &e->value : nullptr;
}

namespace {

// Aliases are expanded by copying their anchor's tree. A few nested aliases in a small
// file could make that copy exponentially large (the "billion laughs" attack), so the
// total of nodes aliases may add is capped; real queries come nowhere near it.
constexpr size_t kMaxAliasExpansion = 100'000;

// Thrown to stop the parser at a reported error.
struct StopParse {};

// Builds ConfigNodes from yaml-cpp parser events. The event API is used instead of
// YAML::Node because Node silently keeps only the last of duplicate keys, and we must
// report them with both locations.
class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(std::string file, Diagnostics& diags) : file_(std::move(file)), diags_(diags) {}

  ConfigNode take_root() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents_++ == 0) return;
    diags_.error(loc(mark),
                 "a second YAML document: a query file holds one document (remove the '---' "
                 "line or split the file)");
    throw StopParse{};
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    ConfigNode node;
    node.set_location(loc(mark));
    add(std::move(node), anchor, 1);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      diags_.error(loc(mark), "unknown YAML alias");
      add(ConfigNode(), 0, 1);
      return;
    }
    const size_t size = it->second.size;
    if (size > kMaxAliasExpansion - alias_nodes_) {
      diags_.error(loc(mark), "YAML aliases expand to more than " +
                                  std::to_string(kMaxAliasExpansion) +
                                  " nodes (aliases nested in aliases?)");
      throw StopParse{};
    }
    alias_nodes_ += size;
    ConfigNode copy = it->second.node;
    add(std::move(copy), 0, size);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    // yaml-cpp tags quoted scalars with the non-specific tag "!" and plain ones with "?";
    // !!str makes a plain scalar a string, like quotes.
    const bool quoted = tag == "!" || tag == kStringTag;
    if (!quoted) check_tag(mark, tag);
    add(ConfigNode::scalar(value, loc(mark), quoted), anchor, 1);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    check_tag(mark, tag);
    ConfigNode node;
    node.set_kind(ConfigNode::Kind::Sequence);
    node.set_location(loc(mark));
    stack_.push_back({std::move(node), anchor, false, {}, {}});
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    check_tag(mark, tag);
    ConfigNode node;
    node.set_kind(ConfigNode::Kind::Mapping);
    node.set_location(loc(mark));
    stack_.push_back({std::move(node), anchor, false, {}, {}});
  }
  void OnMapEnd() override { close(); }

 private:
  static constexpr std::string_view kStringTag = "tag:yaml.org,2002:str";

  struct Open {
    ConfigNode node;
    YAML::anchor_t anchor;
    bool have_key;  // mappings: a key was read and waits for its value
    ConfigNode key;
    std::map<std::string, Location> seen_keys;
    size_t size = 1;  // nodes in this subtree so far, itself included
  };
  struct Anchored {
    ConfigNode node;
    size_t size;
  };

  Location loc(const YAML::Mark& mark) const { return {file_, mark.line + 1, mark.column + 1}; }

  // A tag would change what a value means; one that is not understood must not be dropped.
  void check_tag(const YAML::Mark& mark, const std::string& tag) {
    if (tag.empty() || tag == "?" || tag == "!") return;
    diags_.error(loc(mark), "unsupported YAML tag '" + tag +
                                "' (only !!str is understood; quote the value instead)");
  }

  void close() {
    Open open = std::move(stack_.back());
    stack_.pop_back();
    add(std::move(open.node), open.anchor, open.size);
  }

  void add(ConfigNode node, YAML::anchor_t anchor, size_t size) {
    if (anchor != 0) anchors_[anchor] = {node, size};
    if (!stack_.empty()) stack_.back().size += size;
    if (stack_.empty()) {
      root_ = std::move(node);
      return;
    }
    Open& top = stack_.back();
    if (top.node.is_sequence()) {
      top.node.mutable_items().push_back(std::move(node));
      return;
    }
    if (!top.have_key) {
      if (!node.is_scalar()) {
        diags_.error(node.location(),
                     "mapping keys must be plain names, not a " + std::string(node.kind_name()));
        node = ConfigNode::scalar("?", node.location());
      }
      top.key = std::move(node);
      top.have_key = true;
      return;
    }
    top.have_key = false;
    const std::string& key = top.key.text();
    auto [it, inserted] = top.seen_keys.emplace(key, top.key.location());
    if (!inserted) {
      diags_.error(top.key.location(),
                   "duplicate key '" + key + "' (first given at " + it->second.to_string() + ")");
      return;
    }
    top.node.mutable_entries().push_back({key, top.key.location(), std::move(node)});
  }

  std::string file_;
  Diagnostics& diags_;
  std::vector<Open> stack_;
  std::map<YAML::anchor_t, Anchored> anchors_;
  size_t alias_nodes_ = 0;  // nodes added by expanding aliases
  int documents_ = 0;
  ConfigNode root_;
};

}  // namespace

ConfigNode parse_yaml(std::string_view text, const std::string& file_name, Diagnostics& diags) {
  std::istringstream in{std::string(text)};
  TreeBuilder builder(file_name, diags);
  try {
    YAML::Parser parser(in);
    parser.HandleNextDocument(builder);
    // A second document would be silently ignored: read on so that its start is reported.
    parser.HandleNextDocument(builder);
  } catch (const StopParse&) {
    return ConfigNode();
  } catch (const YAML::Exception& e) {
    // The usual cause of these is an unquoted expression, so say how to fix it.
    std::string hint;
    if (e.msg == "illegal map value") {
      hint = " (a value holding ': ', such as an expression, must be quoted)";
    } else if (e.msg == "end of map flow not found" || e.msg == "end of sequence flow not found") {
      hint =
          " (inside { } or [ ], a value holding '[', ']', '{', '}' or ',', such as an "
          "expression with X[-1], must be quoted)";
    }
    diags.error({file_name, e.mark.line + 1, e.mark.column + 1}, "invalid YAML: " + e.msg + hint);
    return ConfigNode();
  }
  return builder.take_root();
}

}  // namespace tickflow
