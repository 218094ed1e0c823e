"""tickflow.Query: load or build a query, run it, get DataFrames back."""
import datetime
import difflib
import os

import numpy as np
import pandas as pd

from . import _tickflow
from ._errors import Diagnostic, QueryError

_MAX_BATCH_SIZE = 1 << 24
_TYPES_TEXT = ("int64 (and other integer widths), float64/float32, bool, str (object), "
               "datetime64[ns] (naive = UTC, or tz-aware) and timedelta64[ns]")


def _error(where, message):
    return QueryError([Diagnostic(None, None, None, message, where, (),
                                  "%s: error: %s" % (where, message))])


def _did_you_mean(name, candidates):
    close = difflib.get_close_matches(name, candidates, n=1)
    return "; did you mean '%s'?" % close[0] if close else ""


# ---------------------------------------------------------------- values in queries

def _nanos(value):
    """A timestamp-like value as int nanoseconds since the epoch, UTC (naive = UTC)."""
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError("NaT is not a time")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    return ts.value


def _is_time(value):
    return isinstance(value, (pd.Timestamp, datetime.datetime, datetime.date, np.datetime64))


def _is_duration(value):
    return isinstance(value, (pd.Timedelta, datetime.timedelta, np.timedelta64))


def _scalar_text(value):
    """The query-format text of a Python value that is not a plain str/int/float/bool."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, np.floating):
        v = float(value)
        return "nan" if v != v else repr(v)
    if _is_time(value):
        return str(_nanos(value))
    if _is_duration(value):
        return "%dns" % pd.Timedelta(value).value
    return None


def _param_pairs(params):
    if params is None:
        return []
    if not isinstance(params, dict):
        raise TypeError("params must be a dict of NAME -> value, not %s" % type(params).__name__)
    pairs = []
    for name, value in params.items():
        if isinstance(value, str):
            text = value
        elif isinstance(value, (bool, np.bool_)):
            text = "true" if value else "false"
        elif isinstance(value, (int, float, np.integer, np.floating)):
            text = _scalar_text(value) if isinstance(value, (np.integer, np.floating)) else repr(value)
        else:
            text = _scalar_text(value)
            if text is None:
                raise TypeError("params[%r]: a %s is not a parameter value" %
                                (name, type(value).__name__))
        pairs.append((str(name), text))
    return pairs


def _time_arg(value, what):
    """A range bound as (nanos, None), or (None, text) for a time written without an offset,
    which the query reads in its zone (`tz:` / tz=, SPEC §17) as `--start` does."""
    if value is None:
        return None, None
    if isinstance(value, str):
        if _tickflow._parse_time(value) is None:
            raise ValueError("%s: not a time: %r (expected e.g. '2024-01-02 09:30:00', ISO-8601, "
                             "or integer nanoseconds)" % (what, value))
        return None, value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value), None
    if _is_time(value):
        ts = pd.Timestamp(value)
        if ts is pd.NaT:
            raise ValueError("%s: NaT is not a time" % what)
        if ts.tzinfo is None:
            return None, ts.isoformat(sep=" ")
        return _nanos(ts), None
    raise TypeError("%s: a %s is not a time" % (what, type(value).__name__))


def _time_nanos(value, what, zone):
    """A range bound as nanoseconds, a time without an offset read in `zone`."""
    nanos, text = _time_arg(value, what)
    if text is None:
        return nanos
    nanos = _tickflow._parse_time(text, zone)
    if nanos is None:
        raise ValueError("%s: not a time in %s: %r" % (what, zone, text))
    return nanos


def _zone_arg(value, what):
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("%s must be a time zone name (str), not %s" % (what, type(value).__name__))
    if not _tickflow._is_known_time_zone(value):
        raise ValueError("%s: unknown time zone %r (expected an IANA name such as "
                         "America/New_York, or UTC)" % (what, value))
    return value


# ---------------------------------------------------------------- DataFrames in

def _first(mask):
    return int(np.argmax(mask))


def _int64_nanos(values, where, what):
    """datetime64/timedelta64 values -> contiguous int64 nanoseconds; NaT is an error."""
    kind = values.dtype.kind
    values = values.astype("%s8[ns]" % kind, copy=False)
    nat = np.isnat(values)
    if nat.any():
        raise _error(where, "row %d: %s is NaT; tickflow %s have no missing value" %
                     (_first(nat), what, "times" if kind == "M" else "durations"))
    return np.ascontiguousarray(values.view(np.int64))


def _time_values(values, where):
    """The TIMESTAMP values (Series or Index) as int64 nanoseconds, UTC."""
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        values = pd.DatetimeIndex(values).tz_convert("UTC").tz_localize(None)
        return _int64_nanos(np.asarray(values), where, "TIMESTAMP")
    if dtype.kind == "M":
        return _int64_nanos(np.asarray(values), where, "TIMESTAMP")
    if dtype.kind in "iu":
        return np.ascontiguousarray(np.asarray(values).astype(np.int64, copy=False))
    raise _error(where, "TIMESTAMP has dtype %s; it must be datetime64[ns] (naive = UTC), "
                 "tz-aware datetime or integer nanoseconds" % dtype)


def _column(series, where):
    """(tickflow type, contiguous array) of one DataFrame column."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "time", _time_values(series, where)
    if isinstance(dtype, pd.CategoricalDtype) or dtype == object or isinstance(dtype, pd.StringDtype):
        return "string", np.ascontiguousarray(series.to_numpy(dtype=object))
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        # Nullable integers/booleans/floats: fine without missing values.
        if series.isna().any():
            raise _error(where, "row %d is missing (%s); tickflow has no missing values for "
                         "this type: fill them first" % (_first(series.isna().to_numpy()), dtype))
        series = pd.Series(series.to_numpy(dtype=dtype.numpy_dtype))
        dtype = series.dtype
    values = series.to_numpy()
    kind = dtype.kind
    if kind == "b":
        return "bool", np.ascontiguousarray(values).view(np.uint8)
    if kind == "i":
        return "int", np.ascontiguousarray(values.astype(np.int64, copy=False))
    if kind == "u":
        if dtype.itemsize == 8 and len(values) and values.max() > np.iinfo(np.int64).max:
            row = _first(values > np.iinfo(np.int64).max)
            raise _error(where, "row %d: %d does not fit tickflow's int (signed 64-bit)" %
                         (row, values[row]))
        return "int", np.ascontiguousarray(values.astype(np.int64))
    if kind == "f":
        return "double", np.ascontiguousarray(values.astype(np.float64, copy=False))
    if kind == "M":
        return "time", _int64_nanos(values, where, "the value")
    if kind == "m":
        return "duration", _int64_nanos(values, where, "the value")
    raise _error(where, "dtype %s has no tickflow type; supported: %s" % (dtype, _TYPES_TEXT))


