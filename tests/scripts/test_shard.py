#!/usr/bin/env python3
"""tickflow run --shard I/N and tickflow concat (docs/scale.md): the shards put back together
are byte-identical to the unsharded run for every output order, format, shard count and
thread count, by symbol and by day; a failing shard leaves no files; bad --shard values,
unshardable runs and parts that do not belong together are refused with exit status 2."""
import argparse
import json
import pathlib
import subprocess
import tempfile

from script_checks import check, summary

QUERY = """tickflow: 1
symbols: [AAA, BBB, CCC, DDD, EEE, FFF, GGG]
range: {start: "2024-01-02", end: "2024-01-06"}
nodes:
  trades: {ep: generate, count: 40, interval: 2h, start: "2024-01-02"}
  big: {ep: where, in: trades, if: "SIZE >= 300"}
"""

# Two outputs, strings with commas, quotes and line breaks, and a symbol with a comma.
TEXT_QUERY = """tickflow: 1
symbols: ["X", "Y,1", "Z"]
nodes:
  c: {ep: csv, path: "data/{symbol}.csv"}
  late: {ep: where, in: c, if: "N >= 2"}
output: [c, late]
"""


def tf(*args, cwd=None):
    r = subprocess.run([TICKFLOW, *args], capture_output=True, cwd=cwd, timeout=120)
    return r.returncode, r.stdout, r.stderr.decode()


def shards(tmp, query, n, ext, *extra, by="symbol", name="part"):
    """Runs the n shards; returns their output paths (or None when one failed)."""
    paths = []
    for i in range(n):
        path = tmp / f"{name}_{i}.{ext}"
        code, _, err = tf("run", query, "--no-progress", "--shard", f"{i}/{n}", "--shard-by", by,
                          "-o", str(path), *extra, cwd=tmp)
        if not check(f"shard {i}/{n} by {by} {extra} runs", code == 0, err):
            return None
        paths.append(str(path))
    return paths


def concat(tmp, paths):
    code, out, err = tf("concat", *paths, cwd=tmp)
    return out if code == 0 else err.encode()


