#!/usr/bin/env python3
"""The market graphs in graphs/ (twap_vwap_bars, spread_stats, trade_to_quote,
open_close_prints, nbbo) recomputed independently with pandas from the generated trades and quotes
they read: every row and value of tickflow's output must agree (rounded values within half
a unit of their last digit). Their goldens (tests/golden/graph_*) fix the bytes; this test
checks that those bytes are right."""
import argparse
import pathlib
import re
import subprocess
import tempfile

import numpy as np
import pandas as pd

from script_checks import check, summary


def tickflow_frames(tickflow, graph, tmp, outputs):
    """Runs `graph` with its output replaced by `outputs`; one DataFrame per output."""
    text = re.sub(r"(?m)^output: .*$", "output: [%s]" % ", ".join(outputs), graph.read_text())
    query = tmp / ("dump_" + graph.name)
    query.write_text(text)
    out = tmp / ("out_" + graph.stem)
    subprocess.run([TICKFLOW, "run", str(query), "--no-progress", "-o", str(out)], check=True,
                   timeout=120)
    frames = []
    for name in outputs:
        path = out / f"{name}.csv" if len(outputs) > 1 else out
        frame = pd.read_csv(path, keep_default_na=False, na_values=["nan"])
        frame["TIMESTAMP"] = pd.to_datetime(frame["TIMESTAMP"])
        frames.append(frame)
    return frames


def run_graph(graph):
    r = subprocess.run([TICKFLOW, "run", str(graph), "--no-progress"], capture_output=True,
                       text=True, timeout=120)
    check(f"{graph.name} runs without files", r.returncode == 0, r.stderr)
    import io
    frame = pd.read_csv(io.StringIO(r.stdout), keep_default_na=False, na_values=["nan"])
    frame["TIMESTAMP"] = pd.to_datetime(frame["TIMESTAMP"])
    return frame


def time_weighted(times, values, start, end):
    """Σ value x time it was the latest in [start, end) / time with a value; the value at
    `start` is the last one before it."""
    total = weight = 0
    for i, t in enumerate(times):
        if t >= end:
            break
        nxt = times[i + 1] if i + 1 < len(times) else end
        lo, hi = max(t, start), min(nxt, end)
        if hi > lo:
            total += values[i] * (hi - lo)
            weight += hi - lo
    return total / weight if weight else np.nan


def buckets(start, end, width):
    edges = pd.date_range(start, end, freq=width)
    return list(zip(edges[:-1], edges[1:]))


def close(a, b, tol):
    return len(a) == len(b) and np.allclose(np.asarray(a, float), np.asarray(b, float),
                                           rtol=0, atol=tol, equal_nan=True)


