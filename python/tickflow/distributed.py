"""tickflow.distributed: run a query on a Dask cluster, one task per shard (SPEC §15).

    from dask.distributed import Client
    import tickflow as tf, tickflow.distributed

    client = Client("tcp://scheduler:8786")
    q = tf.Query.load("/shared/queries/bars.yaml")
    bars = tf.distributed.run(q, symbols=universe, client=client, partitions=64)

The shards are those of ``tickflow run --shard I/N``: by symbol, the symbols at positions
≡ I (mod N) of the list; by day, the I-th of N contiguous runs of the range's UTC days. Each
task runs the engine in its worker process (the query travels as its recipe: a file path or a
dict, loaded again on the worker) and sends back its DataFrame; the shards' frames are put
together in the unsharded run's order. A worker lost mid-run has its task run again elsewhere
by Dask; the result is the same. See docs/scale.md.
"""
import contextlib
import os

import numpy as np
import pandas as pd

from . import _tickflow
from ._errors import Error, RunError
from ._query import Query, _time_nanos

_NANOS_PER_DAY = 86400 * 10**9


def run(query, symbols=None, start=None, end=None, client=None, partitions=None, by="symbol",
        threads=1, batch_size=4096, merge_symbols=False, output=None, format="csv"):
    """Runs ``query`` (a tf.Query or a query file path) as ``partitions`` Dask tasks and returns
    what ``query.run(symbols=..., start=..., end=..., merge_symbols=...)`` returns: a DataFrame,
    or a dict of them for several outputs.

    client: a dask.distributed.Client (default: the current one); partitions: the number of
    shards, one task each (default: the cluster's worker threads, at most one per symbol, or
    per day with by="day"); by: "symbol" or "day"; threads: engine threads in each task (one
    per Dask worker thread is the usual fit); batch_size, merge_symbols: as in Query.run.

    output: a directory every worker and the client can reach. The tasks then write their
    shard's output there instead of sending it back (``part_I.csv``, or ``part_I/`` with one file
    per output for several outputs; each with its ``.shard.json`` manifest, as ``tickflow run
    --shard`` writes them) and the list of parts comes back, in shard order, for
    ``tickflow concat`` or ``concat()``. format: "csv" or "jsonl".

    A query error in any shard raises tf.RunError once, for the failing symbol first in list
    order (the one the unsharded run reports), its message naming the shard; no part is left
    in ``output`` by a failed run.
    """
    import distributed

    if isinstance(query, (str, os.PathLike)):
        query = Query.load(query)
    if not isinstance(query, Query):
        raise TypeError("query must be a tickflow.Query or a query file path, not %s" %
                        type(query).__name__)
    if by not in ("symbol", "day"):
        raise ValueError("by must be 'symbol' or 'day', not %r" % (by,))
    if format not in ("csv", "jsonl"):
        raise ValueError("format must be 'csv' or 'jsonl', not %r" % (format,))
    if client is None:
        try:
            client = distributed.get_client()
        except ValueError:
            raise ValueError("no Dask client: pass client=dask.distributed.Client(...) or create "
                             "one first") from None
    if isinstance(symbols, str):
        symbols = [symbols]
    symbols = list(query.symbols if symbols is None else symbols)
    for s in symbols:
        if not isinstance(s, str):
            raise TypeError("symbols must be str, not %s" % type(s).__name__)
    if len(set(symbols)) != len(symbols):
        raise ValueError("a sharded run needs distinct symbols; %r is listed twice" %
                         next(s for s in symbols if symbols.count(s) > 1))
    # Day shards are counted on instants: a bound without an offset is read in the query's zone.
    start = _time_nanos(start, "start", query.tz)
    end = _time_nanos(end, "end", query.tz)

    if by == "symbol":
        if not symbols:
            raise ValueError("by='symbol' needs symbols; a query without symbols can be split "
                             "with by='day'")
        units = len(symbols)
    else:
        query_start, query_end = query._impl.range
        start = query_start if start is None else start
        end = query_end if end is None else end
        if start is None or end is None:
            raise ValueError("by='day' needs a range: the query's range: or start= and end=")
        units = max(0, (end - 1) // _NANOS_PER_DAY - start // _NANOS_PER_DAY + 1)
    if partitions is None:
        partitions = max(1, min(units, sum(client.nthreads().values()) or 1))
    if isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer)) or partitions < 1:
        raise ValueError("partitions must be a whole number >= 1, got %r" % (partitions,))
    partitions = int(partitions)

    parts = [None] * partitions
    if output is not None:
        output = os.path.abspath(os.fspath(output))
        os.makedirs(output, exist_ok=True)
        names = query.outputs
        for index in range(partitions):
            name = "part_%d" % index
            parts[index] = (os.path.join(output, "%s.%s" % (name, format)) if len(names) == 1
                            else os.path.join(output, name))
            if len(names) > 1:
                os.makedirs(parts[index], exist_ok=True)
    tasks = []
    token = os.urandom(6).hex()
    for index in range(partitions):
        if output is None and by == "symbol" and index >= len(symbols):
            continue  # no symbol: an empty frame, not worth a task
        paths = []
        if output is not None:
            paths = ([parts[index]] if len(query.outputs) == 1 else
                     [os.path.join(parts[index], "%s.%s" % (n, format)) for n in query.outputs])
        task = dict(symbols=symbols or None, start=start, end=end, threads=threads,
                    batch_size=batch_size, sources=None, merge_symbols=merge_symbols,
                    shard=(index, partitions, by), output_paths=paths, output_format=format)
        tasks.append((index, client.submit(_run_shard, query, task, pure=False,
                                           key="tickflow-shard-%d-of-%d-%s" %
                                           (index, partitions, token))))

    distributed.wait([future for _, future in tasks])
    results = []
    failures = []
    for index, future in tasks:
        status, value = future.result()
        (results if status == "ok" else failures).append((index, value))
    if failures:
        if output is not None:
            _remove_parts(parts)
        position = {s: i for i, s in enumerate(symbols)}
        index, error = min(failures, key=lambda f: (position.get(f[1].symbol, -1), f[0]))
        raise _in_shard(error, index, partitions)
    if output is not None:
        _remove(_temporaries(parts))
        return parts
    frames = [value for _, value in results]
    if isinstance(frames[0], dict):
        return {name: _combine([f[name] for f in frames], symbols, by, merge_symbols)
                for name in frames[0]}
    return _combine(frames, symbols, by, merge_symbols)


