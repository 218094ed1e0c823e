#!/usr/bin/env python3
"""Standing queries (SPEC §13) end to end over HTTP on 127.0.0.1, Release build:

  throughput  ticks/s pushed as CSV bodies of BATCH ticks over one keep-alive connection
              through push -> rolling_stats (windows 10, 100, 1000) and push -> 1-minute
              OHLCV bars, the server answering each request after the ticks went through
              the graph; against `tickflow run` of the same query on the same ticks from a
              CSV file (the batch peer), interleaved, medians of ROUNDS.
  latency     push-to-stream p50/p99 at RATE ticks/s: requests of RATE/200 ticks every 5 ms
              through push -> rolling_stats, a subscriber reading the stream; a tick's
              latency is from just before its request is sent to when its line is read.

    bench/realtime.py                           # TICKS=1000000 BATCH=10000 ROUNDS=3
    TICKS=200000 ROUNDS=5 bench/realtime.py --threads 2

Run with /usr/bin/python3 (no third-party modules). Prints a markdown table.
"""
import argparse
import http.client
import os
import pathlib
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
START_NS = 1704187800 * 10**9  # 2024-01-02 09:30:00 UTC

QUERIES = {
    "rolling": """
  stats:
    ep: rolling_stats
    in: trades
    field: PRICE
    windows: [10, 100, 1000]
    stats: [mean, std, min, max]
""",
    "bars": """
  bars:
    ep: aggregate
    in: trades
    bucket: 1m
    aggs:
      OPEN: first(PRICE)
      HIGH: max(PRICE)
      LOW: min(PRICE)
      CLOSE: last(PRICE)
      VOLUME: sum(SIZE)
      VWAP: vwap(PRICE, SIZE)
""",
}


def query_text(name, body, source):
    return (f"tickflow: 1\nname: {name}\nnodes:\n  trades:\n{source}"
            "    fields: {PRICE: double, SIZE: int, SEQ: int}\n" + body)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def make_rows(n, seed=1):
    rng = random.Random(seed)
    price, t, rows = 100.0, START_NS, []
    for i in range(n):
        t += rng.randint(1, 20_000_000)  # mean 10 ms apart
        price = max(1.0, price + rng.choice((-0.01, 0.0, 0.01)))
        rows.append(f"{t},{price:.2f},{rng.randint(1, 10) * 100},{i}\n")
    return rows


