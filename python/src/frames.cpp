#include "frames.hpp"

#include <cstring>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "tickflow/types.hpp"

namespace py = pybind11;

namespace tickflow::python {
namespace {

template <class T>
void copy_values(const py::array& array, std::vector<T>& out, const std::string& column) {
  if (array.ndim() != 1 || array.itemsize() != sizeof(T) || !(array.flags() & py::array::c_style)) {
    throw std::invalid_argument("column " + column + ": internal error: not a contiguous " +
                                std::to_string(sizeof(T)) + "-byte array");
  }
  out.resize(static_cast<size_t>(array.shape(0)));
  if (!out.empty()) std::memcpy(out.data(), array.data(), out.size() * sizeof(T));
}

void copy_strings(const py::array& array, StringColumn& out, const std::string& column) {
  if (array.ndim() != 1 || array.dtype().kind() != 'O') {
    throw std::invalid_argument("column " + column + ": internal error: not an object array");
  }
  const size_t n = static_cast<size_t>(array.shape(0));
  const auto stride = array.strides(0);
  const char* base = static_cast<const char*>(array.data());
  out.reserve(n);
  PyObject* previous = nullptr;
  for (size_t i = 0; i < n; ++i) {
    PyObject* value =
        *reinterpret_cast<PyObject* const*>(base + static_cast<ptrdiff_t>(i) * stride);
    if (value == previous) {
      out.push_back_from(out, out.size() - 1);
      continue;
    }
    if (!value || !PyUnicode_Check(value)) {
      std::string what = value ? std::string(py::str(py::repr(py::handle(value)))) : "None";
      std::string type = value ? std::string(Py_TYPE(value)->tp_name) : "NoneType";
      throw std::invalid_argument(
          "column " + column + " row " + std::to_string(i) + ": " + what + " (" + type +
          ") is not a string; a text column must hold only str (fill missing values first, "
          "e.g. df['" +
          column + "'].fillna(''))");
    }
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(value, &size);
    if (!text) throw py::error_already_set();
    out.push_back(std::string_view(text, static_cast<size_t>(size)));
    previous = value;
  }
}

template <class T>
py::array hand_over(std::vector<T>&& values, const char* dtype) {
  auto* owner = new std::vector<T>(std::move(values));
  py::capsule capsule(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array(py::dtype(dtype), {owner->size()}, {sizeof(T)}, owner->data(), capsule);
}

// An object array of str; equal neighbouring values (and a cache of recent distinct
// values) share one str object.
class StrObjects {
 public:
  py::array make(size_t n) { return py::array(py::dtype("O"), {n}, {sizeof(PyObject*)}); }

  // The str for `text`, a new reference. `text` must stay valid until the next call.
  PyObject* get(std::string_view text) {
    if (last_ && text == last_text_) {
      Py_INCREF(last_);
      return last_;
    }
    PyObject* object = nullptr;
    if (auto it = cache_.find(text); it != cache_.end()) {
      object = it->second.ptr();
      Py_INCREF(object);
    } else {
      object = PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()),
                                    "surrogateescape");
      if (!object) throw py::error_already_set();
      if (cache_.size() < kCacheLimit) {
        Py_ssize_t size = 0;
        if (const char* utf8 = PyUnicode_AsUTF8AndSize(object, &size)) {
          cache_.emplace(std::string_view(utf8, static_cast<size_t>(size)),
                         py::reinterpret_borrow<py::object>(object));
        } else {
          PyErr_Clear();  // text that is not valid UTF-8 is simply not cached
        }
      }
    }
    last_ = object;
    last_text_ = text;
    return object;
  }

  static void put(py::array& array, size_t i, PyObject* object) {
    auto** slots = static_cast<PyObject**>(array.mutable_data());
    Py_XDECREF(slots[i]);
    slots[i] = object;
  }

