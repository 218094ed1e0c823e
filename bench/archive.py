#!/usr/bin/python3
"""Tick archive benchmark (docs/performance.md, "Tick archive"): load speed and compression of a
trades CSV, then the workloads W2-W5 three ways in the same run, interleaved:
tickflow over the CSV, tickflow over the archive (`ep: db`), and DuckDB over its own native
table (.duckdb file, through @duckdb/node-api).

  W2  NOTIONAL = PRICE * SIZE where SIZE > 500 (per symbol, time order)
  W3  as-of join trades x quotes by SYMBOL (prevailing quote at each trade)
  W4  1-minute OHLCV + VWAP bars by SYMBOL
  W5  stable sort of every trade by PRICE descending

Every result is written as CSV to a file. tickflow's outputs over CSV and over the archive are
checked to be byte-identical, and DuckDB's to have the same number of rows.

  bench/archive.py                      # 10M trades + 10M quotes, 10 symbols
  TICKS=2000000 bench/archive.py        # smaller
Environment: TICKS (trades, also quotes; default 10,000,000), RUNS (default 3), BUILD_DIR
(default build/, a Release build). Needs node + npm (npm install runs in bench/ on first use).
"""
import json
import os
import shutil
import statistics
import sys

from bench_support import (BENCH, ROOT, cpu_model, duckdb_version, log, prepare, run, timed,
                           workload_nodes)
TICKS = int(os.environ.get("TICKS", 10_000_000))
RUNS = int(os.environ.get("RUNS", 3))
THREADS = os.cpu_count() or 1
SYMBOLS = [f"S{i}" for i in range(10)]
DATA = BENCH / "data" / f"archive_{TICKS}"


def make_inputs(tf):
    per_symbol = TICKS // len(SYMBOLS)
    for name, kind, seed in [("trades", "trades", 7), ("quotes", "quotes", 8)]:
        path = DATA / f"{name}.csv"
        if path.exists():
            continue
        log(f"writing {path.relative_to(ROOT)}")
        (DATA / "make.yaml").write_text(
            f"tickflow: 1\nnodes:\n  src: {{ep: generate, kind: {kind}, count: {per_symbol}, "
            f"interval: 50ms, seed: {seed}}}\n")
        run([tf, "run", "make.yaml", "--no-progress", "--symbols", ",".join(SYMBOLS),
             "--merge-symbols", "-o", f"{name}.tmp.csv"], cwd=DATA)
        (DATA / f"{name}.tmp.csv").rename(path)


def queries():
    symbols = f"symbols: [{', '.join(SYMBOLS)}]\n"
    db = {"trades": "{ep: db, path: db, table: trades}", "quotes": "{ep: db, path: db, table: quotes}"}
    csv = {"trades": "{ep: csv, path: trades.csv}", "quotes": "{ep: csv, path: quotes.csv}"}
    bodies = {w: (symbols if w != "W5" else "", ["trades", "quotes"] if w == "W3" else ["trades"],
                  workload_nodes(w, by_symbol_runs=True)) for w in ["W2", "W3", "W4", "W5"]}
    for w, (head, sources, rest) in bodies.items():
        for kind, nodes in [("db", db), ("csv", csv)]:
            text = f"tickflow: 1\n{head}nodes:\n"
            text += "".join(f"  {s}: {nodes[s]}\n" for s in sources) + rest + "output: out\n"
            (DATA / f"{w}_{kind}.yaml").write_text(text)
    return list(bodies)


