#!/usr/bin/env python3
"""A CSV file is parsed in pieces on several threads (`parse: pieces`; by default with three
threads or more, docs/performance.md, "Parallel CSV input"): the output, the errors with their file:line:column and the skipped
row counts must be the same as when it is read on one thread, for files of many windows
(a window is 1 MB a piece, two pieces a thread) holding quoted cells with line breaks and "" escapes, CRLF
line ends and empty lines. The unit test test_csv_parallel checks the same on small pieces;
this one checks the csv EP end to end, under several --threads and --batch-size values."""

import argparse
import os
import random
import subprocess
import tempfile
import time

from script_checks import check, summary

# `parse: pieces` cuts the file into pieces whenever the run has two threads or more.
PAIRS = [(1, 4096), (2, 1), (2, 4096), (2, 100000)]


def write_trades(path, rows, crlf, seed, damage=None):
    """A trades file with a NOTE column full of quoting. damage: {row: line text}."""
    rng = random.Random(seed)
    eol = "\r\n" if crlf else "\n"
    notes = ['"two\nlines"', '"say ""hi"""', '"comma, inside"', "", "plain", '"crlf\r\ninside"']
    with open(path, "w", newline="") as f:
        f.write("TIMESTAMP,SYMBOL,PRICE,SIZE,NOTE" + eol)
        base = 1704187800_000_000_000
        for r in range(rows):
            if damage and r in damage:
                f.write(damage[r] + eol)
                continue
            if r % 997 == 0:
                f.write(eol)  # an empty line
            t = base + r * 1_000_000
            secs, nanos = divmod(t, 1_000_000_000)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs)) + f".{nanos:09d}"
            f.write(f"{stamp},{rng.choice('AB')},{100 + rng.random():.4f},{rng.randrange(1000)},"
                    f"{rng.choice(notes)}{eol}")


def run(tf, query, cwd, threads, batch, extra=()):
    return subprocess.run([tf, "run", query, "--no-progress", "--threads", str(threads),
                           "--batch-size", str(batch), *extra],
                          cwd=cwd, capture_output=True, timeout=300)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir")
    parser.add_argument("--build-dir")
    args = parser.parse_args()
    tf = os.path.abspath(args.tickflow)

    with tempfile.TemporaryDirectory() as tmp:
        def query(name, text):
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)
            return name

        # 1. Whole files, LF and CRLF: the same bytes out for every --threads/--batch-size.
        for crlf in [False, True]:
            write_trades(os.path.join(tmp, "trades.csv"), 250_000, crlf, seed=7)
            q = query("all.yaml", "tickflow: 1\nnodes:\n  t: {ep: csv, path: trades.csv, parse: pieces}\n"
                                  "output: t\n")
            outputs = {}
            for threads, batch in PAIRS:
                r = run(tf, q, tmp, threads, batch)
                check(f"crlf={crlf} threads={threads} batch={batch}: runs", r.returncode == 0,
                      r.stderr.decode()[-2000:])
                outputs[(threads, batch)] = r.stdout
            first = outputs[PAIRS[0]]
            check(f"crlf={crlf}: every row out", first.count(b"\n") >= 250_001, len(first))
            for pair, out in outputs.items():
                check(f"crlf={crlf}: output of {pair} equals one thread's", out == first)

        # 2. Errors deep in the file: the same message and location on every thread count.
        damages = {
            "bad double": {180_000: "2024-01-02 09:40:00.000000000,A,oops,1,x"},
            "wrong width": {170_001: "2024-01-02 09:40:00.000000000,A"},
            "out of order": {200_000: "2024-01-01 00:00:00.000000000,A,1.0,1,x"},
            "unterminated quote": {190_000: '2024-01-02 09:40:00.000000000,A,1.0,1,"open'},
        }
        q = query("all.yaml", "tickflow: 1\nnodes:\n  t: {ep: csv, path: bad.csv, parse: pieces}\noutput: t\n")
        for name, damage in damages.items():
            write_trades(os.path.join(tmp, "bad.csv"), 220_000, False, seed=8, damage=damage)
            errors = set()
            for threads, batch in PAIRS:
                r = run(tf, q, tmp, threads, batch)
                check(f"{name} threads={threads}: fails", r.returncode != 0)
                errors.add(r.stderr.decode().strip().splitlines()[0] if r.stderr else "")
            check(f"{name}: one error for every --threads/--batch-size", len(errors) == 1, errors)
            check(f"{name}: located in bad.csv", all("bad.csv:" in e for e in errors), errors)

        # 3. Skipping bad rows: the same ticks and the same count skipped.
        damage = {r: "09:xx,A,oops,1,x" for r in range(1000, 200_000, 9973)}
        write_trades(os.path.join(tmp, "bad.csv"), 220_000, True, seed=9, damage=damage)
        q = query("skip.yaml", "tickflow: 1\nnodes:\n  t: {ep: csv, path: bad.csv, parse: pieces, "
                               "on_error: skip}\noutput: t\n")
        results = set()
        for threads, batch in PAIRS:
            r = run(tf, q, tmp, threads, batch, ["--stats"])
            check(f"skip threads={threads}: runs", r.returncode == 0, r.stderr.decode()[-2000:])
            skipped = [l for l in r.stderr.decode().splitlines() if "skipped_rows=" in l]
            results.add((r.stdout, tuple(s.split("skipped_rows=")[1].split()[0] for s in skipped)))
        check("skip: the same ticks and skipped count everywhere", len(results) == 1)
        check("skip: every damaged row skipped",
              all(s == (str(len(damage)),) for _, s in results), [s for _, s in results])

        # 4. A range that ends inside the file stops there on every thread count.
        q = query("range.yaml", "tickflow: 1\nrange: {start: '2024-01-02 09:30:30', "
                                "end: '2024-01-02 09:31:00'}\nnodes:\n"
                                "  t: {ep: csv, path: trades.csv, parse: pieces}\noutput: t\n")
        outs = {run(tf, q, tmp, t, b).stdout for t, b in PAIRS}
        check("range: one output", len(outs) == 1)
        check("range: 30 s of rows", next(iter(outs)).count(b"\n") > 20_000)
    return summary()


if __name__ == "__main__":
    raise SystemExit(main())
