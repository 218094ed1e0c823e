#!/usr/bin/env python3
"""Standing queries (SPEC §13): ticks pushed to `tickflow serve` in random splits give, on
the stream and from /latest, exactly the ticks `tickflow run` gives on the same data read
from files. Each graph runs as a batch query (csv sources) and as a served query (push
sources); the data is pushed in requests of 1 tick, 7 ticks, whole days and random sizes,
interleaving symbols and sources, with advances of idle sources in between, then the query
is stopped (its EPs flush as at the end of a batch run) and the streamed JSON lines must
equal the batch run's, byte for byte."""
import argparse
import csv
import io
import json
import pathlib
import random
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse

from script_checks import check, summary
from serve_support import HOST, Server

SYMBOLS = ["AAPL", "MSFT"]
DAY = 86_400 * 10**9

SOURCES = {
    "trades": "{PRICE: double, SIZE: int, EXCHANGE: string}",
    "quotes": "{BID_PRICE: double, BID_SIZE: int, ASK_PRICE: double, ASK_SIZE: int}",
}

# Graphs written once with SOURCE(name) where a source node goes: csv for the batch run,
# push for the served query. Each covers a family: bars, VWAP, rolling windows, a markout
# with two push sources, state variables (a sequential plan) and a plain merge.
GRAPHS = {
    "bars": """
  bars:
    ep: aggregate
    in: trades
    bucket: 1h
    aggs:
      OPEN: first(PRICE)
      HIGH: max(PRICE)
      LOW: min(PRICE)
      CLOSE: last(PRICE)
      VOLUME: sum(SIZE)
      VWAP: vwap(PRICE, SIZE)
      TRADES: count()
output: bars
""",
    "vwap": """
  running:
    ep: aggregate
    in: trades
    running: true
    group_by: [EXCHANGE]
    aggs:
      VWAP: vwap(PRICE, SIZE)
      VOLUME: sum(SIZE)
  shown:
    ep: add_field
    in: running
    set:
      VWAP_CENTS: round(VWAP * 100, 2)
output: shown
""",
    "rolling": """
  big:
    ep: where
    in: trades
    if: SIZE >= 200
  stats:
    ep: rolling_stats
    in: big
    field: PRICE
    windows: [5, 50]
    time_windows: [30m]
    stats: [mean, std, min, max]
output: stats
""",
    "markout": """
  quotes_1s_later:
    ep: update_timestamp
    in: quotes
    to: TIMESTAMP - 1s
    max_delay: 0s
  with_quotes:
    ep: join_by_time
    in: [trades, quotes, quotes_1s_later]
    prefix: {quotes_1s_later: LATER_}
  markout:
    ep: add_field
    in: with_quotes
    set:
      MID: round((BID_PRICE + ASK_PRICE) / 2, 4)
      MARKOUT_1S: round((LATER_BID_PRICE + LATER_ASK_PRICE) / 2 - PRICE, 4)
  shown:
    ep: keep
    in: markout
    fields: [PRICE, SIZE, MID, MARKOUT_1S]
output: shown
""",
    "state": """
  both:
    ep: merge
    in: [trades, quotes]
  count:
    ep: set_state
    in: both
    assign:
      SEEN: state.SEEN + 1
      VOLUME: state.VOLUME + SIZE
  seen:
    ep: add_field
    in: count
    set:
      N: state.SEEN
      V: state.VOLUME
  hourly:
    ep: aggregate
    in: seen
    bucket: 1h
    aggs:
      TICKS: count()
      LAST_N: last(N)
  after:
    ep: add_field
    in: hourly
    set: {SEEN_NOW: state.SEEN}
output: after
""",
    "merge": """
  both:
    ep: merge
    in: [quotes, trades]
  mid:
    ep: add_field
    in: both
    set: {MID: (BID_PRICE + ASK_PRICE) / 2}
output: mid
""",
}

STATE_DECL = "state:\n  SEEN: {type: int}\n  VOLUME: {type: int}\n"


