#!/usr/bin/env python3
"""--output-tz / output_tz: (SPEC §17) beyond stdout: write_csv and write_jsonl files (one
file per symbol and one combined file) print times in the output zone; shards of a
time-ordered run put back together by concat equal the unsharded run; an output with
offsets read back by the csv source gives the same instants as the UTC output."""
import argparse
import pathlib
import re
import subprocess
import tempfile

from script_checks import check, summary

QUERY = """tickflow: 1
symbols: [AAA, BBB, CCC]
range: {start: "2024-03-09", end: "2024-03-12"}
nodes:
  trades: {ep: generate, count: 30, interval: 97m, start: "2024-03-09"}
  stamped: {ep: add_field, in: trades, set: {SEEN: "TIMESTAMP + 1h"}}
  each: {ep: write_csv, in: stamped, path: "out/{symbol}.csv"}
  all: {ep: write_jsonl, in: stamped, path: "out/all.jsonl"}
output: stamped
"""

OFFSET_TIME = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}-0[45]:00$")


def tf(*args, cwd=None):
    r = subprocess.run([TICKFLOW, *args], capture_output=True, cwd=cwd, timeout=120)
    return r.returncode, r.stdout, r.stderr.decode()


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
        (tmp / "out").mkdir()
        code, utc, err = tf("run", "q.yaml", "--no-progress", cwd=tmp)
        check("UTC run", code == 0, err)
        code, zoned, err = tf("run", "q.yaml", "--no-progress", "--output-tz", "America/New_York",
                              cwd=tmp)
        check("zoned run", code == 0, err)
        rows = [line.split(b",") for line in zoned.splitlines()[1:]]
        check("every TIMESTAMP and SEEN has a New York offset",
              rows and all(OFFSET_TIME.match(r[0]) and OFFSET_TIME.match(r[-1]) for r in rows))
        check("both offsets occur (the run crosses 2024-03-10)",
              any(r[0].endswith(b"-05:00") for r in rows) and any(r[0].endswith(b"-04:00") for r in rows))
        per_symbol = (tmp / "out" / "BBB.csv").read_bytes()
        check("write_csv per symbol follows --output-tz",
              per_symbol.splitlines()[1:] and all(OFFSET_TIME.match(line.split(b",")[0])
                                                  for line in per_symbol.splitlines()[1:]))
        combined = (tmp / "out" / "all.jsonl").read_bytes()
        check("write_jsonl combined file follows --output-tz",
              combined.count(b"-05:00\"") > 0 and combined.count(b"-04:00\"") > 0
              and b"+00:00" not in combined)

        # Read back: the zoned output (offsets) and the UTC output are the same instants.
        for name, zone in [("zoned", ["--output-tz", "America/New_York"]), ("utc", [])]:
            code, _, err = tf("run", "q.yaml", "--no-progress", "--merge-symbols", *zone,
                              "-o", f"{name}.csv", cwd=tmp)
            check(f"time-ordered {name} run", code == 0, err)
        back = """tickflow: 1
nodes:
  c: {ep: csv, path: %s, fields: {SEEN: time}}
"""
        for name in ["zoned", "utc"]:
            (tmp / f"{name}.yaml").write_text(back % f"{name}.csv")
        code1, a, err1 = tf("run", "zoned.yaml", "--no-progress", cwd=tmp)
        code2, b, err2 = tf("run", "utc.yaml", "--no-progress", cwd=tmp)
        check("output with offsets reads back as the same instants",
              code1 == 0 and code2 == 0 and a == b and len(a) > 100, err1 + err2)

        # Shards of a time-ordered run, concatenated, equal the unsharded zoned run.
        code, full, err = tf("run", "q.yaml", "--no-progress", "--merge-symbols", "--output-tz",
                             "America/New_York", cwd=tmp)
        paths = []
        for i in range(3):
            path = tmp / f"part_{i}.csv"
            code, _, err = tf("run", "q.yaml", "--no-progress", "--merge-symbols", "--shard",
                              f"{i}/3", "--output-tz", "America/New_York", "-o", str(path), cwd=tmp)
            check(f"zoned shard {i}/3", code == 0, err)
            paths.append(str(path))
        code, joined, err = tf("concat", *paths, cwd=tmp)
        check("zoned shards concatenated == unsharded zoned run", code == 0 and joined == full, err)
    return summary()


if __name__ == "__main__":
    raise SystemExit(main())
