#!/usr/bin/env python3
"""q.run of the Python package on in-memory ticks against the same computation in pandas, in
one process, interleaved, medians of --runs; plus the DataFrame conversion costs.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_bench.py [--ticks 10000000] [--runs 3]

Data: --ticks trades of 8 symbols in one time-ordered DataFrame (TIMESTAMP datetime64[ns],
SYMBOL str, PRICE float64, SIZE int64), built with numpy (seed 42).
W2-like: NOTIONAL = PRICE * SIZE where SIZE > 500 (tickflow: dataframe -> where -> add_field;
pandas: boolean mask, then assign). W4-like: 1-minute OHLCV + VWAP bars by SYMBOL (tickflow:
aggregate bucket 1m group_by SYMBOL; pandas: groupby(SYMBOL).resample(1min) as
bench/pandas_ohlcv.py). tickflow times are whole q.run calls: DataFrame in, run, DataFrame out.
Conversion: DataFrame -> engine table (what sources= does), and engine -> DataFrame (a run that
passes every tick through minus the same run emitting nothing), in ns per value (cell).
Both results are checked against each other. Prints Markdown.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

import tickflow as tf
from tickflow import _query

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pandas_ohlcv import compute as pandas_w4  # noqa: E402  the bars of bench/aggregate.sh


def make_trades(n):
    rng = np.random.default_rng(42)
    symbols = np.array(["S%02d" % i for i in range(1, 9)], dtype=object)
    gaps = rng.exponential(2.5e6, n).astype(np.int64)  # 2.5 ms apart on average
    times = np.datetime64("2024-01-02T09:30:00", "ns") + np.cumsum(gaps).astype("m8[ns]")
    return pd.DataFrame({
        "TIMESTAMP": times,
        "SYMBOL": symbols[rng.integers(0, 8, n)],
        "PRICE": np.round(100 + rng.normal(size=n).cumsum() * 0.01, 2),
        "SIZE": rng.integers(1, 10, n) * 100,
    })


def tickflow_w2():
    return tf.Query.from_dict({"tickflow": 1, "nodes": {
        "trades": {"ep": "ticks", "rows": [{"SYMBOL": "", "PRICE": 0.0, "SIZE": 0}]},
        "big": {"ep": "where", "in": "trades", "if": "SIZE > 500"},
        "notional": {"ep": "add_field", "in": "big", "set": {"NOTIONAL": "PRICE * SIZE"}}}})


def tickflow_w4():
    return tf.Query.from_dict({"tickflow": 1, "nodes": {
        "trades": {"ep": "ticks", "rows": [{"SYMBOL": "", "PRICE": 0.0, "SIZE": 0}]},
        "bars": {"ep": "aggregate", "in": "trades", "bucket": "1m", "group_by": ["SYMBOL"],
                 "emit_empty": False,
                 "aggs": {"OPEN": "first(PRICE)", "HIGH": "max(PRICE)", "LOW": "min(PRICE)",
                          "CLOSE": "last(PRICE)", "VOLUME": "sum(SIZE)",
                          "VWAP": "vwap(PRICE, SIZE)", "TRADES": "count()"}}}})


def passthrough(emit):
    nodes = {"trades": {"ep": "ticks", "rows": [{"SYMBOL": "", "PRICE": 0.0, "SIZE": 0}]}}
    if not emit:
        nodes["none"] = {"ep": "where", "in": "trades", "if": "false"}
    return tf.Query.from_dict({"tickflow": 1, "nodes": nodes})


def pandas_w2(df):
    big = df[df["SIZE"] > 500]
    return big.assign(NOTIONAL=big["PRICE"] * big["SIZE"])


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def check_w2(ours, theirs):
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    assert np.array_equal(ours["NOTIONAL"].to_numpy(), theirs["NOTIONAL"].to_numpy())
    assert np.array_equal(ours["SYMBOL"].to_numpy(), theirs["SYMBOL"].to_numpy())


def check_w4(ours, theirs):
    theirs = theirs[theirs["TRADES"] > 0].reset_index()
    merged = ours.merge(theirs, on=["SYMBOL", "TIMESTAMP"], suffixes=("_tf", "_pd"))
    assert len(merged) == len(ours) == len(theirs), (len(merged), len(ours), len(theirs))
    for c in ["OPEN", "HIGH", "LOW", "CLOSE", "VOLUME", "TRADES"]:
        assert (merged[c + "_tf"] == merged[c + "_pd"]).all(), c
    rel = np.abs(merged["VWAP_tf"] - merged["VWAP_pd"]) / merged["VWAP_tf"].abs()
    assert rel.max() < 1e-12, rel.max()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()

    df = make_trades(args.ticks)
    q2, q4 = tickflow_w2(), tickflow_w4()
    emit, silent = passthrough(True), passthrough(False)
    run = lambda q: q.run(sources={"trades": df}, threads=args.threads)  # noqa: E731
    times = {k: [] for k in ["tf_w2", "pd_w2", "tf_w4", "pd_w4", "table_in", "emit", "silent"]}
    for i in range(args.runs):
        t, tf_w2 = timed(lambda: run(q2))
        times["tf_w2"].append(t)
        t, pd_w2 = timed(lambda: pandas_w2(df))
        times["pd_w2"].append(t)
        t, tf_w4 = timed(lambda: run(q4))
        times["tf_w4"].append(t)
        t, pd_w4 = timed(lambda: pandas_w4(df))
        times["pd_w4"].append(t)
        t, _ = timed(lambda: _query._table(df, "bench"))
        times["table_in"].append(t)
        t, out = timed(lambda: run(emit))
        times["emit"].append(t)
        t, _ = timed(lambda: run(silent))
        times["silent"].append(t)
        if i == 0:
            check_w2(tf_w2, pd_w2)
            check_w4(tf_w4, pd_w4)
            assert len(out) == len(df)
        del tf_w2, pd_w2, tf_w4, pd_w4, out

    med = {k: statistics.median(v) for k, v in times.items()}
    n = args.ticks
    values = n * 4  # TIMESTAMP, SYMBOL, PRICE, SIZE
    print(f"{n:,} ticks, 8 symbols; tickflow {tf.version}, threads={args.threads}, "
          f"{os.cpu_count()} cores; pandas {pd.__version__}, numpy {np.__version__}, "
          f"Python {sys.version.split()[0]}; medians of {args.runs} interleaved runs\n")
    print("| workload | tickflow q.run s | pandas s | tickflow ns/tick | pandas ns/tick | pandas / tickflow |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, tfk, pdk in [("W2-like: NOTIONAL = PRICE*SIZE where SIZE > 500", "tf_w2", "pd_w2"),
                           ("W4-like: 1-minute OHLCV + VWAP bars by SYMBOL", "tf_w4", "pd_w4")]:
        print(f"| {name} | {med[tfk]:.3f} | {med[pdk]:.3f} | {med[tfk] / n * 1e9:.1f} | "
              f"{med[pdk] / n * 1e9:.1f} | {med[pdk] / med[tfk]:.2f}x |")
    out_cost = med["emit"] - med["silent"]
    print("\n| DataFrame conversion (TIMESTAMP, SYMBOL, PRICE, SIZE) | s | ns/value | ns/tick |")
    print("|---|---:|---:|---:|")
    print(f"| in: DataFrame -> engine table | {med['table_in']:.3f} | "
          f"{med['table_in'] / values * 1e9:.2f} | {med['table_in'] / n * 1e9:.1f} |")
    print(f"| out: engine -> DataFrame (pass-through run minus a run emitting nothing) | "
          f"{out_cost:.3f} | {out_cost / values * 1e9:.2f} | {out_cost / n * 1e9:.1f} |")
    print(f"| whole pass-through q.run (in + run + out) | {med['emit']:.3f} | "
          f"{med['emit'] / values * 1e9:.2f} | {med['emit'] / n * 1e9:.1f} |")


if __name__ == "__main__":
    main()
