#!/usr/bin/env python3
"""pandas 1-minute OHLCV + VWAP bars per SYMBOL from a trades CSV (TIMESTAMP,SYMBOL,PRICE,SIZE,...),
the same bars as tickflow's aggregate (bench/aggregate.sh): buckets [start, end) labelled with
their end, per symbol, VWAP = sum(PRICE * SIZE) / sum(SIZE), TRADES = count.

    pandas_ohlcv.py INPUT.csv [--runs 3] [--check TICKFLOW_OUTPUT.csv]

Prints one JSON object: {"trades", "bars", "read_s" (read_csv with TIMESTAMP parsed to
datetime64[ns]), "runs_s", "median_s", "median_cpu_s" (the computation only, after the read)}.
With --check it compares its bars with tickflow's (bars with trades) and reports the largest
relative VWAP difference and any mismatch of OPEN/HIGH/LOW/CLOSE/VOLUME/TRADES.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import pandas as pd


def compute(df):
    df = df.assign(PV=df["PRICE"] * df["SIZE"])
    grouped = df.set_index("TIMESTAMP").groupby("SYMBOL").resample("1min", closed="left", label="right")
    bars = grouped["PRICE"].ohlc()
    bars.columns = ["OPEN", "HIGH", "LOW", "CLOSE"]
    bars["VOLUME"] = grouped["SIZE"].sum()
    bars["VWAP"] = grouped["PV"].sum() / bars["VOLUME"]
    bars["TRADES"] = grouped["PRICE"].count()
    return bars


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--check")
    args = parser.parse_args()

    start = time.perf_counter()
    df = pd.read_csv(args.input, usecols=["TIMESTAMP", "SYMBOL", "PRICE", "SIZE"],
                     dtype={"PRICE": "float64", "SIZE": "int64"},
                     parse_dates=["TIMESTAMP"])
    read_s = time.perf_counter() - start

    if args.check:
        ours = compute(df)
        ours = ours[ours["TRADES"] > 0].reset_index()
        theirs = pd.read_csv(args.check, parse_dates=["TIMESTAMP"])
        theirs = theirs[theirs["TRADES"] > 0]
        merged = ours.merge(theirs, on=["SYMBOL", "TIMESTAMP"], suffixes=("_pd", "_tf"))
        exact = {c: int((merged[c + "_pd"] != merged[c + "_tf"]).sum())
                 for c in ["OPEN", "HIGH", "LOW", "CLOSE", "VOLUME", "TRADES"]}
        rel = np.abs(merged["VWAP_pd"] - merged["VWAP_tf"]) / np.abs(merged["VWAP_tf"])
        print(json.dumps({"bars_pandas": len(ours), "bars_tickflow": len(theirs),
                          "matched": len(merged), "mismatches": exact,
                          "max_vwap_relative_difference": float(rel.max())}))
        return 0

    runs, cpu_runs, bars = [], [], 0
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = compute(df)
        runs.append(time.perf_counter() - start)
        cpu_runs.append(time.process_time() - start_cpu)
        bars = len(result)
        del result
    print(json.dumps({
        "trades": len(df),
        "bars": bars,
        "read_s": round(read_s, 3),
        "runs_s": [round(r, 3) for r in runs],
        "median_s": round(statistics.median(runs), 3),
        "median_cpu_s": round(statistics.median(cpu_runs), 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
