// The EP registry: a name -> EpDefinition table. Built-in EPs and plugins add their
// definitions explicitly; nothing in the engine knows an EP by name.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tickflow/ep.hpp"

namespace tickflow {

class Registry {
 public:
  // Adds a definition. Throws std::invalid_argument for a duplicate or invalid name,
  // or a parameter spec whose default does not parse. Unless the definition names its
  // `source`, it is the file that calls add (relative to the source tree for built-in EPs),
  // or for a plugin the library's path. (__builtin_FILE, which GCC and Clang evaluate at the
  // call site, rather than std::source_location: libstdc++'s needs Clang 15 or later.)
  void add(EpDefinition definition, const char* caller_file = __builtin_FILE());
  const EpDefinition* find(std::string_view name) const;
  // All definitions, sorted by name.
  std::vector<const EpDefinition*> all() const;
  std::vector<std::string> names() const;

  // While set (non-empty), definitions added get this origin (a plugin's path) instead of
  // the one they carry. Used by the plugin loader.
  void set_origin(std::string origin) { origin_ = std::move(origin); }

 private:
  std::map<std::string, EpDefinition, std::less<>> definitions_;
  std::string origin_;
};

}  // namespace tickflow