def graph_text(name, body, served, data_dir):
    used = [s for s in SOURCES if f"in: {s}" in body or f"{s}," in body or f", {s}]" in body]
    lines = ["tickflow: 1", f"name: {name}", f"symbols: [{', '.join(SYMBOLS)}]"]
    if "state." in body:
        lines.append(STATE_DECL.rstrip())
    lines.append("nodes:")
    for source in used:
        lines.append(f"  {source}:")
        if served:
            lines.append("    ep: push")
        else:
            lines.append("    ep: csv")
            lines.append(f"    path: '{data_dir}/{source}_{{symbol}}.csv'")
        lines.append(f"    fields: {SOURCES[source]}")
    return "\n".join(lines) + body, used


def generate_data(tickflow, directory):
    """Three days of trades and quotes per symbol, as `tickflow run` writes them."""
    for source, kind, count, interval in (("trades", "trades", 700, "6m"),
                                          ("quotes", "quotes", 1500, "3m")):
        query = directory / f"gen_{source}.yaml"
        query.write_text(f"tickflow: 1\nnodes:\n  g: {{ep: generate, kind: {kind}, count: {count}, "
                         f"interval: {interval}, seed: 5, start: '2024-01-02 09:30:00'}}\n")
        for symbol in SYMBOLS:
            out = directory / f"{source}_{symbol}.csv"
            subprocess.run([tickflow, "run", str(query), "--symbols", symbol, "-o", str(out)],
                           check=True, timeout=60)


