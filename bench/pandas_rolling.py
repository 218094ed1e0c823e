#!/usr/bin/env python3
"""pandas rolling statistics on the PRICE column of a tickflow CSV, timed without the read.

    pandas_rolling.py INPUT.csv --windows 10,100,1000 --stats mean,var,min,max [--runs 3]

Computes, for every window W and stat, `Series.rolling(W, min_periods=1).<stat>()` — the
same columns rolling_stats emits (a window holds the current tick and up to W-1 before it,
fewer at the start; var is the sample variance, NaN below 2 values). Prints one JSON object:
{"ticks", "columns", "runs_s": [...], "median_s", "median_cpu_s" (process CPU
time), "ns_per_tick"}. With --check OUT.csv
(a tickflow output holding PRICE_<STAT>_<W> columns) it also reports the largest relative
difference per stat instead of timing.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import pandas as pd


def compute(price, windows, stats):
    out = {}
    for w in windows:
        roll = price.rolling(w, min_periods=1)
        for stat in stats:
            out[f"PRICE_{stat.upper()}_{w}"] = getattr(roll, stat)()
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("--windows", required=True)
    parser.add_argument("--stats", default="mean,var,min,max")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--check", help="tickflow output CSV to compare with")
    args = parser.parse_args()
    windows = [int(w) for w in args.windows.split(",")]
    stats = args.stats.split(",")

    price = pd.read_csv(args.input, usecols=["PRICE"], dtype={"PRICE": "float64"})["PRICE"]

    if args.check:
        ours = pd.read_csv(args.check)
        expected = compute(price.iloc[: len(ours)], windows, stats)
        worst = {}
        for name, want in expected.items():
            got = ours[name].to_numpy(dtype="float64")
            want = want.to_numpy()
            both_nan = np.isnan(got) & np.isnan(want)
            scale = np.maximum(np.abs(want), 1e-300)
            rel = np.where(both_nan, 0.0, np.abs(got - want) / scale)
            worst[name] = float(np.nanmax(rel)) if len(rel) else 0.0
        print(json.dumps({"rows": len(ours), "max_relative_difference": worst}, indent=1))
        return

    runs, cpu_runs = [], []
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = compute(price, windows, stats)
        runs.append(time.perf_counter() - start)
        cpu_runs.append(time.process_time() - start_cpu)
        del result
    median = statistics.median(runs)
    print(json.dumps({
        "ticks": len(price),
        "columns": len(windows) * len(stats),
        "runs_s": [round(r, 3) for r in runs],
        "median_s": round(median, 3),
        "median_cpu_s": round(statistics.median(cpu_runs), 3),
        "ns_per_tick": round(median * 1e9 / len(price), 1),
    }))


if __name__ == "__main__":
    sys.exit(main())