def _table(frame, name):
    """A pandas DataFrame -> an engine table known to `dataframe` nodes (see docs/python.md)."""
    if not isinstance(frame, pd.DataFrame):
        raise _error(name, "expected a pandas DataFrame, got %s" % type(frame).__name__)
    labels = list(frame.columns)
    for label in labels:
        if not isinstance(label, str) or not label.isidentifier() or not label.isascii():
            raise _error(name, "column %r is not a field name ([A-Za-z_][A-Za-z0-9_]*)" % (label,))
    seen = set()
    for label in labels:
        if label in seen:
            raise _error(name, "column %r appears twice" % label)
        seen.add(label)
    if "TIMESTAMP" in seen:
        times = _time_values(frame["TIMESTAMP"], "%s['TIMESTAMP']" % name)
    elif isinstance(frame.index, pd.DatetimeIndex):
        times = _time_values(frame.index, "%s.index" % name)
    else:
        raise _error(name, "a DataFrame source needs a TIMESTAMP column or a DatetimeIndex "
                     "(columns: %s)" % ", ".join(labels))
    columns = []
    for label in labels:
        if label == "TIMESTAMP":
            continue
        where = "%s[%r]" % (name, label)
        kind, values = _column(frame[label], where)
        columns.append((label, kind, values))
    try:
        return _tickflow._make_table(name, times, columns)
    except ValueError as e:
        raise _error(name, str(e)) from None


def _convert_other(value, path):
    """Values in a query dict beyond str/int/float/bool/None/list/dict."""
    if isinstance(value, pd.DataFrame):
        return _table(value, path)
    return _scalar_text(value)


# ---------------------------------------------------------------- DataFrames out

def _frame(columns, output_zone=None):
    """Columns as a DataFrame; with an output zone (output_tz), time columns are tz-aware
    in that zone (the same instants: only how they are shown changes)."""
    if output_zone:
        columns = [(name, pd.DatetimeIndex(values).tz_localize("UTC").tz_convert(output_zone)
                    if np.asarray(values).dtype.kind == "M" else values)
                   for name, values in columns]
    return pd.DataFrame({name: values for name, values in columns}, copy=False)


# ---------------------------------------------------------------- the query

