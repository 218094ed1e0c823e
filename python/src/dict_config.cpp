#include "dict_config.hpp"

#include <cmath>

namespace py = pybind11;

namespace tickflow::python {

Location KeyPaths::add(const std::string& path, int column) {
  paths.push_back(path.empty() ? "(the query dict)" : path);
  return Location{kDictFile, static_cast<int>(paths.size() - 1), column};
}

std::optional<std::string> KeyPaths::path_of(const Location& location) const {
  if (location.file != kDictFile || location.line <= 0) return std::nullopt;
  if (static_cast<size_t>(location.line) >= paths.size()) return paths[1];
  return paths[static_cast<size_t>(location.line)];
}

namespace {

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string type_name_of(py::handle value) {
  return py::str(py::type::handle_of(value).attr("__qualname__"));
}

// Shortest round-trip text of a double, with the query format's spellings of non-finite
// values.
std::string double_text(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return py::str(py::repr(py::float_(value)));
}

class Converter {
 public:
  Converter(KeyPaths& paths, const ConvertOther& other, Diagnostics& diags)
      : paths_(paths), other_(other), diags_(diags) {}

  ConfigNode convert(py::handle value, const std::string& path) {
    ConfigNode node;
    if (value.is_none()) {
      node.set_location(paths_.add(path, 1));
      return node;
    }
    if (py::isinstance<py::dict>(value)) {
      node.set_kind(ConfigNode::Kind::Mapping);
      node.set_location(paths_.add(path, 0));
      for (auto item : py::reinterpret_borrow<py::dict>(value)) {
        if (!py::isinstance<py::str>(item.first)) {
          diags_.error(paths_.add(path, 0), "key " + std::string(py::str(py::repr(item.first))) +
                                                " is a " + type_name_of(item.first) +
                                                "; keys must be strings");
          continue;
        }
        std::string key = py::str(item.first);
        std::string child = join(path, key);
        ConfigNode::Entry entry;
        entry.key = key;
        entry.value = convert(item.second, child);
        entry.key_location = entry.value.location();
        entry.key_location.column = 0;
        node.mutable_entries().push_back(std::move(entry));
      }
      return node;
    }
    if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
      node.set_kind(ConfigNode::Kind::Sequence);
      node.set_location(paths_.add(path, 0));
      size_t i = 0;
      for (auto item : py::reinterpret_borrow<py::sequence>(value)) {
        node.mutable_items().push_back(convert(item, path + "[" + std::to_string(i++) + "]"));
      }
      return node;
    }
    if (py::isinstance<py::str>(value)) {
      std::string text = py::str(value);
      // Text of several lines: one key-path entry per line, as the engine counts lines on.
      Location location = paths_.add(path, 0);
      for (char c : text) {
        if (c == '\n') paths_.add(path, 0);
      }
      return ConfigNode::scalar(std::move(text), location, true);
    }
    if (py::isinstance<py::bool_>(value)) {
      return ConfigNode::scalar(value.cast<bool>() ? "true" : "false", paths_.add(path, 1));
    }
    if (py::isinstance<py::int_>(value)) {
      return ConfigNode::scalar(py::str(value), paths_.add(path, 1));
    }
    if (py::isinstance<py::float_>(value)) {
      return ConfigNode::scalar(double_text(value.cast<double>()), paths_.add(path, 1));
    }
    if (auto text = other_(value, path)) return ConfigNode::scalar(*text, paths_.add(path, 1));
    diags_.error(paths_.add(path, 0),
                 "a value of type " + type_name_of(value) +
                     " has no meaning in a query (use dicts, lists, str, int, float, bool, "
                     "None, timestamps, timedeltas or DataFrames)");
    return node;
  }

 private:
  KeyPaths& paths_;
  const ConvertOther& other_;
  Diagnostics& diags_;
};

}  // namespace

ConfigNode config_from_dict(py::handle root, KeyPaths& paths, const ConvertOther& other,
                            Diagnostics& diags) {
  Converter converter(paths, other, diags);
  return converter.convert(root, "");
}

}  // namespace tickflow::python