def main():
    global TICKFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    TICKFLOW = str(pathlib.Path(parser.parse_args().tickflow).resolve())

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "q.yaml").write_text(QUERY)

        # By symbol: every order and format, N from 1 to more shards than symbols.
        for ext in ["csv", "jsonl"]:
            for order in [[], ["--merge-symbols"]]:
                code, full, err = tf("run", "q.yaml", "--no-progress", "--format", ext, *order, cwd=tmp)
                check("unsharded run", code == 0 and full.count(b"\n") > 50, err)
                for n in [1, 2, 3, 9]:
                    for threads in ["1", "2"]:
                        paths = shards(tmp, "q.yaml", n, ext, "--threads", threads, *order)
                        if paths:
                            check(f"{n} shards {ext} {order} threads {threads} == unsharded",
                                  concat(tmp, paths) == full)
                # Parts in any order on the command line.
                paths = shards(tmp, "q.yaml", 3, ext, *order)
                check(f"parts in any order {ext} {order}",
                      paths and concat(tmp, paths[::-1]) == full)

        manifest = json.loads((tmp / "part_1.jsonl.shard.json").read_text())
        check("manifest names its shard and the symbols",
              manifest["shard"] == 1 and manifest["shards"] == 3 and manifest["by"] == "symbol"
              and manifest["symbols"][1] == "BBB", manifest)
        paths = shards(tmp, "q.yaml", 3, "csv")
        blocks = json.loads((tmp / "part_1.csv.shard.json").read_text())["blocks"]
        check("shard 1 of 3 runs positions 1 and 4 (I mod N)", [b[0] for b in blocks] == [1, 4], blocks)
        check("a shard run twice writes the same bytes",
              paths and (lambda before: shards(tmp, "q.yaml", 3, "csv") and
                         (tmp / "part_1.csv").read_bytes() == before)((tmp / "part_1.csv").read_bytes()))

        # By day: 4 days in 1..6 shards (more shards than days: empty parts), both orders.
        for order in [[], ["--merge-symbols"]]:
            code, full, err = tf("run", "q.yaml", "--no-progress", *order, cwd=tmp)
            for n in [1, 2, 3, 6]:
                paths = shards(tmp, "q.yaml", n, "csv", *order, by="day")
                if paths:
                    check(f"{n} day shards {order} == unsharded", concat(tmp, paths) == full)
        (tmp / "nosym.yaml").write_text(QUERY.replace("symbols: [AAA, BBB, CCC, DDD, EEE, FFF, GGG]\n", ""))
        code, full, err = tf("run", "nosym.yaml", "--no-progress", cwd=tmp)
        paths = shards(tmp, "nosym.yaml", 3, "csv", by="day")
        check("day shards of a run without symbols", paths and concat(tmp, paths) == full)
        days = [json.loads(pathlib.Path(p + ".shard.json").read_text())["ticks"] for p in paths or []]
        check("day shards split the ticks", len(days) == 3 and all(d > 0 for d in days), days)

        # Text with commas, quotes and line breaks; two outputs written to directories.
        (tmp / "data").mkdir()
        for k, symbol in enumerate(["X", "Y,1", "Z"]):
            rows = [f'2024-01-02 10:00:0{i},"a,""{symbol}""\nline {i}",{i}' for i in range(4)]
            (tmp / "data" / f"{symbol}.csv").write_text("TIMESTAMP,NOTE,N\n" + "\n".join(rows) + "\n")
        (tmp / "text.yaml").write_text(TEXT_QUERY)
        for order in [[], ["--merge-symbols"]]:
            code, _, err = tf("run", "text.yaml", "--no-progress", "-o", "full_dir", *order, cwd=tmp)
            dirs = []
            for i in range(2):
                code, _, err = tf("run", "text.yaml", "--no-progress", "--shard", f"{i}/2", "-o",
                                  f"dir_{i}", *order, cwd=tmp)
                check(f"directory shard {i} {order}", code == 0, err)
                dirs.append(f"dir_{i}")
            code, _, err = tf("concat", *dirs, "-o", "joined", cwd=tmp)
            check(f"concat of directories {order}", code == 0 and all(
                (tmp / "joined" / f).read_bytes() == (tmp / "full_dir" / f).read_bytes()
                for f in ["c.csv", "late.csv"]), err)
            check("quoted line breaks survive", b'"a,""Y,1""\nline 0"' in (tmp / "joined/c.csv").read_bytes())

        # A failing shard: exit 1, no output file and no manifest; the symbol is named.
        (tmp / "fail.yaml").write_text(TEXT_QUERY.replace('"Z"]', '"MISSING"]'))
        code, _, err = tf("run", "fail.yaml", "--no-progress", "--shard", "0/2", "-o", "f0", cwd=tmp)
        check("failing shard exits 1 naming the symbol", code == 1 and "MISSING" in err, err)
        check("failing shard leaves no files", not (tmp / "f0").exists() or not any((tmp / "f0").iterdir()),
              list((tmp / "f0").iterdir()) if (tmp / "f0").exists() else "")

        # Bad --shard values and runs that cannot be sharded.
        bad_runs = [
            (["--shard", "3/2", "-o", "x.csv"], "I must be less than N"),
            (["--shard", "2/2", "-o", "x.csv"], "I must be less than N"),
            (["--shard", "0/0", "-o", "x.csv"], "N must be at least 1"),
            (["--shard", "x/y", "-o", "x.csv"], "expects I/N"),
            (["--shard", "1", "-o", "x.csv"], "expects I/N"),
            (["--shard", "-1/2", "-o", "x.csv"], "expects I/N"),
            (["--shard", "1/2/3", "-o", "x.csv"], "expects I/N"),
            (["--shard", "0/2"], "needs -o"),
            (["--shard", "0/2", "-o", "x.txt"], "csv or jsonl"),
            (["--shard", "0/2", "--format", "table", "-o", "x.out"], "csv or jsonl"),
            (["--shard", "0/2", "--symbols", "A,B,A", "-o", "x.csv"], "listed twice"),
            (["--shard-by", "day", "-o", "x.csv"], "requires --shard"),
            (["--shard", "0/2", "--shard-by", "week", "-o", "x.csv"], "week"),
        ]
        for args, expected in bad_runs:
            code, _, err = tf("run", "q.yaml", "--no-progress", *args, cwd=tmp)
            check(f"run {' '.join(args)}: exit 2, clear message", code == 2 and expected in err, f"{code} {err}")
        code, _, err = tf("run", "nosym.yaml", "--no-progress", "--shard", "0/2", "-o", "x.csv", cwd=tmp)
        check("symbol shards need symbols", code == 2 and "--shard-by day" in err, err)
        (tmp / "norange.yaml").write_text(QUERY.replace('range: {start: "2024-01-02", end: "2024-01-06"}\n', ""))
        code, _, err = tf("run", "norange.yaml", "--no-progress", "--shard", "0/2", "--shard-by", "day",
                          "-o", "x.csv", cwd=tmp)
        check("day shards need a range", code == 2 and "range" in err, err)
        check("refused runs write nothing", not (tmp / "x.csv").exists())

        # Parts that do not make one run.
        p = shards(tmp, "q.yaml", 3, "csv")
        other = shards(tmp, "q.yaml", 2, "csv", name="other")
        day = shards(tmp, "q.yaml", 3, "csv", by="day", name="day")
        (tmp / "copy.csv").write_bytes((tmp / "part_0.csv").read_bytes())
        (tmp / "cut.csv").write_bytes((tmp / "part_2.csv").read_bytes()[:-10])
        (tmp / "cut.csv.shard.json").write_text((tmp / "part_2.csv.shard.json").read_text())
        (tmp / "badjson.csv").write_bytes((tmp / "part_2.csv").read_bytes())
        (tmp / "badjson.csv.shard.json").write_text("{not json")
        bad_concats = [
            ([p[0], p[1]], "shards 2 of 3 are missing"),
            ([p[0], p[1], p[1], p[2]], "given twice"),
            ([p[0], p[1], other[1]], "shard counts"),
            ([p[0], p[1], day[2]], "--shard-by"),
            ([p[0], p[1], "copy.csv"], "cannot open the shard manifest"),
            ([p[0], p[1], "cut.csv"], "cut short"),
            ([p[0], p[1], "badjson.csv"], "not a valid shard manifest"),
            ([p[0], p[1], "nothere.csv"], "nothere.csv"),
            ([p[0], "data"], "not both"),
        ]
        for parts, expected in bad_concats:
            code, _, err = tf("concat", *parts, "-o", "joined.csv", cwd=tmp)
            check(f"concat {[pathlib.Path(x).name for x in parts]}: exit 2 '{expected}'",
                  code == 2 and expected in err, f"{code} {err}")
        check("refused concat writes nothing", not (tmp / "joined.csv").exists())
        code, _, err = tf("concat", cwd=tmp)
        check("concat without parts: usage error", code == 2, err)
    return summary()


if __name__ == "__main__":
    raise SystemExit(main())