def concat(parts, output):
    """Puts the parts a run with ``output=`` returned (or any ``tickflow run --shard`` parts)
    together into ``output`` (a file, or a directory for parts that are directories), byte for
    byte what the unsharded run writes. Raises ValueError when the parts are not the complete
    shards of one run (nothing is written then), OSError on I/O errors."""
    _tickflow._concat_shards([os.fspath(p) for p in parts], os.fspath(output))


def _temporaries(parts):
    """Temporary files of part writes that never finished (a worker lost while writing)."""
    for part in parts:
        if os.path.isdir(part):
            directory, prefix = part, "."
        else:
            directory, prefix = os.path.dirname(part), "." + os.path.basename(part) + "."
        for name in os.listdir(directory):
            if name.startswith(prefix) and ".tmp-" in name:
                yield os.path.join(directory, name)


def _remove(paths):
    for path in list(paths):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _remove_parts(parts):
    """After a failed run: nothing of it stays."""
    _remove(_temporaries(parts))
    for part in parts:
        if os.path.isdir(part):
            _remove(os.path.join(part, name) for name in os.listdir(part))
            with contextlib.suppress(OSError):
                os.rmdir(part)
        else:
            _remove([part, part + ".shard.json"])


def _run_shard(query, task):
    """The task: runs in the worker process. Query errors come back as values, so that Dask
    does not retry them (a lost worker is retried by the scheduler, not through this)."""
    try:
        return "ok", query._run(**task)
    except Error as e:
        return "error", e


def _in_shard(error, index, count):
    """The shard's error, its message saying which shard it came from."""
    if isinstance(error, RunError):
        text = "shard %d of %d: %s" % (index, count, str(error))
        return RunError(error.message, error.node, error.symbol, error.time, error.file,
                        error.line, error.column, text)
    return error


def _combine(frames, symbols, by, merge_symbols):
    """The shards' frames in the unsharded run's order: symbol blocks in list order (day
    shards within a symbol in day order), or by time with equal times in list order."""
    frame = pd.concat(frames, ignore_index=True, copy=False)
    if not symbols or "SYMBOL" not in frame.columns or (by == "day" and merge_symbols):
        return frame  # the shards' frames follow each other in order already
    positions = pd.Categorical(frame["SYMBOL"], categories=symbols).codes
    if merge_symbols:
        # lexsort is stable: a symbol's equal times keep their order.
        order = np.lexsort((positions, frame["TIMESTAMP"].to_numpy().view(np.int64)))
    else:
        order = np.argsort(positions, kind="stable")
    return frame.take(order).reset_index(drop=True)
