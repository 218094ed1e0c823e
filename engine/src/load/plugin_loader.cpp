#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "tickflow/plugin.hpp"

namespace tickflow {

void load_plugin(const std::string& path, Registry& registry) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw PluginError("plugin not found: " + path);
  if (std::filesystem::is_directory(path, ec)) {
    throw PluginError("plugin path is a directory, not a shared library: " + path);
  }
  // A relative path without '/' would make dlopen search the library path instead.
  std::string open_path = path.find('/') == std::string::npos ? "./" + path : path;
  // RTLD_LOCAL keeps plugins from seeing each other's symbols; never dlclose: code of the
  // plugin (thread_local destructors, registered operators) may run until exit.
  void* handle = dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw PluginError("cannot load plugin " + path + ": not a loadable shared library (" +
                      (why ? why : "unknown reason") + ")");
  }
  dlerror();
  void* symbol = dlsym(handle, kPluginEntryPoint);
  if (!symbol) {
    throw PluginError("plugin " + path + " has no entry point '" + kPluginEntryPoint +
                      "' (define extern \"C\" const tickflow::PluginInfo* " + kPluginEntryPoint +
                      "(); see docs/plugins.md)");
  }
  // Calling a symbol that names data (a variable of that name) would jump into it; the
  // ELF symbol table says what the symbol is.
  Dl_info symbol_info;
  void* symbol_entry = nullptr;
  if (dladdr1(symbol, &symbol_info, &symbol_entry, RTLD_DL_SYMENT) == 0 || !symbol_entry ||
      (ELF64_ST_TYPE(static_cast<const ElfW(Sym)*>(symbol_entry)->st_info) != STT_FUNC &&
       ELF64_ST_TYPE(static_cast<const ElfW(Sym)*>(symbol_entry)->st_info) != STT_GNU_IFUNC)) {
    throw PluginError("plugin " + path + ": its entry point '" + kPluginEntryPoint +
                      "' is not a function (define extern \"C\" const tickflow::PluginInfo* " +
                      kPluginEntryPoint + "(); see docs/plugins.md)");
  }
  auto entry = reinterpret_cast<PluginEntryPoint>(symbol);
  const PluginInfo* info = nullptr;
  try {
    info = entry();
  } catch (const std::exception& e) {
    throw PluginError("plugin " + path + ": its entry point threw: " + e.what());
  } catch (...) {
    throw PluginError("plugin " + path + ": its entry point threw an exception");
  }
  if (!info) throw PluginError("plugin " + path + ": its entry point returned no information");
  if (info->abi_version != kPluginAbiVersion) {
    throw PluginError("plugin " + path + " was built for plugin ABI version " +
                      std::to_string(info->abi_version) + ", but this tickflow has ABI version " +
                      std::to_string(kPluginAbiVersion) + "; rebuild it against this tickflow");
  }
  if (!info->register_eps) throw PluginError("plugin " + path + " registers no EPs");
  registry.set_origin(path);
  try {
    info->register_eps(registry);
  } catch (const std::exception& e) {
    registry.set_origin("");
    throw PluginError("plugin " + path + ": " + e.what());
  } catch (...) {
    registry.set_origin("");
    throw PluginError("plugin " + path + ": an exception was thrown while registering its EPs");
  }
  registry.set_origin("");
}

void load_plugins_from_environment(Registry& registry) {
  const char* value = std::getenv("TICKFLOW_PLUGIN_PATH");
  if (!value || !*value) return;
  std::string list = value;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(':', start);
    if (end == std::string::npos) end = list.size();
    std::string entry = list.substr(start, end - start);
    start = end + 1;
    if (entry.empty()) continue;
    std::error_code ec;
    if (std::filesystem::is_directory(entry, ec)) {
      std::vector<std::string> libraries;
      for (const auto& file : std::filesystem::directory_iterator(entry, ec)) {
        if (file.path().extension() == ".so") libraries.push_back(file.path().string());
      }
      std::sort(libraries.begin(), libraries.end());
      for (const auto& library : libraries) load_plugin(library, registry);
    } else {
      load_plugin(entry, registry);
    }
  }
}

}  // namespace tickflow
