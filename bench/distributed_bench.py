#!/usr/bin/env python3
"""tickflow.distributed.run on a local Dask cluster of W worker processes x 1 thread against
q.run in this one process with W threads, on the same machine, interleaved, medians of --runs;
plus the per-task overhead of a distributed run.

    PYTHONPATH=build/python /usr/bin/python3 bench/distributed_bench.py [--symbols 200]
        [--ticks 50000] [--workers 2] [--runs 3] [--tickflow build/tickflow]

Workload: `generate` trades, --ticks per symbol for --symbols symbols, then
- bars: 1-minute OHLCV + VWAP bars per symbol (aggregate bucket 1m): small output;
- filter: the trades with SIZE >= 200 plus NOTIONAL = PRICE * SIZE: most of the ticks come
  back, so the frames the workers send dominate.
One process: q.run(threads=W). Dask: tf.distributed.run(q, partitions=P) on a LocalCluster
(W processes, 1 thread each, 127.0.0.1, no dashboard) started once; P = W and P = 4W. Results
are checked equal to q.run's. CSV files (filter workload): `tickflow run --threads W -o F` against
tf.distributed.run(output=DIR, partitions=4W) + tf.distributed.concat into F, checked
byte-identical. Per-task overhead: --symbols symbols of one tick each, run as
P = 1 and P = --symbols tasks; (t_P - t_1) / (P - 1). Prints Markdown.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import pandas as pd

import tickflow as tf
import tickflow.distributed


def query_dict(kind, symbols, ticks):
    nodes = {"trades": {"ep": "generate", "count": ticks, "interval": "50ms", "seed": 3}}
    if kind == "bars":
        nodes["bars"] = {"ep": "aggregate", "in": "trades", "bucket": "1m",
                         "aggs": {"OPEN": "first(PRICE)", "HIGH": "max(PRICE)",
                                  "LOW": "min(PRICE)", "CLOSE": "last(PRICE)",
                                  "VOLUME": "sum(SIZE)", "VWAP": "vwap(PRICE, SIZE)"}}
    else:
        nodes["big"] = {"ep": "where", "in": "trades", "if": "SIZE >= 200"}
        nodes["notional"] = {"ep": "add_field", "in": "big", "set": {"NOTIONAL": "PRICE * SIZE"}}
    return {"tickflow": 1, "symbols": symbols, "nodes": nodes}


def query(kind, symbols, ticks):
    return tf.Query.from_dict(query_dict(kind, symbols, ticks))


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--ticks", type=int, default=50000, help="ticks per symbol")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tickflow", default="build/tickflow", help="the CLI, for the CSV table")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    w = args.workers
    symbols = ["S%04d" % i for i in range(args.symbols)]
    total = args.symbols * args.ticks
    print("cores: %d, load average before: %s" % (os.cpu_count(), " ".join(
        "%.2f" % x for x in os.getloadavg())))
    with LocalCluster(n_workers=w, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        print("\n%d symbols x %d ticks = %d ticks; %d worker processes x 1 thread vs 1 process x "
              "%d threads; medians of %d interleaved runs\n" % (args.symbols, args.ticks, total, w,
                                                                 w, args.runs))
        print("| workload | way | s | ns/tick | vs 1 process |")
        print("|---|---|---:|---:|---:|")
        for kind in ["bars", "filter"]:
            q = query(kind, symbols, args.ticks)
            ways = {
                "1 process x %d threads (q.run)" % w: lambda: q.run(threads=w),
                "Dask %d x 1, %d tasks" % (w, w):
                    lambda: tf.distributed.run(q, client=client, partitions=w),
                "Dask %d x 1, %d tasks" % (w, 4 * w):
                    lambda: tf.distributed.run(q, client=client, partitions=4 * w),
            }
            times = {name: [] for name in ways}
            expected = None
            for _ in range(args.runs):
                for name, fn in ways.items():
                    seconds, result = timed(fn)
                    times[name].append(seconds)
                    if expected is None:
                        expected = result
                    else:
                        pd.testing.assert_frame_equal(result, expected, check_exact=True)
            base = statistics.median(next(iter(times.values())))
            for name, t in times.items():
                m = statistics.median(t)
                print("| %s (%d rows out) | %s | %.3f | %.0f | %.2fx |" % (
                    kind, len(expected), name, m, m * 1e9 / total, base / m))

        with tempfile.TemporaryDirectory() as tmp:
            query_file = os.path.join(tmp, "filter.yaml")
            with open(query_file, "w") as f:
                json.dump(query_dict("filter", symbols, args.ticks), f)  # JSON is YAML
            cli_out, dask_out = os.path.join(tmp, "cli.csv"), os.path.join(tmp, "dask.csv")
            ways = {
                "tickflow run --threads %d -o F" % w: lambda: subprocess.run(
                    [args.tickflow, "run", query_file, "--threads", str(w), "--no-progress",
                     "-o", cli_out], check=True),
                "Dask %d x 1, %d tasks writing parts, then concat" % (w, 4 * w): lambda: tf.distributed.concat(
                    tf.distributed.run(query_file, client=client, partitions=4 * w,
                                       output=os.path.join(tmp, "parts")), dask_out),
            }
            times = {name: [] for name in ways}
            for _ in range(args.runs):
                for name, fn in ways.items():
                    times[name].append(timed(fn)[0])
            with open(cli_out, "rb") as a, open(dask_out, "rb") as b:
                assert a.read() == b.read(), "concat of the parts differs from the CLI's file"
            print("\n| CSV file output (filter) | s | ns/tick | vs 1 process |")
            print("|---|---:|---:|---:|")
            base = statistics.median(next(iter(times.values())))
            for name, t in times.items():
                m = statistics.median(t)
                print("| %s | %.3f | %.0f | %.2fx |" % (name, m, m * 1e9 / total, base / m))

        tiny = query("bars", symbols, 1)
        one = []
        many = []
        for _ in range(args.runs):
            one.append(timed(lambda: tf.distributed.run(tiny, client=client, partitions=1))[0])
            many.append(timed(lambda: tf.distributed.run(tiny, client=client,
                                                         partitions=args.symbols))[0])
        per_task = (statistics.median(many) - statistics.median(one)) / (args.symbols - 1)
        print("\nPer-task overhead: %d one-tick symbols as 1 task %.3f s, as %d tasks %.3f s: "
              "%.2f ms per extra task" % (args.symbols, statistics.median(one), args.symbols,
                                          statistics.median(many), per_task * 1e3))
    print("load average after: %s" % " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