 private:
  static constexpr size_t kCacheLimit = 4096;
  std::unordered_map<std::string_view, py::object> cache_;  // keys: the str's own UTF-8
  PyObject* last_ = nullptr;
  std::string_view last_text_;
};

}  // namespace

std::shared_ptr<eps::TickTable> make_table(const std::string& name, const py::array& times,
                                           const py::list& columns) {
  std::vector<int64_t> time_values;
  copy_values(times, time_values, "TIMESTAMP");
  std::vector<Field> fields;
  std::vector<Column> data;
  for (auto item : columns) {
    auto entry = item.cast<py::tuple>();
    auto column_name = entry[0].cast<std::string>();
    auto type = parse_type(entry[1].cast<std::string>());
    auto array = entry[2].cast<py::array>();
    if (!type) throw std::invalid_argument("column " + column_name + ": internal error: type");
    Column column(*type);
    with_value_type(*type, [&]<class T>() {
      if constexpr (std::is_same_v<T, std::string>) {
        copy_strings(array, column.strings(), column_name);
      } else {
        copy_values(array, column.values<T>(), column_name);
      }
    });
    if (column.size() != time_values.size()) {
      throw std::invalid_argument("column " + column_name + ": internal error: length");
    }
    fields.push_back({column_name, *type});
    data.push_back(std::move(column));
  }
  return std::make_shared<eps::TickTable>(name, make_schema(std::move(fields)),
                                          std::move(time_values), std::move(data));
}

CollectedOutput::CollectedOutput(std::string name_, SchemaPtr schema_)
    : name(std::move(name_)), schema(std::move(schema_)) {
  for (const auto& field : schema->fields()) columns.emplace_back(field.type);
}

void CollectedOutput::append(const std::string& symbol, const Batch& batch) {
  if (batch.empty()) return;
  times.insert(times.end(), batch.times.begin(), batch.times.end());
  for (size_t c = 0; c < columns.size(); ++c) {
    columns[c].append_range(batch.columns[c], 0, batch.size());
  }
  if (symbol_runs.empty() || symbol_runs.back().first != symbol) {
    symbol_runs.emplace_back(symbol, 0);
  }
  symbol_runs.back().second += batch.size();
}

py::list to_arrays(CollectedOutput& output, bool with_symbol) {
  py::list out;
  const size_t n = output.times.size();
  out.append(py::make_tuple("TIMESTAMP", hand_over(std::move(output.times), "datetime64[ns]")));
  if (with_symbol) {
    StrObjects strings;
    py::array symbols = strings.make(n);
    size_t row = 0;
    for (const auto& [symbol, count] : output.symbol_runs) {
      for (size_t k = 0; k < count; ++k) StrObjects::put(symbols, row++, strings.get(symbol));
    }
    out.append(py::make_tuple("SYMBOL", symbols));
  }
  for (size_t c = 0; c < output.columns.size(); ++c) {
    const Field& field = (*output.schema)[c];
    if (with_symbol && field.name == "SYMBOL") continue;
    Column& column = output.columns[c];
    py::array array;
    switch (field.type) {
      case Type::Int:
        array = hand_over(std::move(column.ints()), "int64");
        break;
      case Type::Time:
        array = hand_over(std::move(column.ints()), "datetime64[ns]");
        break;
      case Type::Duration:
        array = hand_over(std::move(column.ints()), "timedelta64[ns]");
        break;
      case Type::Double:
        array = hand_over(std::move(column.doubles()), "float64");
        break;
      case Type::Bool:
        array = hand_over(std::move(column.bools()), "bool");
        break;
      case Type::String: {
        const auto& values = column.strings();
        StrObjects strings;
        array = strings.make(values.size());
        for (size_t i = 0; i < values.size(); ++i) {
          StrObjects::put(array, i, strings.get(values[i]));
        }
        column.strings().clear();
        column.strings().shrink_to_fit();
        break;
      }
    }
    out.append(py::make_tuple(field.name, array));
  }
  return out;
}

}  // namespace tickflow::python