class Server:
    """`tickflow serve` on a free port; retried on another port when the one picked was
    taken meanwhile (/v1/queries must list our queries and the process must be alive)."""

    def __init__(self, tickflow, files, threads):
        for _ in range(5):
            self.port = free_port()
            self.process = subprocess.Popen(
                [tickflow, "serve", "--host", HOST, "--port", str(self.port), "--threads",
                 str(threads), *files], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self.wait_until_up(len(files)):
                return
            self.stop()
        raise RuntimeError("server did not start")

    def wait_until_up(self, queries):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                c = http.client.HTTPConnection(HOST, self.port, timeout=5)
                c.request("GET", "/v1/queries")
                response = c.getresponse()
                body = response.read()
                c.close()
                return (response.status == 200 and body.count(b'"source"') == queries and
                        self.process.poll() is None)
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def push_throughput(tickflow, files, name, rows, batch, threads):
    server = Server(tickflow, files, threads)
    try:
        conn = http.client.HTTPConnection(HOST, server.port, timeout=120)
        bodies = ["TIMESTAMP,PRICE,SIZE,SEQ\n" + "".join(rows[i:i + batch])
                  for i in range(0, len(rows), batch)]
        started = time.perf_counter()
        for body in bodies:
            conn.request("POST", f"/v1/queries/{name}/push/trades", body,
                         {"Content-Type": "text/csv"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"push refused: {response.status}")
        elapsed = time.perf_counter() - started
        conn.close()
        return len(rows) / elapsed
    finally:
        server.stop()


def batch_throughput(tickflow, query_file, ticks):
    started = time.perf_counter()
    subprocess.run([tickflow, "run", str(query_file), "--format", "jsonl", "-o", os.devnull,
                    "--threads", "1"], check=True, timeout=600)
    return ticks / (time.perf_counter() - started)


def latency(tickflow, files, rows, rate, seconds, threads):
    server = Server(tickflow, files, threads)
    try:
        per_request = max(1, rate // 200)
        sock = socket.create_connection((HOST, server.port), timeout=60)
        sock.sendall(f"GET /v1/queries/rolling/stream HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        stream = sock.makefile("rb")
        while stream.readline() not in (b"\r\n", b""):
            pass
        sent_at = {}
        latencies = []
        count = min(len(rows), rate * seconds)

        def read():
            seen = 0
            while seen < count:
                size = int(stream.readline().strip(), 16)
                if size == 0:
                    return
                chunk = stream.read(size)
                stream.readline()
                now = time.perf_counter()
                for line in chunk.splitlines():
                    seq = int(line[line.index(b'"SEQ":') + 6:].split(b",", 1)[0].rstrip(b"}"))
                    latencies.append(now - sent_at[seq // per_request])
                    seen += 1

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        conn = http.client.HTTPConnection(HOST, server.port, timeout=60)
        period = per_request / rate
        next_at = time.perf_counter()
        for r, i in enumerate(range(0, count, per_request)):
            body = "TIMESTAMP,PRICE,SIZE,SEQ\n" + "".join(rows[i:i + per_request])
            now = time.perf_counter()
            if now < next_at:
                time.sleep(next_at - now)
            next_at += period
            sent_at[r] = time.perf_counter()
            conn.request("POST", "/v1/queries/rolling/push/trades", body,
                         {"Content-Type": "text/csv"})
            conn.getresponse().read()
        reader.join(timeout=60)
        sock.close()
        latencies.sort()
        pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3
        return pick(0.5), pick(0.99), len(latencies)
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickflow", default=str(ROOT / "build" / "tickflow"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    opts = parser.parse_args()
    ticks = int(os.environ.get("TICKS", 1_000_000))
    batch = int(os.environ.get("BATCH", 10_000))
    rounds = int(os.environ.get("ROUNDS", 3))
    rate = int(os.environ.get("RATE", 10_000))
    seconds = int(os.environ.get("SECONDS", 5))

    rows = make_rows(ticks)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "trades.csv").write_text("TIMESTAMP,PRICE,SIZE,SEQ\n" + "".join(rows))
        served, batch_files = [], {}
        for name, body in QUERIES.items():
            (tmp / f"{name}.yaml").write_text(query_text(name, body, "    ep: push\n"))
            served.append(str(tmp / f"{name}.yaml"))
            batch_files[name] = tmp / f"{name}_batch.yaml"
            batch_files[name].write_text(query_text(
                name, body, f"    ep: csv\n    path: {tmp / 'trades.csv'}\n"))
        results = {(name, kind): [] for name in QUERIES for kind in ("push", "batch")}
        for _ in range(rounds):
            for name in QUERIES:  # interleaved: served, then the batch peer
                results[(name, "push")].append(
                    push_throughput(opts.tickflow, served, name, rows, batch, opts.threads))
                results[(name, "batch")].append(
                    batch_throughput(opts.tickflow, batch_files[name], ticks))
        lat = [latency(opts.tickflow, served, rows, rate, seconds, opts.threads)
               for _ in range(rounds)]

    cores = os.cpu_count()
    print(f"\n{ticks:,} ticks, CSV bodies of {batch:,} ticks, server --threads {opts.threads}, "
          f"{cores} cores, medians of {rounds}\n")
    print("| query | pushed over HTTP (ticks/s) | `tickflow run` from CSV (ticks/s) | ratio |")
    print("|---|---|---|---|")
    for name in QUERIES:
        push = statistics.median(results[(name, "push")])
        run = statistics.median(results[(name, "batch")])
        print(f"| {name} | {push:,.0f} | {run:,.0f} | {push / run:.2f} |")
    p50 = statistics.median(x[0] for x in lat)
    p99 = statistics.median(x[1] for x in lat)
    print(f"\npush-to-stream latency at {rate:,} ticks/s ({max(1, rate // 200)} ticks per request "
          f"every 5 ms, {seconds} s, rolling): p50 {p50:.2f} ms, p99 {p99:.2f} ms "
          f"(ticks measured per round: {lat[0][2]:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