def main():
    tf = prepare(DATA)
    make_inputs(tf)
    workloads = queries()
    node = ["node", str(BENCH / "duckdb_archive.mjs")]
    load_avg = open("/proc/loadavg").read().split()[:3]

    log("load: tickflow load vs DuckDB CREATE TABLE AS read_csv (trades), interleaved")
    load = {"tickflow": [], "duckdb": []}
    for _ in range(RUNS):
        shutil.rmtree(DATA / "db_load", ignore_errors=True)
        load["tickflow"].append(timed([tf, "load", "trades.csv", "--db", "db_load", "--table", "trades",
                                        "--threads", str(THREADS)], DATA))
        load["duckdb"].append(timed(node + ["load", "load.duckdb", "trades.csv", "", str(THREADS)], DATA))
    listing = json.loads(run([tf, "db", "list", "db_load", "--format", "json"], cwd=DATA).stdout)[0]
    duck_load_bytes = (DATA / "load.duckdb").stat().st_size

    log("building the archive and the DuckDB database used by the queries")
    shutil.rmtree(DATA / "db", ignore_errors=True)
    for table in ["trades", "quotes"]:
        run([tf, "load", f"{table}.csv", "--db", "db", "--table", table], cwd=DATA)
    run(node + ["load", "ticks.duckdb", "trades.csv", "quotes.csv", str(THREADS)], cwd=DATA)

    log(f"W2-W5, {RUNS} interleaved rounds")
    out = DATA / "out"
    out.mkdir(exist_ok=True)
    commands = {}
    for w in workloads:
        for kind in ["csv", "db"]:
            commands[(w, f"tickflow_{kind}")] = [tf, "run", f"{w}_{kind}.yaml", "--no-progress", "--threads",
                                                 str(THREADS), "-o", f"out/{w}_{kind}.csv"]
        commands[(w, "duckdb")] = node + ["query", "ticks.duckdb", w, f"out/{w}_duckdb.csv", str(THREADS)]
    times = {key: [] for key in commands}
    for _ in range(RUNS):
        for key, cmd in commands.items():
            times[key].append(timed(cmd, DATA))
    checks = {}
    for w in workloads:
        same = (out / f"{w}_csv.csv").read_bytes() == (out / f"{w}_db.csv").read_bytes()
        rows = {k: sum(1 for _ in open(out / f"{w}_{k}.csv")) - 1 for k in ["db", "duckdb"]}
        checks[w] = (same, rows)
        if not same or rows["db"] != rows["duckdb"]:
            print(f"WARNING {w}: archive output identical to CSV output: {same}; rows {rows}", file=sys.stderr)

    med = lambda xs, i: statistics.median(x[i] for x in xs)
    cpu = cpu_model()
    version = run([tf, "version"]).stdout.strip()
    duck_version = duckdb_version()
    csv_bytes = (DATA / "trades.csv").stat().st_size
    print(f"\n### Results ({TICKS:,} trades{' and quotes' if True else ''}, {len(SYMBOLS)} symbols)\n")
    print(f"- machine: {THREADS} cores (nproc), {cpu}; load average before the run: {' '.join(load_avg)}")
    print(f"- {version}, --threads {THREADS}; DuckDB {duck_version} (@duckdb/node-api), threads {THREADS}")
    print(f"- medians of {RUNS} interleaved runs; wall seconds, and CPU seconds (user + system) in brackets\n")
    tl, dl = med(load["tickflow"], 0), med(load["duckdb"], 0)
    print("| load of trades.csv | wall s | CPU s | M ticks/s (wall) | bytes on disk | ratio to raw | ratio to CSV |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| tickflow load | {tl:.2f} | {med(load['tickflow'], 1):.2f} | {TICKS / tl / 1e6:.2f} | "
          f"{listing['bytes'] / 1e6:.1f} MB | {listing['raw_bytes'] / listing['bytes']:.1f}x | "
          f"{csv_bytes / listing['bytes']:.1f}x |")
    print(f"| DuckDB CREATE TABLE AS read_csv + CHECKPOINT | {dl:.2f} | {med(load['duckdb'], 1):.2f} | "
          f"{TICKS / dl / 1e6:.2f} | {duck_load_bytes / 1e6:.1f} MB | | {csv_bytes / duck_load_bytes:.1f}x |")
    print(f"\nCSV: {csv_bytes / 1e6:.1f} MB; raw = 8 bytes per number and time, 4 + length per string "
          f"({listing['raw_bytes'] / 1e6:.1f} MB).\n")
    print("| workload (output rows) | tickflow over CSV | tickflow over archive | DuckDB native table | "
          "archive vs CSV | archive vs DuckDB (wall) | (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for w in workloads:
        c, d, k = times[(w, "tickflow_csv")], times[(w, "tickflow_db")], times[(w, "duckdb")]
        same, rows = checks[w]
        print(f"| {w} ({rows['db']:,}) | {med(c, 0):.2f} ({med(c, 1):.2f}) | {med(d, 0):.2f} ({med(d, 1):.2f}) | "
              f"{med(k, 0):.2f} ({med(k, 1):.2f}) | {med(c, 0) / med(d, 0):.1f}x | "
              f"**{med(k, 0) / med(d, 0):.1f}x** | {med(k, 1) / med(d, 1):.1f}x |")
    print("\nArchive output byte-identical to the CSV query's: "
          + ", ".join(f"{w} {'yes' if checks[w][0] else 'NO'}" for w in workloads)
          + "; same row count as DuckDB: "
          + ", ".join(f"{w} {'yes' if checks[w][1]['db'] == checks[w][1]['duckdb'] else 'NO'}" for w in workloads))


if __name__ == "__main__":
    main()