class Query:
    """A loaded and checked query (SPEC §14). Make one with Query.load or Query.from_dict."""

    def __init__(self, impl, origin=None):
        if not isinstance(impl, _tickflow._Query):
            raise TypeError("use Query.load(path) or Query.from_dict(d)")
        self._impl = impl
        self._origin = origin  # how to make it again: what pickling sends to other processes

    @classmethod
    def load(cls, path, params=None):
        """Loads a query file. ``params``: {NAME: value} overriding ``params:`` defaults."""
        path = os.path.abspath(os.fspath(path))
        return cls(_tickflow._Query.load(path, _param_pairs(params)), ("load", path, params))

    @classmethod
    def from_dict(cls, query, params=None, base_dir=None):
        """Builds a query from a dict shaped like the YAML file. DataFrames may stand as the
        ``data`` of ``dataframe`` nodes; timestamps and timedeltas may stand for times and
        durations. Relative paths start at ``base_dir`` (default: the working directory).
        Errors point at the offending key path (``Diagnostic.path``)."""
        base = os.fspath(base_dir) if base_dir is not None else os.getcwd()
        return cls(_tickflow._Query.from_dict(query, base, _param_pairs(params), _convert_other),
                   ("from_dict", query, params, base))

    @property
    def name(self):
        return self._impl.name

    @property
    def symbols(self):
        """The query's own symbol list (``symbols:``), [] for a query without symbols."""
        return list(self._impl.symbols)

    @property
    def outputs(self):
        """Names of the output streams, in order (the keys of run()'s dict)."""
        return list(self._impl.outputs())

    def explain(self, dot=False):
        """The plan as text (nodes, schemas, accumulation, segments), or Graphviz with dot=True."""
        return self._impl.explain(bool(dot))

    def run(self, symbols=None, start=None, end=None, threads=None, batch_size=4096,
            sources=None, merge_symbols=False, tz=None, output_tz=None):
        """Runs the query; returns a DataFrame, or a dict {output: DataFrame} for several outputs.

        symbols: list of symbols (or one str) overriding the query's; start/end: the range
        [start, end) as str, Timestamp/datetime or int ns (a str or naive datetime without an
        offset is read in the query's zone, UTC by default); threads: worker threads (default:
        all cores); batch_size: ticks per batch; sources: {node: DataFrame} replacing source
        nodes; merge_symbols: one time-ordered stream over the symbols; tz: IANA zone of the
        query, replacing its ``tz:``; output_tz: zone of the time columns returned (tz-aware),
        replacing its ``output_tz:`` (default: naive UTC).
        """
        return self._run(symbols, start, end, threads, batch_size, sources, merge_symbols,
                         tz=tz, output_tz=output_tz)

    @property
    def tz(self):
        """The query's time zone (``tz:``), "UTC" by default."""
        return self._impl.time_zone

    @property
    def output_tz(self):
        """The zone output times are shown in (``output_tz:``), or None for naive UTC."""
        return self._impl.output_time_zone or None

    def _run(self, symbols, start, end, threads, batch_size, sources, merge_symbols, shard=None,
             output_paths=(), output_format="csv", tz=None, output_tz=None):
        """run(), or with shard=(I, N, "symbol"|"day") one shard of it (tickflow.distributed);
        with output_paths, the outputs go to those files (and their shard manifests) and the
        paths come back."""
        if isinstance(symbols, str):
            symbols = [symbols]
        elif symbols is not None:
            symbols = list(symbols)
            for s in symbols:
                if not isinstance(s, str):
                    raise TypeError("symbols must be str, not %s" % type(s).__name__)
        if threads is None:
            threads = os.cpu_count() or 1
        for name, value, top in (("threads", threads, 1 << 16), ("batch_size", batch_size, _MAX_BATCH_SIZE)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError("%s must be an int, not %s" % (name, type(value).__name__))
            if not 1 <= value <= top:
                raise ValueError("%s must be in 1..%d, got %d" % (name, top, value))
        tables = []
        if sources:
            if not isinstance(sources, dict):
                raise TypeError("sources must be a dict {node: DataFrame}")
            source_nodes = self._impl.source_nodes()
            for node, frame in sources.items():
                where = "sources[%r]" % (node,)
                if node not in source_nodes:
                    raise _error(where, "the query has no source node %r%s (its sources: %s)" %
                                 (node, _did_you_mean(str(node), source_nodes),
                                  ", ".join(source_nodes)))
                tables.append((node, _table(frame, where)))
        start_nanos, start_text = _time_arg(start, "start")
        end_nanos, end_text = _time_arg(end, "end")
        tz = _zone_arg(tz, "tz")
        output_tz = _zone_arg(output_tz, "output_tz")
        results = self._impl.run(symbols, start_nanos, end_nanos,
                                 int(threads), int(batch_size), bool(merge_symbols), tables,
                                 shard, list(output_paths), output_format,
                                 start_text=start_text, end_text=end_text, tz=tz,
                                 output_tz=output_tz)
        if output_paths:
            return list(results)
        output_zone = output_tz if output_tz is not None else self._impl.output_time_zone
        frames = {name: _frame(columns, output_zone) for name, columns in results}
        if len(frames) == 1:
            return next(iter(frames.values()))
        return frames

    def __reduce__(self):
        # Pickled as the recipe (file path or dict, params, base directory), so a query can be
        # sent to worker processes (Dask, multiprocessing), where it is loaded again.
        return (_rebuild, self._origin)

    def __repr__(self):
        return "<tickflow.Query %s, outputs %s>" % (self.name or "(unnamed)", ", ".join(self.outputs))


def _rebuild(kind, query, params, base_dir=None):
    if kind == "load":
        return Query.load(query, params=params)
    return Query.from_dict(query, params=params, base_dir=base_dir)


def eps():
    """Every EP (built-in, `dataframe`, TICKFLOW_PLUGIN_PATH plugins) as a dict: name, doc,
    inputs, variadic_inputs, outputs, params [{name, type, required, default, doc}],
    accumulation, origin, example (the runnable example `tickflow eps NAME` shows: {query,
    files, setup, push_node, push_body, output, output_file}, or None)."""
    return _tickflow._eps()
