#!/usr/bin/env python3
"""Writes tests/golden/graph_ohlcv_bars/expected.csv for graphs/ohlcv_bars.yaml, computed here
from the trades `generate` produces (dumped once by tickflow with nothing but the source, so
only the source is trusted), with exact rational arithmetic for VWAP (sum(PRICE * SIZE) /
sum(SIZE) of the exact double prices, rounded once):

    python3 tests/ohlcv_bars_expected.py --tickflow build/tickflow
"""
import argparse
import csv
import pathlib
import subprocess
import tempfile
from fractions import Fraction

ROOT = pathlib.Path(__file__).resolve().parent.parent
CASE = ROOT / "tests" / "golden" / "graph_ohlcv_bars"
MINUTE = 60 * 10**9
DAY = 86400 * 10**9
SOURCE = """tickflow: 1
symbols: [AAPL, MSFT]
nodes:
  trades: {ep: generate, kind: trades, count: 1500, interval: 200ms, seed: 7}
"""


def to_ns(text):
    import datetime
    date, clock = text.split(" ")
    whole, frac = clock.split(".")
    d = datetime.datetime.fromisoformat(f"{date} {whole}").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 10**9 + int(frac)


def fmt(x):
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        graph = pathlib.Path(tmp) / "source.yaml"
        graph.write_text(SOURCE)
        out = subprocess.run([opts.tickflow, "run", str(graph), "--format", "csv"],
                             check=True, capture_output=True, text=True).stdout
    rows = list(csv.DictReader(out.splitlines()))
    lines = ["TIMESTAMP,SYMBOL,OPEN,HIGH,LOW,CLOSE,VOLUME,VWAP,TRADES"]
    for symbol in ["AAPL", "MSFT"]:
        trades = [r for r in rows if r["SYMBOL"] == symbol]
        first = to_ns(trades[0]["TIMESTAMP"])
        origin = first // DAY * DAY
        bars = {}
        for r in trades:
            k = (to_ns(r["TIMESTAMP"]) - origin) // MINUTE
            bars.setdefault(k, []).append((float(r["PRICE"]), int(r["SIZE"])))
        for k in range(min(bars), max(bars) + 1):
            bar = bars.get(k, [])
            end = origin + (k + 1) * MINUTE
            out_time = end
            prices = [p for p, _ in bar]
            vwap = sum(Fraction(p) * s for p, s in bar) / sum(s for _, s in bar)
            import datetime
            t = datetime.datetime.fromtimestamp(out_time // 10**9, datetime.timezone.utc)
            lines.append(",".join([t.strftime("%Y-%m-%d %H:%M:%S") + f".{out_time % 10**9:09d}", symbol,
                                   fmt(prices[0]), fmt(max(prices)), fmt(min(prices)), fmt(prices[-1]),
                                   str(sum(s for _, s in bar)), fmt(vwap), str(len(bar))]))
    (CASE / "expected.csv").write_text("\n".join(lines) + "\n")
    print(f"wrote {CASE / 'expected.csv'}")


if __name__ == "__main__":
    main()
