#!/usr/bin/python3
"""pandas side of the peers benchmark (bench/peers.py): one workload end to end, CSV in and
CSV out, as tickflow runs it.

    peers_pandas.py W1 prices.csv OUT.csv
    peers_pandas.py W2|W4|W5 trades.csv OUT.csv
    peers_pandas.py W3 trades.csv quotes.csv OUT.csv

Times are read as nanoseconds and written back with all nine digits; the output columns are
tickflow's, in its order (W4: bucket end, then symbols in order of first appearance).
"""
import sys

import numpy as np
import pandas as pd

WINDOWS = [10, 100, 1000, 10000, 100000, 1000000]
STATS = ["mean", "var", "min", "max"]


def read(path, dtypes):
    frame = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=["nan"])
    frame["TIMESTAMP"] = pd.to_datetime(frame["TIMESTAMP"])
    return frame


def write(frame, path):
    # Every time with its nanoseconds (a column whose values all fall on whole seconds would
    # otherwise be written without a fraction).
    frame = frame.copy()
    frame["TIMESTAMP"] = frame["TIMESTAMP"].dt.strftime("%Y-%m-%d %H:%M:%S.") + (
        frame["TIMESTAMP"].astype("int64") % 1_000_000_000).astype(str).str.zfill(9)
    frame.to_csv(path, index=False, na_rep="nan")


TRADES = {"SYMBOL": str, "PRICE": "float64", "SIZE": "int64", "EXCHANGE": str}
QUOTES = {"SYMBOL": str, "BID_PRICE": "float64", "BID_SIZE": "int64", "ASK_PRICE": "float64",
          "ASK_SIZE": "int64"}


def main():
    workload, *paths = sys.argv[1:]
    if workload == "W1":
        prices = read(paths[0], {"PRICE": "float64"})
        out = {"TIMESTAMP": prices["TIMESTAMP"], "PRICE": prices["PRICE"]}
        for w in WINDOWS:
            roll = prices["PRICE"].rolling(w, min_periods=1)
            for stat in STATS:
                out[f"PRICE_{stat.upper()}_{w}"] = getattr(roll, stat)()
        write(pd.DataFrame(out), paths[1])
    elif workload == "W2":
        trades = read(paths[0], TRADES)
        big = trades[trades["SIZE"] > 500].copy()
        big["NOTIONAL"] = big["PRICE"] * big["SIZE"]
        write(big, paths[1])
    elif workload == "W3":
        trades = read(paths[0], TRADES)
        quotes = read(paths[1], QUOTES)
        joined = pd.merge_asof(trades, quotes, on="TIMESTAMP", by="SYMBOL",
                               allow_exact_matches=True)
        write(joined, paths[2])
    elif workload == "W4":
        trades = read(paths[0], TRADES)
        minute = 60_000_000_000
        trades["BUCKET"] = trades["TIMESTAMP"].astype("int64") // minute
        trades["NOTIONAL"] = trades["PRICE"] * trades["SIZE"]
        grouped = trades.groupby(["BUCKET", "SYMBOL"], sort=False)
        bars = grouped.agg(OPEN=("PRICE", "first"), HIGH=("PRICE", "max"), LOW=("PRICE", "min"),
                           CLOSE=("PRICE", "last"), VOLUME=("SIZE", "sum"),
                           NOTIONAL=("NOTIONAL", "sum"), TRADES=("PRICE", "size")).reset_index()
        bars["VWAP"] = bars["NOTIONAL"] / bars["VOLUME"]
        bars = bars.sort_values("BUCKET", kind="stable")
        bars["TIMESTAMP"] = pd.to_datetime((bars["BUCKET"] + 1) * minute)
        write(bars[["TIMESTAMP", "SYMBOL", "OPEN", "HIGH", "LOW", "CLOSE", "VOLUME", "VWAP",
                    "TRADES"]], paths[1])
    elif workload == "W5":
        trades = read(paths[0], TRADES)
        write(trades.sort_values("PRICE", ascending=False, kind="stable"), paths[1])
    else:
        sys.exit(f"unknown workload {workload}")


if __name__ == "__main__":
    main()
