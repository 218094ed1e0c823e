#include "query_object.hpp"

#include <pybind11/stl.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "builtin.hpp"
#include "frames.hpp"
#include "tickflow/explain.hpp"
#include "tickflow/plugin.hpp"
#include "tickflow/util.hpp"

namespace py = pybind11;

namespace tickflow::python {
namespace {

// Raises the exception object `factory(argument)` of tickflow._errors.
[[noreturn]] void raise_from(const char* factory, const py::object& argument) {
  py::object error = py::module_::import("tickflow._errors").attr(factory)(argument);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
  throw py::error_already_set();
}

struct TableDirectory {
  std::mutex mutex;
  std::unordered_map<std::string, std::weak_ptr<const eps::TickTable>> tables;
  uint64_t next = 1;
};

TableDirectory& table_directory() {
  static TableDirectory directory;
  return directory;
}

std::shared_ptr<const eps::TickTable> find_table(const std::string& handle) {
  TableDirectory& directory = table_directory();
  std::lock_guard lock(directory.mutex);
  auto it = directory.tables.find(handle);
  return it == directory.tables.end() ? nullptr : it->second.lock();
}

}  // namespace

const Registry& python_registry() {
  static const Registry registry = [] {
    Registry r;
    eps::register_builtins(r);
    r.add(eps::make_table_source(
        "dataframe",
        "A pandas DataFrame as a source (Python package). Its TIMESTAMP column (or "
        "DatetimeIndex) gives the ticks' times, every other column a field of the matching "
        "type; rows must be in time order. In a run with symbols a SYMBOL column selects each "
        "symbol's rows. Put the DataFrame itself as `data` in Query.from_dict, or replace a "
        "source node with q.run(sources={node: df}).",
        "the DataFrame (in a query dict); in a file, the handle of a registered table",
        find_table));
    load_plugins_from_environment(r);
    return r;
  }();
  return registry;
}

std::string register_table(const std::shared_ptr<const eps::TickTable>& table) {
  TableDirectory& directory = table_directory();
  std::lock_guard lock(directory.mutex);
  for (auto it = directory.tables.begin(); it != directory.tables.end();) {
    it = it->second.expired() ? directory.tables.erase(it) : std::next(it);
  }
  std::string handle = "dataframe#" + std::to_string(directory.next++);
  directory.tables.emplace(handle, table);
  return handle;
}

std::unique_ptr<QueryObject> QueryObject::load(
    const std::string& path, std::vector<std::pair<std::string, std::string>> params) {
  std::unique_ptr<QueryObject> q(new QueryObject());
  q->file_ = path;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  q->base_dir_ = dir.empty() ? "." : dir.string();
  q->overrides_.params = std::move(params);
  Diagnostics diags;
  std::optional<std::string> text = read_query_file(path, diags);
  if (!text) q->raise_query_error(diags);
  q->root_ = parse_yaml(*text, path, diags);
  if (q->root_.is_null() && diags.has_errors()) q->raise_query_error(diags);
  q->bound_ = q->bind(q->overrides_, {}, "");
  return q;
}

std::unique_ptr<QueryObject> QueryObject::from_dict(
    py::handle dict, const std::string& base_dir,
    std::vector<std::pair<std::string, std::string>> params, py::function other) {
  std::unique_ptr<QueryObject> q(new QueryObject());
  q->file_ = kDictFile;
  q->base_dir_ = base_dir;
  q->overrides_.params = std::move(params);
  Diagnostics diags;
  if (!py::isinstance<py::dict>(dict)) {
    diags.error({kDictFile, 1, 0}, "a query must be a dict with 'tickflow': 1 and 'nodes'");
    q->raise_query_error(diags);
  }
  QueryObject* self = q.get();
  ConvertOther convert = [self, &other](py::handle value,
                                        const std::string& path) -> std::optional<std::string> {
    py::object converted = other(value, path);
    if (converted.is_none()) return std::nullopt;
    if (py::isinstance<TableHandle>(converted)) {
      const auto& table = converted.cast<const TableHandle&>();
      self->tables_.push_back(table.table);
      return table.handle;
    }
    return py::str(converted).cast<std::string>();
  };
  q->root_ = config_from_dict(dict, q->paths_, convert, diags);
  if (diags.has_errors()) q->raise_query_error(diags);
  q->bound_ = q->bind(q->overrides_, {}, "");
  return q;
}

std::unique_ptr<Query> QueryObject::bind(
    const QueryOverrides& overrides,
    const std::vector<std::pair<std::string, std::string>>& replaced,
    const std::string& context) const {
  ConfigNode root = root_;
  if (!replaced.empty()) {
    // The replaced nodes become `dataframe` nodes located where the originals were.
    for (auto& entry : root.mutable_entries()) {
      if (entry.key != "nodes" || !entry.value.is_mapping()) continue;
      for (auto& node : entry.value.mutable_entries()) {
        for (const auto& [id, handle] : replaced) {
          if (node.key != id) continue;
          Location at = node.value.location().known() ? node.value.location() : node.key_location;
          ConfigNode mapping;
          mapping.set_kind(ConfigNode::Kind::Mapping);
          mapping.set_location(at);
          mapping.mutable_entries().push_back({"ep", at, ConfigNode::scalar("dataframe", at)});
          mapping.mutable_entries().push_back({"data", at, ConfigNode::scalar(handle, at)});
          node.value = std::move(mapping);
        }
      }
    }
  }
  Diagnostics diags;
  auto query =
      load_query_tree(std::move(root), file_, base_dir_, python_registry(), overrides, diags);
  if (!query) {
    (void)context;
    raise_query_error(diags);
  }
  return query;
}

void QueryObject::raise_query_error(const Diagnostics& diags) const {
  py::list items;
  for (const Diagnostic& d : diags.items()) {
    py::dict item;
    std::optional<std::string> path = paths_.path_of(d.location);
    item["message"] = d.message;
    item["snippet"] = d.snippet;
    if (path) {
      item["file"] = py::none();
      item["line"] = py::none();
      item["column"] = d.location.column > 0 ? py::int_(d.location.column) : py::object(py::none());
      item["path"] = *path;
      std::string text = std::string(kDictFile) + " " + *path;
      if (d.location.column > 0) text += ", column " + std::to_string(d.location.column);
      text += ": error: " + d.message;
      for (const auto& line : d.snippet) text += "\n" + line;
      item["text"] = text;
    } else {
      item["file"] = d.location.file;
      item["line"] = d.location.line > 0 ? py::int_(d.location.line) : py::object(py::none());
      item["column"] = d.location.column > 0 ? py::int_(d.location.column) : py::object(py::none());
      item["path"] = py::none();
      item["text"] = d.to_string();
    }
    items.append(item);
  }
  raise_from("_query_error", items);
}

std::string QueryObject::explain(bool dot) const {
  Plan plan = plan_query(*bound_);
  std::ostringstream os;
  if (dot) {
    explain_dot(*bound_, plan, os);
  } else {
    explain_text(*bound_, plan, os);
  }
  std::string text = os.str();
  // A dict's nodes are placed by key path, not by the line numbers standing in for them.
  for (const BoundNode& node : bound_->nodes) {
    if (auto path = paths_.path_of(node.ep_location)) {
      const std::string from = ", " + node.ep_location.to_string() + ")";
      if (size_t at = text.find(from); at != std::string::npos) {
        text.replace(at, from.size(), ", " + std::string(kDictFile) + " " + *path + ")");
      }
    }
  }
  return text;
}

std::vector<std::string> QueryObject::outputs() const {
  std::vector<std::string> names;
  for (const auto& o : bound_->outputs) names.push_back(o.name);
  return names;
}

std::vector<std::string> QueryObject::source_nodes() const {
  std::vector<std::string> ids;
  for (const auto& n : bound_->nodes) {
    if (n.inputs.empty()) ids.push_back(n.id);
  }
  return ids;
}

py::list QueryObject::run(const RunRequest& request) {
  const Query* query = bound_.get();
  std::unique_ptr<Query> rebound;
  QueryOverrides overrides = overrides_;
  std::vector<std::pair<std::string, std::string>> replaced;
  if (request.symbols || request.start || request.end || request.start_text || request.end_text ||
      request.time_zone || request.output_time_zone || !request.sources.empty()) {
    if (request.symbols) overrides.symbols = request.symbols;
    if (request.start) overrides.start = request.start;
    if (request.end) overrides.end = request.end;
    if (request.start_text) overrides.start_text = request.start_text;
    if (request.end_text) overrides.end_text = request.end_text;
    if (request.time_zone) overrides.time_zone = request.time_zone;
    if (request.output_time_zone) overrides.output_time_zone = request.output_time_zone;
    for (const auto& [node, table] : request.sources) {
      replaced.emplace_back(node, register_table(table));
    }
    rebound = bind(overrides, replaced, "run");
    query = rebound.get();
  }
  const std::vector<std::string> all_symbols = query->info.symbols;
  const bool with_symbols = !all_symbols.empty();
  std::vector<std::string> symbols = with_symbols ? all_symbols : std::vector<std::string>{""};
  if (request.shard && request.shard->by == ShardBy::Symbol) {
    symbols = shard_symbols(symbols, *request.shard);
  } else if (request.shard) {
    // The caller checked that the query has a range.
    auto days = shard_day_range(*query->info.range_start, *query->info.range_end, *request.shard);
    if (days) {
      std::tie(overrides.start, overrides.end) = *days;
      rebound = bind(overrides, replaced, "run");
      query = rebound.get();
    } else {
      symbols.clear();
    }
  }
  const Plan plan = plan_query(*query);
  std::vector<CollectedOutput> outputs;
  for (const auto& o : query->outputs) {
    outputs.emplace_back(o.name, query->nodes[o.node].output_schemas[o.port]);
  }
  std::unique_ptr<RunOutputFiles> files;
  if (!request.output_paths.empty()) {
    std::optional<ShardManifest> manifest;
    if (request.shard) {
      manifest.emplace();
      manifest->spec = *request.shard;
      manifest->time_order = request.merge_symbols;
      manifest->format = std::string(output_format_extension(request.output_format));
      manifest->symbols = all_symbols;
    }
    try {
      files = std::make_unique<RunOutputFiles>(*query, request.output_format, request.output_paths,
                                               manifest);
    } catch (const RuntimeError& e) {
      throw std::runtime_error(e.describe());
    }
  }

  RunOptions options;
  options.threads = std::max<size_t>(1, request.threads);
  options.batch_size = std::max<size_t>(1, request.batch_size);
  options.time_nodes = false;
  std::atomic<bool> interrupt{false};
  options.interrupt = &interrupt;
  SymbolRunOptions symbol_options;
  symbol_options.merge_symbols = request.merge_symbols;

  MultiRunResult result;
  std::exception_ptr crash;
  PyObject *signal_type = nullptr, *signal_value = nullptr, *signal_traceback = nullptr;
  {
    // The engine runs on its own thread without the GIL; this thread wakes up to let
    // Python see signals (Ctrl-C), and stops the run when a handler raised.
    py::gil_scoped_release release;
    std::mutex mutex;
    std::condition_variable finished;
    bool done = false;
    std::thread worker([&] {
      try {
        result = run_symbols(*query, plan, options, symbols, symbol_options,
                             [&](size_t output, const std::string& symbol, const Batch& batch) {
                               if (files) {
                                 files->write(output, symbol, batch);
                               } else {
                                 outputs[output].append(symbol, batch);
                               }
                             });
        if (files && result.failures.empty()) {
          try {
            files->commit();
          } catch (const RuntimeError& e) {
            result.failures.push_back({"", e});
          }
        }
        if (files && !result.failures.empty()) files->abort();
      } catch (...) {
        crash = std::current_exception();
      }
      std::lock_guard lock(mutex);
      done = true;
      finished.notify_all();
    });
    std::unique_lock lock(mutex);
    while (!finished.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) {
      if (interrupt) continue;
      lock.unlock();
      {
        py::gil_scoped_acquire acquire;
        if (PyErr_CheckSignals() != 0) {
          PyErr_Fetch(&signal_type, &signal_value, &signal_traceback);
          interrupt = true;
        }
      }
      lock.lock();
    }
    lock.unlock();
    worker.join();
  }
  if (signal_type) {
    PyErr_Restore(signal_type, signal_value, signal_traceback);
    throw py::error_already_set();
  }
  if (crash) std::rethrow_exception(crash);
  if (!result.failures.empty()) {
    RuntimeError error = result.failures.front().error;
    if (!error.symbol && !result.failures.front().symbol.empty()) {
      error.symbol = result.failures.front().symbol;
    }
    std::optional<std::string> node_path = paths_.path_of(error.node_location);
    if (node_path) error.node_location = Location{std::string(kDictFile) + " " + *node_path, 0, 0};
    py::dict info;
    info["message"] = error.message();
    info["node"] = error.node.empty() ? py::object(py::none()) : py::str(error.node);
    info["symbol"] =
        error.symbol && !error.symbol->empty() ? py::str(*error.symbol) : py::object(py::none());
    info["time"] = error.tick_time ? py::int_(*error.tick_time) : py::object(py::none());
    const Location& data = error.data_location();
    info["file"] = data.file.empty() ? py::object(py::none()) : py::str(data.file);
    info["line"] = data.line > 0 ? py::int_(data.line) : py::object(py::none());
    info["column"] = data.column > 0 ? py::int_(data.column) : py::object(py::none());
    info["text"] = error.describe();
    raise_from("_run_error", info);
  }
  py::list out;
  if (files) {
    for (const auto& path : request.output_paths) out.append(py::str(path));
    return out;
  }
  for (auto& output : outputs) {
    out.append(py::make_tuple(output.name, to_arrays(output, with_symbols)));
  }
  return out;
}

}  // namespace tickflow::python
