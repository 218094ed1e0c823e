// A Python dict in the shape of a query file -> the engine's ConfigNode tree, with every
// node located by its key path ("nodes.big.if") so that errors point into the dict.
#pragma once

#include <pybind11/pybind11.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tickflow/config.hpp"
#include "tickflow/diagnostics.hpp"

namespace tickflow::python {

// The file name locations of a dict-built query carry.
inline constexpr const char* kDictFile = "<dict>";

// Key paths of a tree built from a dict. A node's Location has file kDictFile, line = an
// index into `paths` (1 = the dict itself) and column 0 for text values, so that a column
// the engine computes inside an expression is the 1-based position in that text.
struct KeyPaths {
  std::vector<std::string> paths{"", "(the query dict)"};

  Location add(const std::string& path, int column);
  // The key path a location points at, or nullopt when it is not a dict location.
  std::optional<std::string> path_of(const Location& location) const;
};

// Turns a value the converter does not know (a DataFrame, a timestamp, ...) into the
// scalar text it stands for, or returns nullopt for an unsupported value.
using ConvertOther =
    std::function<std::optional<std::string>(pybind11::handle value, const std::string& path)>;

// Converts `root`; problems (non-text keys, unsupported values) go to `diags`.
ConfigNode config_from_dict(pybind11::handle root, KeyPaths& paths, const ConvertOther& other,
                            Diagnostics& diags);

}  // namespace tickflow::python
