#!/usr/bin/env python3
"""pandas counterparts of tickflow's order, time and join benchmarks, timed without the read.

    pandas_joins.py asof TRADES.csv QUOTES.csv [--runs 3] [--check TICKFLOW_OUT.csv]
    pandas_joins.py sort TICKS.csv [--runs 3]
    pandas_joins.py merge A.csv B.csv [--runs 3]

asof:  merge_asof(trades, quotes, on=TIMESTAMP, by=SYMBOL) — for each trade the last quote of
       its symbol at or before its time (tickflow join_by_time on: [SYMBOL], same_time:
       include). With --check, compares the quote columns with a tickflow output instead of
       timing.
sort:  sort_values('PRICE', ascending=False, kind='stable') (tickflow order_by [-PRICE]).
merge: concat([a, b]) then sort_values('TIMESTAMP', kind='stable'): a time-ordered union,
       ties in input order (tickflow merge).
Prints one JSON object: {"op", "ticks", "runs_s": [...], "median_s"}.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import pandas as pd


def read(path):
    frame = pd.read_csv(path, keep_default_na=False, na_values=["nan"])
    frame["TIMESTAMP"] = pd.to_datetime(frame["TIMESTAMP"])
    return frame


def timed(fn, runs):
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("op", choices=["asof", "sort", "merge"])
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--check", help="tickflow join_by_time output to compare with (asof)")
    args = parser.parse_args()
    frames = [read(p) for p in args.inputs]

    if args.op == "asof":
        trades, quotes = frames
        fn = lambda: pd.merge_asof(trades, quotes, on="TIMESTAMP", by="SYMBOL",
                                   allow_exact_matches=True)
        ticks = len(trades) + len(quotes)
    elif args.op == "sort":
        (ticks_frame,) = frames
        fn = lambda: ticks_frame.sort_values("PRICE", ascending=False, kind="stable")
        ticks = len(ticks_frame)
    else:
        a, b = frames
        fn = lambda: pd.concat([a, b], ignore_index=True).sort_values("TIMESTAMP", kind="stable")
        ticks = len(a) + len(b)

    if args.check:
        result, _ = timed(fn, 1)
        ours = read(args.check)
        if len(ours) != len(result):
            sys.exit(f"row counts differ: tickflow {len(ours)}, pandas {len(result)}")
        mismatches = {}
        for column in result.columns:
            left, right = ours[column].to_numpy(), result[column].to_numpy()
            if left.dtype.kind == "f" or right.dtype.kind == "f":
                same = np.isclose(left.astype(float), right.astype(float), rtol=0, atol=0,
                                  equal_nan=True)
            else:
                same = left == right
            mismatches[column] = int((~same).sum())
        print(json.dumps({"op": args.op, "rows": len(ours), "mismatches": mismatches}))
        return 1 if any(mismatches.values()) else 0

    _, times = timed(fn, args.runs)
    print(json.dumps({"op": args.op, "ticks": ticks, "runs_s": times,
                      "median_s": statistics.median(times)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
