#!/usr/bin/env python3
"""generate kind: market (issue: sample data that looks like a market): over 4 symbols and
60,000 events each, every trade lies at or inside the quote prevailing at its time, spreads
are positive and a few cents, symbols differ in price level and activity, there are about 3
quotes per trade and some odd lots, times strictly increase, and the output is byte-identical
for every --threads and --batch-size. With venues: quotes by venue whose best bid and offer
is never crossed, every trade at or inside it, and a trade at the bid or ask on a venue
quoting that price."""
import argparse
import collections
import csv
import io
import pathlib
import subprocess
import tempfile

from script_checks import check, summary

QUERY = """tickflow: 1
symbols: [AAPL, MSFT, F, BRK]
nodes:
  m: {ep: generate, kind: market, count: 60000, interval: 20ms, seed: 5}
  j: {ep: join_by_time, in: [m, m.quotes]}
output: [j, m.quotes]
"""

VENUES = """tickflow: 1
symbols: [AAPL, F]
nodes:
  m: {ep: generate, kind: market, count: 30000, interval: 20ms, seed: 9, venues: 4}
output: [m, m.quotes]
"""


def check_venues(tickflow, tmp):
    (tmp / "v.yaml").write_text(VENUES)
    outputs = []
    for threads, batch in [("1", "4096"), ("2", "5")]:
        out = tmp / f"venues_{threads}_{batch}"
        r = subprocess.run([tickflow, "run", "v.yaml", "--no-progress", "--threads", threads,
                            "--batch-size", batch, "-o", str(out)], cwd=tmp,
                           capture_output=True, text=True, timeout=300)
        check(f"venues: run --threads {threads} --batch-size {batch}", r.returncode == 0, r.stderr)
        if r.returncode != 0:
            return
        outputs.append(((out / "m.csv").read_text(), (out / "m.quotes.csv").read_text()))
    check("venues: byte-identical for every --threads/--batch-size", outputs[0] == outputs[1])
    trades = list(csv.DictReader(io.StringIO(outputs[0][0])))
    quotes = list(csv.DictReader(io.StringIO(outputs[0][1])))
    events = sorted([(q["SYMBOL"], q["TIMESTAMP"], 0, i, q) for i, q in enumerate(quotes)] +
                    [(t["SYMBOL"], t["TIMESTAMP"], 1, i, t) for i, t in enumerate(trades)],
                    key=lambda e: e[:4])
    book, crossed, outside, wrong_venue, at_touch = {}, [], [], [], 0
    for i, (symbol, time, kind, _, row) in enumerate(events):
        if kind == 0:
            book.setdefault(symbol, {})[row["EXCHANGE"]] = (float(row["BID_PRICE"]),
                                                            float(row["ASK_PRICE"]))
            following = events[i + 1] if i + 1 < len(events) else None
            if following and following[:2] == (symbol, time) and following[2] == 0:
                continue  # the NBBO is checked after the last venue of an update
            bid = max(b for b, _ in book[symbol].values())
            ask = min(a for _, a in book[symbol].values())
            if not bid < ask:
                crossed.append((symbol, time, bid, ask))
            continue
        bid = max(b for b, _ in book[symbol].values())
        ask = min(a for _, a in book[symbol].values())
        price = float(row["PRICE"])
        if not bid <= price <= ask:
            outside.append((symbol, time, bid, price, ask))
        if price in (bid, ask):
            at_touch += 1
            quoting = [v for v, (b, a) in book[symbol].items() if price in (b, a)]
            if row["EXCHANGE"] not in quoting:
                wrong_venue.append((symbol, time, row["EXCHANGE"], quoting))
    check("venues: four venues quote each symbol",
          {q["EXCHANGE"] for q in quotes} == {"N", "Q", "P", "Z"})
    check("venues: the best bid and offer is never locked or crossed", not crossed, crossed[:3])
    check("venues: every trade at or inside the best bid and offer", trades and not outside,
          outside[:3])
    check("venues: a trade at the bid or ask is on a venue quoting it",
          at_touch > 0 and not wrong_venue, wrong_venue[:3])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    tickflow = str(pathlib.Path(parser.parse_args().tickflow).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "q.yaml").write_text(QUERY)
        outputs = {}
        for threads, batch in [("1", "4096"), ("2", "7"), ("2", "65536"), ("1", "1")]:
            out = tmp / f"out_{threads}_{batch}"
            r = subprocess.run([tickflow, "run", "q.yaml", "--no-progress", "--threads", threads,
                                "--batch-size", batch, "-o", str(out)], cwd=tmp,
                               capture_output=True, text=True, timeout=300)
            check(f"run --threads {threads} --batch-size {batch}", r.returncode == 0, r.stderr)
            outputs[(threads, batch)] = ((out / "j.csv").read_bytes(), (out / "m.quotes.csv").read_bytes()) \
                if r.returncode == 0 else None
        first = outputs[("1", "4096")]
        check("byte-identical for every --threads/--batch-size",
              first and all(o == first for o in outputs.values()))
        trades = list(csv.DictReader(io.StringIO(first[0].decode())))
        quotes = list(csv.DictReader(io.StringIO(first[1].decode())))
        outside = [t for t in trades
                   if not float(t["BID_PRICE"]) <= float(t["PRICE"]) <= float(t["ASK_PRICE"])]
        check("every trade at or inside its prevailing quote", trades and not outside,
              outside[:3])
        spreads = [round(float(q["ASK_PRICE"]) - float(q["BID_PRICE"]), 4) for q in quotes]
        check("spreads are 1 to 6 cents", spreads and min(spreads) >= 0.01 and max(spreads) <= 0.06,
              (min(spreads), max(spreads)))
        by_symbol = collections.defaultdict(list)
        for t in trades:
            by_symbol[t["SYMBOL"]].append(t)
        levels = {s: float(rows[0]["PRICE"]) for s, rows in by_symbol.items()}
        check("four symbols at different price levels",
              len(levels) == 4 and len({round(v) for v in levels.values()}) == 4, levels)
        spans = {}
        for s, rows in by_symbol.items():
            times = [r["TIMESTAMP"] for r in rows]
            spans[s] = (times[0], times[-1])
            check(f"{s}: trade times strictly increase", all(a < b for a, b in zip(times, times[1:])))
        check("symbols differ in activity (time spanned by the same number of events)",
              len({v[1][:19] for v in spans.values()}) == 4, spans)
        ratio = len(quotes) / max(1, len(trades))
        check("about 3 quotes per trade", 2.5 <= ratio <= 4.5, ratio)
        odd = sum(1 for t in trades if int(t["SIZE"]) % 100)
        check("some odd lots, mostly round lots", 0.05 < odd / len(trades) < 0.2, odd / len(trades))
        inside = sum(1 for t in trades
                     if float(t["BID_PRICE"]) < float(t["PRICE"]) < float(t["ASK_PRICE"]))
        check("some trades inside the spread", inside > 0, inside)
        check_venues(tickflow, tmp)
    return summary()


if __name__ == "__main__":
    raise SystemExit(main())
