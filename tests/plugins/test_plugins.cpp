// Plugins used by tests/scripts/test_plugins.py to exercise every plugin error path.
// One source, built several times with a different PLUGIN_KIND each (see tests/CMakeLists.txt).
#include <stdexcept>

#include "tickflow/plugin.hpp"

namespace {

using namespace tickflow;

class ThrowingOperator : public Operator {
 public:
  void process(size_t, Batch&& batch, OutputSink& out) override {
    if (batch.size() > 0 && batch.times.back() >= 2'000'000) {
      throw std::runtime_error("plugin operator gave up on purpose");
    }
    out.emit(0, std::move(batch));
  }
};

EpDefinition pass_through(std::string name, bool throw_at_bind) {
  EpDefinition def;
  def.name = std::move(name);
  def.doc = "Test EP from a plugin.";
  def.inputs = {"in"};
  def.bind = [throw_at_bind](BindContext& ctx) -> OperatorFactory {
    if (throw_at_bind) throw std::runtime_error("plugin bind gave up on purpose");
    ctx.set_output(0, ctx.input(0).schema);
    return [](const RunContext&) { return std::make_unique<ThrowingOperator>(); };
  };
  return def;
}

[[maybe_unused]] void register_eps(Registry& registry) {
#if PLUGIN_KIND == 3
  registry.add(pass_through("keep", false));  // clashes with the built-in
#else
  registry.add(pass_through("explode_at_bind", true));
  registry.add(pass_through("explode_at_run", false));
#endif
}

}  // namespace

#if PLUGIN_KIND == 4  // kind 4: the entry point's name is a variable, not a function
extern "C" TICKFLOW_PLUGIN_EXPORT const char tickflow_plugin_info[] = "not code";
#elif PLUGIN_KIND != 2  // kind 2: no entry point at all
extern "C" TICKFLOW_PLUGIN_EXPORT const PluginInfo* tickflow_plugin_info() {
#if PLUGIN_KIND == 1
  static const PluginInfo info{kPluginAbiVersion + 41, "wrong_abi", "1.0", &register_eps};
#else
  static const PluginInfo info{kPluginAbiVersion, "test_plugin", "1.0", &register_eps};
#endif
  return &info;
}
#endif
