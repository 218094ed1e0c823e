#!/usr/bin/python3
"""tickflow against its peers end to end (docs/performance.md, "Against DuckDB and pandas"):
five workloads, each CSV in -> compute -> CSV out, in tickflow (--threads = all cores),
DuckDB (bench/peers_duckdb.mjs: @duckdb/node-api, same threads, TIMESTAMP_NS) and pandas
(bench/peers_pandas.py, /usr/bin/python3), interleaved, medians of RUNS runs, wall and CPU
seconds and peak RSS of each process.

  W1  rolling mean, var, min, max of PRICE over the last 10, 100, ..., 10^6 ticks (one symbol)
  W2  NOTIONAL = PRICE * SIZE where SIZE > 500 (trades, 8 symbols)
  W3  as-of join trades x quotes by SYMBOL (the prevailing quote of each trade)
  W4  1-minute OHLCV + VWAP bars by SYMBOL
  W5  stable sort of every trade by PRICE descending

The data sets are generated once by tickflow (deterministic) into bench/data/peers_N/:
trades.csv (8 symbols), quotes.csv (8 symbols), prices.csv (one symbol, TIMESTAMP and PRICE),
N rows each. The three outputs of each workload must agree: the same row count, exactly the
same sums of integer columns, the same order (a checksum over the row sequence of the times,
and of the integer columns), the same number of NaN per column and float column sums within
1e-9 relative. The floor of each workload is measured too: `cat` of its inputs.

  bench/peers.py                 # N = 10,000,000
  N=1000000 RUNS=3 bench/peers.py
Environment: N (rows of each data set), RUNS (default 3), BUILD_DIR (default build/, a
Release build), ONLY (e.g. "W2 W5": a subset). Needs node + npm (npm install runs in bench/
on first use) and Debian's python3-pandas.
"""
import os
import statistics
import subprocess
import sys

import numpy as np
import pandas as pd

from bench_support import (BENCH, ROOT, cpu_model, duckdb_version, log, prepare, run, timed,
                           workload_nodes)
N = int(os.environ.get("N", 10_000_000))
RUNS = int(os.environ.get("RUNS", 3))
THREADS = os.cpu_count() or 1
SYMBOLS = ["AAPL", "MSFT", "AMZN", "GOOG", "META", "NVDA", "TSLA", "JPM"]
DATA = BENCH / "data" / f"peers_{N}"
WINDOWS = [10, 100, 1000, 10000, 100000, 1000000]

INPUTS = {"W1": ["prices.csv"], "W2": ["trades.csv"], "W3": ["trades.csv", "quotes.csv"],
          "W4": ["trades.csv"], "W5": ["trades.csv"]}
QUERIES = {
    "W1": "  p: {ep: csv, path: prices.csv}\n"
          f"  out: {{ep: rolling_stats, in: p, field: PRICE, windows: {WINDOWS},"
          " stats: [mean, var, min, max]}\n",
    **{w: "".join(f"  {s}: {{ep: csv, path: {s}.csv}}\n" for s in ["trades", "quotes"] if f"{s}.csv" in INPUTS[w])
          + workload_nodes(w, by_symbol_runs=False) for w in ["W2", "W3", "W4", "W5"]},
}


def make_inputs(tf):
    per_symbol = N // len(SYMBOLS)
    sets = {
        "trades.csv": (f"{{ep: generate, kind: trades, count: {per_symbol}, interval: 50ms, seed: 7}}",
                       SYMBOLS),
        "quotes.csv": (f"{{ep: generate, kind: quotes, count: {per_symbol}, interval: 50ms, seed: 8}}",
                       SYMBOLS),
        "prices.csv": (f"{{ep: generate, kind: trades, count: {N}, interval: 10ms, seed: 9}}", []),
    }
    for name, (source, symbols) in sets.items():
        path = DATA / name
        if path.exists():
            continue
        log(f"writing {path.relative_to(ROOT)}")
        text = f"tickflow: 1\nnodes:\n  src: {source}\n"
        if name == "prices.csv":
            text += "  out: {ep: keep, in: src, fields: [PRICE]}\noutput: out\n"
        (DATA / "make.yaml").write_text(text)
        args = ["--symbols", ",".join(symbols), "--merge-symbols"] if symbols else []
        run([tf, "run", "make.yaml", "--no-progress", *args, "-o", f"tmp_{name}"], cwd=DATA)
        (DATA / f"tmp_{name}").rename(path)


def summarize(path, sort_by=None):
    """What the outputs must agree on: rows, NaN counts, integer sums, float sums and
    order checksums (sum of row number x value, mod 2^64) of the times and integer columns."""
    summary = {"rows": 0, "nan": {}, "int": {}, "float": {}, "order": {}}
    chunks = pd.read_csv(path, chunksize=2_000_000, keep_default_na=False, na_values=["nan", ""],
                         dtype={"SYMBOL": str, "EXCHANGE": str})
    if sort_by:  # an order the engines need not share: compare sorted
        whole = pd.concat(chunks).sort_values(sort_by, kind="stable").reset_index(drop=True)
        chunks = [whole]
    for chunk in chunks:
        start = summary["rows"]
        summary["rows"] += len(chunk)
        position = np.arange(start + 1, start + len(chunk) + 1, dtype=np.uint64)
        for column in chunk.columns:
            values = chunk[column]
            if column == "TIMESTAMP":
                values = pd.to_datetime(values).astype("int64")
            elif values.dtype == object:
                continue
            if values.dtype.kind == "i":
                summary["int"][column] = summary["int"].get(column, 0) + int(values.sum())
                weighted = int(np.sum(position * values.to_numpy().astype(np.uint64),
                                      dtype=np.uint64))
                summary["order"][column] = (summary["order"].get(column, 0) + weighted) % 2**64
            else:
                summary["nan"][column] = summary["nan"].get(column, 0) + int(values.isna().sum())
                summary["float"][column] = summary["float"].get(column, 0.0) + float(values.sum())
    return summary


