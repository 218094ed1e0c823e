// tickflow._tickflow: the compiled half of the Python package (python/tickflow/ is the
// other). The package's public API is defined in Python; this module gives it the engine.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <filesystem>

#include "frames.hpp"
#include "query_object.hpp"
#include "tickflow/time.hpp"

#ifndef TICKFLOW_VERSION
#define TICKFLOW_VERSION "dev"
#endif

namespace py = pybind11;
using namespace tickflow;
using namespace tickflow::python;

namespace {

// An EP's runnable example as `tickflow eps --format json` gives it; None when it has none.
py::object example_dict(const EpExample& e) {
  if (e.empty()) return py::none();
  py::list files;
  for (const auto& [name, contents] : e.files) {
    py::dict file;
    file["name"] = name;
    file["contents"] = contents;
    files.append(file);
  }
  py::dict example;
  example["query"] = e.query;
  example["files"] = files;
  example["setup"] = e.setup;
  example["push_node"] = e.push_node;
  example["push_body"] = e.push_body;
  example["output"] = e.output;
  example["output_file"] = e.output_file;
  return example;
}

py::list ep_list() {
  py::list out;
  for (const EpDefinition* d : python_registry().all()) {
    py::list params;
    for (const auto& p : d->params) {
      py::dict param;
      param["name"] = p.name;
      param["type"] = std::string(param_type_name(p.type));
      param["required"] = p.required;
      param["default"] =
          p.default_value.empty() ? py::object(py::none()) : py::str(p.default_value);
      param["doc"] = p.doc;
      params.append(param);
    }
    py::dict ep;
    ep["name"] = d->name;
    ep["doc"] = d->doc;
    ep["inputs"] = d->inputs;
    ep["variadic_inputs"] = d->variadic_inputs;
    ep["outputs"] = d->outputs;
    ep["params"] = params;
    ep["accumulation"] = d->accumulation;
    ep["origin"] = d->origin;
    ep["example"] = example_dict(d->example);
    out.append(ep);
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(_tickflow, m) {
  m.doc() = "tickflow engine bindings (use the tickflow package, not this module)";
  m.attr("version") = TICKFLOW_VERSION;

  py::class_<TableHandle>(m, "_Table")
      .def_property_readonly("handle", [](const TableHandle& t) { return t.handle; })
      .def_property_readonly("rows", [](const TableHandle& t) { return t.table->size(); });

  m.def(
      "_make_table",
      [](const std::string& name, const py::array& times, const py::list& columns) {
        TableHandle t;
        t.table = make_table(name, times, columns);
        t.handle = register_table(t.table);
        return t;
      },
      py::arg("name"), py::arg("times"), py::arg("columns"));

  m.def(
      "_concat_shards",
      [](const std::vector<std::string>& parts, const std::string& output) {
        try {
          concat_shards(parts, output);
        } catch (const UsageError& e) {
          throw py::value_error(e.what());
        } catch (const RuntimeError& e) {
          PyErr_SetString(PyExc_OSError, e.describe().c_str());
          throw py::error_already_set();
        } catch (const std::filesystem::filesystem_error& e) {
          PyErr_SetString(PyExc_OSError, e.what());
          throw py::error_already_set();
        }
      },
      py::arg("parts"), py::arg("output"));
  m.def(
      "_parse_time",
      [](const std::string& text, const std::string& zone) -> std::optional<int64_t> {
        const std::optional<TimeZone> found = TimeZone::find(zone);
        return found ? found->parse(text) : std::nullopt;
      },
      py::arg("text"), py::arg("zone") = "UTC");
  m.def("_is_known_time_zone", [](const std::string& name) { return is_known_time_zone(name); });
  m.def("_eps", &ep_list);

  py::class_<QueryObject>(m, "_Query")
      .def_static("load", &QueryObject::load, py::arg("path"), py::arg("params"))
      .def_static("from_dict", &QueryObject::from_dict, py::arg("dict"), py::arg("base_dir"),
                  py::arg("params"), py::arg("other"))
      .def("explain", &QueryObject::explain, py::arg("dot"))
      .def("outputs", &QueryObject::outputs)
      .def("source_nodes", &QueryObject::source_nodes)
      .def_property_readonly("name", &QueryObject::name)
      .def_property_readonly("symbols", &QueryObject::symbols)
      .def_property_readonly("range", &QueryObject::range)
      .def_property_readonly("time_zone", &QueryObject::time_zone)
      .def_property_readonly("output_time_zone", &QueryObject::output_time_zone)
      .def(
          "run",
          [](QueryObject& q, std::optional<std::vector<std::string>> symbols,
             std::optional<int64_t> start, std::optional<int64_t> end, size_t threads,
             size_t batch_size, bool merge_symbols, const py::list& sources,
             std::optional<std::tuple<size_t, size_t, std::string>> shard,
             std::vector<std::string> output_paths, const std::string& output_format,
             std::optional<std::string> start_text, std::optional<std::string> end_text,
             std::optional<std::string> time_zone, std::optional<std::string> output_time_zone) {
            RunRequest request;
            request.start_text = std::move(start_text);
            request.end_text = std::move(end_text);
            request.time_zone = std::move(time_zone);
            request.output_time_zone = std::move(output_time_zone);
            if (shard) {
              const auto& [index, count, by] = *shard;
              request.shard = ShardSpec{index, count, by == "day" ? ShardBy::Day : ShardBy::Symbol};
            }
            request.output_paths = std::move(output_paths);
            request.output_format = *parse_output_format(output_format);
            request.symbols = std::move(symbols);
            request.start = start;
            request.end = end;
            request.threads = threads;
            request.batch_size = batch_size;
            request.merge_symbols = merge_symbols;
            for (auto item : sources) {
              auto pair = item.cast<py::tuple>();
              request.sources.emplace_back(pair[0].cast<std::string>(),
                                           pair[1].cast<const TableHandle&>().table);
            }
            return q.run(request);
          },
          py::arg("symbols"), py::arg("start"), py::arg("end"), py::arg("threads"),
          py::arg("batch_size"), py::arg("merge_symbols"), py::arg("sources"),
          py::arg("shard") = py::none(), py::arg("output_paths") = std::vector<std::string>(),
          py::arg("output_format") = "csv", py::arg("start_text") = py::none(),
          py::arg("end_text") = py::none(), py::arg("tz") = py::none(),
          py::arg("output_tz") = py::none());
}
