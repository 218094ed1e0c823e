#!/usr/bin/env python3
"""Independent check of tests/golden/trades_markout/expected.csv with pandas.

    tests/trades_markout_check.py --tickflow build/tickflow

Has tickflow write the example's generated trades and quotes (market, market.quotes) as CSV, computes the
prevailing quote and the quote 1s later with pandas merge_asof, and the MID, SPREAD and
MARKOUT_1S columns in Python; then compares with expected.csv (values within 1e-9, same
rows and times). Exits 1 on any difference.
"""
import argparse
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parent.parent
GRAPH = ROOT / "graphs" / "trades_markout.yaml"
EXPECTED = ROOT / "tests" / "golden" / "trades_markout" / "expected.csv"


def dump(tickflow, node, out):
    text = GRAPH.read_text().replace("output: shown", f"output: {node}")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=GRAPH.parent, delete=False) as f:
        f.write(text)
    try:
        subprocess.run([tickflow, "run", f.name, "--format", "csv", "-o", out], check=True)
    finally:
        pathlib.Path(f.name).unlink()
    frame = pd.read_csv(out)
    frame["TIMESTAMP"] = pd.to_datetime(frame["TIMESTAMP"])
    return frame


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trades = dump(args.tickflow, "market", f"{tmp}/trades.csv")
        quotes = dump(args.tickflow, "market.quotes", f"{tmp}/quotes.csv")
    now = pd.merge_asof(trades, quotes, on="TIMESTAMP", allow_exact_matches=True)
    later_quotes = quotes.copy()
    later_quotes["TIMESTAMP"] -= pd.Timedelta(seconds=1)
    later = pd.merge_asof(trades, later_quotes, on="TIMESTAMP", allow_exact_matches=True)
    mid = (now["BID_PRICE"] + now["ASK_PRICE"]) / 2
    want = pd.DataFrame({
        "TIMESTAMP": now["TIMESTAMP"], "PRICE": now["PRICE"], "SIZE": now["SIZE"],
        "BID_PRICE": now["BID_PRICE"], "ASK_PRICE": now["ASK_PRICE"], "MID": mid,
        "SPREAD": now["ASK_PRICE"] - now["BID_PRICE"],
        "MARKOUT_1S": (later["BID_PRICE"] + later["ASK_PRICE"]) / 2 - now["PRICE"],
    })
    got = pd.read_csv(EXPECTED)
    got["TIMESTAMP"] = pd.to_datetime(got["TIMESTAMP"])
    if list(got.columns) != list(want.columns) or len(got) != len(want):
        print(f"shape differs: {list(got.columns)} x {len(got)} vs {list(want.columns)} x {len(want)}")
        return 1
    bad = []
    if not (got["TIMESTAMP"] == want["TIMESTAMP"]).all():
        bad.append("TIMESTAMP")
    for column in want.columns[1:]:
        # expected.csv rounds MID, SPREAD and MARKOUT_1S to 4 digits.
        if not np.allclose(got[column], want[column], rtol=0, atol=5.01e-5, equal_nan=True):
            bad.append(column)
    print("differences in: " + ", ".join(bad) if bad else f"ok: {len(got)} rows agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
