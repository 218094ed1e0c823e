// Writing a plugin: a shared library that adds EPs to tickflow through the same API the
// built-in EPs use (ep.hpp, registry.hpp). A plugin defines one entry point:
//
//   #include <tickflow/plugin.hpp>
//
//   static void register_my_eps(tickflow::Registry& registry) { registry.add(...); }
//
//   extern "C" TICKFLOW_PLUGIN_EXPORT const tickflow::PluginInfo* tickflow_plugin_info() {
//     static const tickflow::PluginInfo info{tickflow::kPluginAbiVersion, "my_eps", "1.0",
//                                            &register_my_eps};
//     return &info;
//   }
//
// and is built with `find_package(tickflow)` + `tickflow_add_plugin(my_eps my_eps.cpp)`.
// It is loaded with `--plugin PATH`, a `plugins:` entry of a query, or TICKFLOW_PLUGIN_PATH.
//
// ABI policy: kPluginAbiVersion changes whenever a public header changes in a way that
// breaks plugins built against the previous headers: a changed class layout or virtual
// function table (Operator, BindContext, OutputSink, Batch, Column, Schema, ...), a changed
// signature, or a changed meaning of an existing call. Additions that keep layouts (a new
// free function, a new non-virtual member function) do not change it. The host refuses a
// plugin whose version differs from its own and names both versions.
#pragma once

#include "tickflow/ep.hpp"
#include "tickflow/registry.hpp"

#define TICKFLOW_PLUGIN_EXPORT __attribute__((visibility("default")))

namespace tickflow {

// The plugin ABI version of these headers.
constexpr int kPluginAbiVersion = 9;

// The name of the entry point every plugin defines (extern "C").
constexpr const char* kPluginEntryPoint = "tickflow_plugin_info";

struct PluginInfo {
  int abi_version;  // kPluginAbiVersion of the headers the plugin was built with
  const char* name;
  const char* version;
  void (*register_eps)(Registry& registry);  // adds the plugin's EPs; may throw
};

using PluginEntryPoint = const PluginInfo* (*)();

// Loads the plugin at `path` into `registry`; its EPs get the path as origin. Throws
// PluginError for a missing file, a file that is not a loadable shared library, a missing
// entry point, an ABI version mismatch, a duplicate EP name, or an exception thrown while
// registering. Libraries are never unloaded (their code may still run at exit).
void load_plugin(const std::string& path, Registry& registry);

// Loads every plugin named by TICKFLOW_PLUGIN_PATH: a ':'-separated list of files, or of
// directories whose *.so files are loaded in name order. Missing variable: nothing.
void load_plugins_from_environment(Registry& registry);

class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tickflow
