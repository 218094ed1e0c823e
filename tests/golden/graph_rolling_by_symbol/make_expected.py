#!/usr/bin/env python3
"""Writes expected.csv for graph_rolling_by_symbol from input.csv, independently of tickflow.

    tests/golden/graph_rolling_by_symbol/make_expected.py

graph.yaml is a copy of graphs/rolling_by_symbol.yaml (the golden runner runs a case from
its own folder). input.csv is what its `generate` node produces (dumped once with tickflow:
the trades are the input, not what is tested). Here every window's statistics are computed
with fractions (exact), rounded once to a double, then means and standard deviations are
rounded to 6 decimals the way the graph's round(x, 6) does it (x * 10^6 in double, rounded
half away from zero, divided by 10^6). Doubles are printed in shortest round-trip form, as
tickflow prints them. Rerun only when the example changes.
"""
import csv
import math
import os
from datetime import datetime
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
TICK_WINDOWS = [10, 100]
TIME_WINDOWS = [("1s", 1_000_000_000)]
STATS = ["count", "mean", "std", "min", "max"]


def parse_ns(text):
    date, frac = text.split(".")
    seconds = int(datetime.strptime(date, "%Y-%m-%d %H:%M:%S").timestamp())
    return seconds * 1_000_000_000 + int(frac.ljust(9, "0"))


def round6(x):
    if math.isnan(x):
        return x
    scaled = x * 1e6
    whole = math.floor(abs(scaled))
    if abs(scaled) - whole >= 0.5:
        whole += 1
    return math.copysign(whole, scaled) / 1e6


def stats(prices):
    exact = [Fraction(p) for p in prices]
    n = len(exact)
    mean = sum(exact) / n
    std = math.nan
    if n >= 2:
        # sqrt of the correctly rounded variance, correctly rounded (as IEEE sqrt gives)
        std = math.sqrt(float(sum((x - mean) ** 2 for x in exact) / (n - 1)))
    return {"count": n, "mean": round6(float(mean)), "std": round6(std),
            "min": float(min(exact)), "max": float(max(exact))}


def fmt(value):
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "nan"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def main():
    with open(os.path.join(HERE, "input.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0].keys())
    for w in TICK_WINDOWS:
        header += [f"PRICE_{s.upper()}_{w}" for s in STATS]
    for name, _ in TIME_WINDOWS:
        header += [f"PRICE_{s.upper()}_{name}" for s in STATS]
    out = [",".join(header)]
    by_symbol = {}
    for row in rows:  # each symbol is its own run, in symbol-list order
        seen = by_symbol.setdefault(row["SYMBOL"], [])
        seen.append((parse_ns(row["TIMESTAMP"]), float(row["PRICE"])))
        t = seen[-1][0]
        cells = [row[h] for h in rows[0].keys()]
        windows = [[p for _, p in seen[-w:]] for w in TICK_WINDOWS]
        windows += [[p for u, p in seen if u > t - d] for _, d in TIME_WINDOWS]
        for prices in windows:
            s = stats(prices)
            cells += [fmt(s[name]) for name in STATS]
        out.append(",".join(cells))
    with open(os.path.join(HERE, "expected.csv"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