def disagreements(a, b):
    """What differs between two summaries (empty when they agree)."""
    problems = []
    for key in ["rows", "nan", "int", "order"]:
        if a[key] != b[key]:
            problems.append(f"{key}: {a[key]} vs {b[key]}")
    if set(a["float"]) != set(b["float"]):
        problems.append(f"float columns: {sorted(a['float'])} vs {sorted(b['float'])}")
    for column in set(a["float"]) & set(b["float"]):
        x, y = a["float"][column], b["float"][column]
        relative = abs(x - y) / max(abs(x), abs(y), 1e-300)
        if relative > 1e-9:
            problems.append(f"sum of {column} differs by {relative:.1e} relative")
    return problems


def main():
    tf = prepare(DATA)
    make_inputs(tf)
    workloads = os.environ.get("ONLY", " ".join(QUERIES)).split()
    for w in workloads:
        (DATA / f"{w}.yaml").write_text(f"tickflow: 1\nnodes:\n{QUERIES[w]}output: out\n")
    load_avg = open("/proc/loadavg").read().split()[:3]
    out = DATA / "out"
    out.mkdir(exist_ok=True)
    node = ["node", str(BENCH / "peers_duckdb.mjs")]
    pandas = ["/usr/bin/python3", str(BENCH / "peers_pandas.py")]
    commands = {}
    for w in workloads:
        inputs = INPUTS[w]
        commands[(w, "tickflow")] = [tf, "run", f"{w}.yaml", "--no-progress", "--threads",
                                     str(THREADS), "-o", f"out/{w}_tickflow.csv"]
        commands[(w, "duckdb")] = node + [w, *inputs, f"out/{w}_duckdb.csv", str(THREADS)]
        commands[(w, "pandas")] = pandas + [w, *inputs, f"out/{w}_pandas.csv"]
        commands[(w, "cat")] = ["sh", "-c", "cat " + " ".join(inputs) + " > /dev/null"]
    log(f"{', '.join(workloads)}: {RUNS} interleaved rounds of tickflow, DuckDB, pandas")
    times = {key: [] for key in commands}
    for round_number in range(RUNS):
        for key, cmd in commands.items():
            times[key].append(timed(cmd, DATA))
            log(f"round {round_number + 1}: {key[0]} {key[1]} {times[key][-1][0]:.2f} s")

    log("checking that the three engines' outputs agree")
    agree = {}
    for w in workloads:
        sort_by = ["TIMESTAMP", "SYMBOL"] if w == "W4" else None
        summaries = {e: summarize(out / f"{w}_{e}.csv", sort_by) for e in ["tickflow", "duckdb", "pandas"]}
        problems = [f"{e}: {p}" for e in ["duckdb", "pandas"]
                    for p in disagreements(summaries["tickflow"], summaries[e])]
        agree[w] = (summaries["tickflow"]["rows"], problems)
        for p in problems:
            print(f"DISAGREE {w} {p}", file=sys.stderr)

    med = lambda xs, i: statistics.median(x[i] for x in xs)
    cpu = cpu_model()
    version = run([tf, "version"]).stdout.strip()
    duck_version = duckdb_version()
    pandas_version = run(["/usr/bin/python3", "-c", "import pandas; print(pandas.__version__)"]).stdout.strip()
    print(f"\n### Results ({N:,} rows per data set)\n")
    print(f"- machine: {THREADS} cores (nproc), {cpu}; load average before the run: {' '.join(load_avg)}")
    print(f"- {version} --threads {THREADS}; DuckDB {duck_version} (@duckdb/node-api) threads {THREADS}; "
          f"pandas {pandas_version} (one thread)")
    print(f"- medians of {RUNS} interleaved runs, whole processes: wall seconds, CPU seconds (user + "
          "system) in brackets, peak RSS")
    print()
    print("| workload (output rows) | tickflow | DuckDB | pandas | vs DuckDB | vs pandas | "
          "RSS tickflow / DuckDB / pandas | floor: cat of the input | outputs agree |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for w in workloads:
        t, d, p, c = (times[(w, e)] for e in ["tickflow", "duckdb", "pandas", "cat"])
        rows, problems = agree[w]
        print(f"| {w} ({rows:,}) | {med(t, 0):.2f} ({med(t, 1):.2f}) | {med(d, 0):.2f} ({med(d, 1):.2f}) | "
              f"{med(p, 0):.2f} ({med(p, 1):.2f}) | **{med(d, 0) / med(t, 0):.1f}x** | "
              f"**{med(p, 0) / med(t, 0):.1f}x** | {med(t, 2):.0f} / {med(d, 2):.0f} / {med(p, 2):.0f} MB | "
              f"{med(c, 0):.2f} | {'yes' if not problems else 'NO: ' + '; '.join(problems)[:200]} |")


if __name__ == "__main__":
    main()