def main():
    global TICKFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    opts = parser.parse_args()
    TICKFLOW = str(pathlib.Path(opts.tickflow).resolve())
    graphs = pathlib.Path(opts.source_dir).resolve() / "graphs"
    start, end = pd.Timestamp("2024-01-02 09:30"), pd.Timestamp("2024-01-02 09:40")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        trades, quotes = tickflow_frames(TICKFLOW, graphs / "twap_vwap_bars.yaml", tmp,
                                         ["market", "market.quotes"])

        # TWAP / VWAP bars
        got = run_graph(graphs / "twap_vwap_bars.yaml")
        rows = []
        for symbol, t in trades.groupby("SYMBOL", sort=False):
            times = t["TIMESTAMP"].astype("int64").tolist()
            for lo, hi in buckets(start, end, "1min"):
                inside = t[(t["TIMESTAMP"] >= lo) & (t["TIMESTAMP"] < hi)]
                twap = time_weighted(times, t["PRICE"].tolist(), lo.value, hi.value)
                vwap = (inside["PRICE"] * inside["SIZE"]).sum() / inside["SIZE"].sum()
                rows.append((hi, symbol, twap, vwap, inside["SIZE"].sum(), len(inside)))
        want = pd.DataFrame(rows, columns=["TIMESTAMP", "SYMBOL", "TWAP", "VWAP", "VOLUME", "TRADES"])
        check("twap_vwap_bars: same bars", len(got) == len(want) and
              (got["TIMESTAMP"] == want["TIMESTAMP"]).all() and (got["SYMBOL"] == want["SYMBOL"]).all(),
              f"{len(got)} vs {len(want)}")
        check("twap_vwap_bars: TWAP", close(got["TWAP"], want["TWAP"], 5.01e-5))
        check("twap_vwap_bars: VWAP", close(got["VWAP"], want["VWAP"], 5.01e-5))
        check("twap_vwap_bars: VOLUME and TRADES",
              (got["VOLUME"].tolist() == want["VOLUME"].tolist()) and
              got["TRADES"].tolist() == want["TRADES"].tolist())

        # Spread statistics
        got = run_graph(graphs / "spread_stats.yaml")
        q = quotes.copy()
        q["SPREAD_CENTS"] = ((q["ASK_PRICE"] - q["BID_PRICE"]) * 100).round()
        rows = []
        for symbol, s in q.groupby("SYMBOL", sort=False):
            times = s["TIMESTAMP"].astype("int64").tolist()
            for lo, hi in buckets(start, end, "5min"):
                inside = s[(s["TIMESTAMP"] >= lo) & (s["TIMESTAMP"] < hi)]["SPREAD_CENTS"]
                rows.append((hi, symbol, len(inside), inside.mean(), inside.median(), inside.max(),
                             time_weighted(times, s["SPREAD_CENTS"].tolist(), lo.value, hi.value)))
        want = pd.DataFrame(rows, columns=["TIMESTAMP", "SYMBOL", "QUOTES", "MEAN", "MEDIAN", "MAX",
                                           "TIME_WEIGHTED"])
        check("spread_stats: same rows and counts", len(got) == len(want) and
              got["QUOTES"].tolist() == want["QUOTES"].tolist())
        for column in ["MEAN", "MEDIAN", "MAX", "TIME_WEIGHTED"]:
            check(f"spread_stats: {column}", close(got[column], want[column], 5.01e-5))

        # Trade-to-quote ratio
        got = run_graph(graphs / "trade_to_quote.yaml")
        rows = []
        for symbol in trades["SYMBOL"].unique():
            t = trades[trades["SYMBOL"] == symbol]
            s = quotes[quotes["SYMBOL"] == symbol]
            for lo, hi in buckets(start, end, "1min"):
                nt = int(((t["TIMESTAMP"] >= lo) & (t["TIMESTAMP"] < hi)).sum())
                nq = int(((s["TIMESTAMP"] >= lo) & (s["TIMESTAMP"] < hi)).sum())
                rows.append((hi, symbol, nt, nq, round(100.0 * nt / nq, 2) if nq else np.nan))
        want = pd.DataFrame(rows, columns=["TIMESTAMP", "SYMBOL", "TRADES", "QUOTES",
                                           "TRADES_PER_100_QUOTES"])
        check("trade_to_quote: counts", len(got) == len(want) and
              got["TRADES"].tolist() == want["TRADES"].tolist() and
              got["QUOTES"].tolist() == want["QUOTES"].tolist())
        check("trade_to_quote: ratio", close(got["TRADES_PER_100_QUOTES"],
                                             want["TRADES_PER_100_QUOTES"], 0.00501))

        # Opening and closing prints of the New York session
        (all_trades,) = tickflow_frames(TICKFLOW, graphs / "open_close_prints.yaml", tmp, ["market"])
        got = run_graph(graphs / "open_close_prints.yaml")
        local = all_trades["TIMESTAMP"].dt.tz_localize("UTC").dt.tz_convert("America/New_York")
        minutes = local.dt.hour * 60 + local.dt.minute
        session = all_trades[(minutes >= 570) & (local.dt.hour < 16)].copy()
        session["DAY"] = local[session.index].dt.date
        rows = []
        for symbol, s in session.groupby("SYMBOL", sort=False):
            for day, d in s.groupby("DAY", sort=True):
                first, last = d.iloc[0], d.iloc[-1]
                rows.append((first["TIMESTAMP"], symbol, first["PRICE"], first["SIZE"], "open"))
                rows.append((last["TIMESTAMP"], symbol, last["PRICE"], last["SIZE"], "close"))
        want = pd.DataFrame(rows, columns=["TIMESTAMP", "SYMBOL", "PRICE", "SIZE", "PRINT"])
        want = want.sort_values(["SYMBOL", "TIMESTAMP"], kind="stable").reset_index(drop=True)
        got_sorted = got.sort_values(["SYMBOL", "TIMESTAMP"], kind="stable").reset_index(drop=True)
        check("open_close_prints: one open and one close per symbol and New York day",
              len(got) == len(want) and len(want) >= 8, f"{len(got)} vs {len(want)}")
        check("open_close_prints: the prints", len(got) == len(want) and
              (got_sorted["TIMESTAMP"] == want["TIMESTAMP"]).all() and
              got_sorted["PRICE"].tolist() == want["PRICE"].tolist() and
              got_sorted["SIZE"].tolist() == want["SIZE"].tolist() and
              got_sorted["PRINT"].tolist() == want["PRINT"].tolist())

        # NBBO across venues: the book of each venue's latest quote, best bid and offer
        # after the last update at each time, sizes and venue counts at the best prices.
        (venue_quotes,) = tickflow_frames(TICKFLOW, graphs / "nbbo.yaml", tmp, ["market.quotes"])
        got = run_graph(graphs / "nbbo.yaml")
        rows = []
        for symbol, s in venue_quotes.groupby("SYMBOL", sort=False):
            book = {}
            records = s.to_dict("records")
            for i, q in enumerate(records):
                book[q["EXCHANGE"]] = q
                if i + 1 < len(records) and records[i + 1]["TIMESTAMP"] == q["TIMESTAMP"]:
                    continue
                bid = max(v["BID_PRICE"] for v in book.values())
                ask = min(v["ASK_PRICE"] for v in book.values())
                at_bid = [v for v in book.values() if v["BID_PRICE"] == bid]
                at_ask = [v for v in book.values() if v["ASK_PRICE"] == ask]
                rows.append((q["TIMESTAMP"], symbol, bid, sum(v["BID_SIZE"] for v in at_bid),
                             len(at_bid), ask, sum(v["ASK_SIZE"] for v in at_ask), len(at_ask)))
        want = pd.DataFrame(rows, columns=["TIMESTAMP", "SYMBOL", "NBBO_BID", "BID_SIZE_AT_BEST",
                                           "BID_VENUES", "NBBO_ASK", "ASK_SIZE_AT_BEST",
                                           "ASK_VENUES"])
        check("nbbo: four venues quote", sorted(venue_quotes["EXCHANGE"].unique()) ==
              ["N", "P", "Q", "Z"], venue_quotes["EXCHANGE"].unique())
        check("nbbo: one row per symbol and update time", len(got) == len(want) and
              (got["TIMESTAMP"] == want["TIMESTAMP"]).all() and
              got["SYMBOL"].tolist() == want["SYMBOL"].tolist(), f"{len(got)} vs {len(want)}")
        if len(got) == len(want):
            for column in want.columns[2:]:
                check(f"nbbo: {column}", got[column].tolist() == want[column].tolist())
        check("nbbo: never locked or crossed", (got["NBBO_BID"] < got["NBBO_ASK"]).all())
    return summary()


if __name__ == "__main__":
    raise SystemExit(main())