def read_rows(path):
    """(header without SYMBOL, [(time text, CSV line without SYMBOL)])."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    keep = [i for i, name in enumerate(header) if name != "SYMBOL"]
    def line(cells):
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([cells[i] for i in keep])
        return out.getvalue()
    return line(header), [(r[0], line(r)) for r in rows[1:]]


def split(rows, rng, strategy):
    """Consecutive chunks of rows: single ticks, 7 ticks, whole days or random sizes."""
    chunks, i = [], 0
    while i < len(rows):
        if strategy == "single":
            n = 1
        elif strategy == "seven":
            n = 7
        elif strategy == "days":
            day = rows[i][0][:10]
            n = 1
            while i + n < len(rows) and rows[i + n][0][:10] == day:
                n += 1
        else:
            n = rng.choice([1, 1, 2, 7, 30, 150])
        chunks.append(rows[i:i + n])
        i += n
    return chunks


class StreamReader(threading.Thread):
    """Reads a chunked JSON-lines stream into `lines` until the server ends it."""

    def __init__(self, port, path):
        super().__init__(daemon=True)
        self.sock = socket.create_connection((HOST, port), timeout=120)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        self.file = self.sock.makefile("rb")
        status = self.file.readline()
        self.status = int(status.split()[1])
        self.headers = {}
        while True:
            line = self.file.readline().decode().strip()
            if not line:
                break
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.body = b""
        self.error = None

    def run(self):
        try:
            while True:
                size = int(self.file.readline().strip(), 16)
                if size == 0:
                    break
                self.body += self.file.read(size)
                self.file.readline()
        except Exception as e:  # noqa: BLE001 - reported by the check on `error`
            self.error = repr(e)
        finally:
            self.sock.close()


def by_symbol(lines):
    groups = {s: [] for s in SYMBOLS}
    for line in lines:
        if line.strip():  # the stream's keep-alives are empty lines
            groups[json.loads(line)["SYMBOL"]].append(line)
    return groups


def push_all(server, name, used, data, rng, strategy):
    """Pushes every source and symbol in chunks, interleaved at random; advances an idle
    source now and then to the time of its next tick. Returns the number of requests."""
    queues = {}
    for source in used:
        for symbol in SYMBOLS:
            header, rows = data[(source, symbol)]
            queues[(source, symbol)] = (header, split(rows, rng, strategy))
    requests = 0
    while any(chunks for _, chunks in queues.values()):
        key = rng.choice([k for k, (_, chunks) in queues.items() if chunks])
        header, chunks = queues[key]
        source, symbol = key
        if rng.random() < 0.1:
            to = urllib.parse.quote(chunks[0][0][0])
            status, body = server.request(
                "POST", f"/v1/queries/{name}/advance/{source}?to={to}&symbol={symbol}")
            if not check(f"{name}: advance accepted", status == 200, body):
                return requests
        chunk = chunks.pop(0)
        body = header + "".join(line for _, line in chunk)
        status, reply = server.request("POST", f"/v1/queries/{name}/push/{source}?symbol={symbol}",
                                       body, {"Content-Type": "text/csv"})
        requests += 1
        if not check(f"{name}: push accepted", status == 200, reply):
            return requests
    return requests


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir")
    parser.add_argument("--build-dir")
    opts = parser.parse_args()
    tickflow = opts.tickflow

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        generate_data(tickflow, tmp)
        data = {(source, symbol): read_rows(tmp / f"{source}_{symbol}.csv")
                for source in SOURCES for symbol in SYMBOLS}
        served_files, expected = [], {}
        for name, body in GRAPHS.items():
            batch_text, used = graph_text(name, body, False, tmp)
            served_text, _ = graph_text(name, body, True, tmp)
            (tmp / f"{name}_batch.yaml").write_text(batch_text)
            (tmp / f"{name}.yaml").write_text(served_text)
            served_files.append(str(tmp / f"{name}.yaml"))
            run = subprocess.run([tickflow, "run", str(tmp / f"{name}_batch.yaml"),
                                  "--format", "jsonl"], capture_output=True, timeout=120)
            check(f"{name}: batch run", run.returncode == 0, run.stderr.decode())
            expected[name] = (by_symbol(run.stdout.decode().splitlines(keepends=True)), used)
            check(f"{name}: batch output is not empty", len(run.stdout) > 0)

        for seed, strategy in enumerate(["random", "single", "seven", "days"]):
            rng = random.Random(seed)
            with Server(tickflow, ["--threads", "2", *served_files]) as server:
                for name, (groups, used) in expected.items():
                    reader = StreamReader(server.port, f"/v1/queries/{name}/stream")
                    check(f"{name}: stream starts", reader.status == 200 and
                          reader.headers.get("content-type") == "application/x-ndjson",
                          reader.headers)
                    reader.start()
                    requests = push_all(server, name, used, data, rng, strategy)
                    # /latest before the stop: the last ticks released so far, a run of
                    # consecutive ticks of the batch output.
                    for symbol in SYMBOLS:
                        status, latest = server.request(
                            "GET", f"/v1/queries/{name}/latest?symbol={symbol}&n=5")
                        lines = latest.decode().splitlines(keepends=True)
                        want = groups[symbol]
                        runs = [want[i:i + len(lines)] for i in range(len(want) - len(lines) + 1)]
                        check(f"{name}/{strategy}: latest of {symbol}", status == 200 and
                              len(lines) == min(5, len(want)) and lines in runs, latest[:300])
                    status, reply = server.request("DELETE", f"/v1/queries/{name}")
                    check(f"{name}: stopped", status == 200, reply)
                    reader.join(timeout=60)
                    check(f"{name}: stream ended", not reader.is_alive() and not reader.error,
                          reader.error)
                    got = by_symbol(reader.body.decode().splitlines(keepends=True))
                    for symbol in SYMBOLS:
                        same = got[symbol] == groups[symbol]
                        detail = ""
                        if not same:
                            diff = next((i for i, (a, b) in
                                         enumerate(zip(got[symbol], groups[symbol]))
                                         if a != b), min(len(got[symbol]), len(groups[symbol])))
                            detail = (f"{len(got[symbol])} ticks streamed, {len(groups[symbol])} "
                                      f"in batch; first difference at {diff}:\n"
                                      f"  stream: {got[symbol][diff:diff + 1]}\n"
                                      f"  batch:  {groups[symbol][diff:diff + 1]}")
                        check(f"{name}/{strategy} ({requests} requests): stream of {symbol} "
                              f"equals the batch run", same, detail)
                code = server.stop()
                check(f"{strategy}: server stops cleanly", code == 0, server.stderr[-2000:])
    return summary()


if __name__ == "__main__":
    sys.exit(main())
