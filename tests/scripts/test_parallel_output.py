#!/usr/bin/env python3
"""CSV and JSON-lines output formatted in parallel (large batches are cut into row ranges
formatted on the run's threads): the bytes are the same for every --threads and
--batch-size, for the query output and for write_csv/write_jsonl, with strings that need
quoting or escaping, NaN and infinities, time fields and several days; and the CSV read back
holds the values written."""
import argparse
import csv
import io
import math
import pathlib
import subprocess
import sys
import tempfile

from script_checks import check, summary

ROWS = 60_000


def tf(*args, cwd):
    r = subprocess.run([TICKFLOW, *args, "--no-progress"], capture_output=True, cwd=cwd, timeout=300)
    return r.returncode, r.stdout, r.stderr.decode()


def write_input(path):
    names = ["plain", 'quote "q"', "comma, here", "new\nline", "", "ünïcødé", "x" * 40]
    doubles = ["1.5", "nan", "inf", "-inf", "-0.25", "1e300", "3.141592653589793"]
    lines = ["TIMESTAMP,NAME,PRICE,SIZE,FLAG,SEEN"]
    start_day = 2
    for i in range(ROWS):
        day = start_day + i * 3 // ROWS  # three days
        second = i % 86_000
        ts = f"2024-01-{day:02d} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{i % 1000:03d}000{i % 7}00"
        name = names[i % len(names)]
        quoted = '"' + name.replace('"', '""') + '"'
        seen = f"2023-12-{1 + i % 28:02d} 00:00:{i % 60:02d}"
        lines.append(f"{ts},{quoted},{doubles[i % len(doubles)]},{i * 37 - 1_000_000},{'true' if i % 3 else 'false'},{seen}")
    path.write_text("\n".join(lines) + "\n")


def main():
    global TICKFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    TICKFLOW = str(pathlib.Path(parser.parse_args().tickflow).resolve())

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        write_input(tmp / "in.csv")
        (tmp / "q.yaml").write_text("""tickflow: 1
nodes:
  ticks:
    ep: csv
    path: in.csv
    fields: {NAME: string, PRICE: double, SIZE: int, FLAG: bool, SEEN: time}
  more:
    ep: add_field
    in: ticks
    set:
      NOTIONAL: PRICE * SIZE
      HALF: SIZE / 2.0
  side_csv:
    ep: write_csv
    in: more
    path: side.csv
  side_jsonl:
    ep: write_jsonl
    in: more
    path: side.jsonl
output: more
""")
        outputs = {}
        for fmt in ["csv", "jsonl"]:
            for threads in [1, 2, 4]:
                for batch in [1, 4096, 65536]:
                    if batch == 1 and threads == 4:
                        continue
                    out = f"out-{threads}-{batch}.{fmt}"
                    code, _, err = tf("run", "q.yaml", "--threads", str(threads), "--batch-size", str(batch),
                                      "-o", out, cwd=tmp)
                    if not check(f"run {fmt} --threads {threads} --batch-size {batch}", code == 0, err):
                        continue
                    outputs[(fmt, threads, batch)] = (
                        (tmp / out).read_bytes(), (tmp / "side.csv").read_bytes(), (tmp / "side.jsonl").read_bytes())
        for fmt in ["csv", "jsonl"]:
            reference = outputs.get((fmt, 1, 4096))
            if not check(f"{fmt} reference run", reference is not None):
                continue
            for key, got in outputs.items():
                if key[0] != fmt:
                    continue
                check(f"{fmt} output equal for --threads {key[1]} --batch-size {key[2]}", got[0] == reference[0])
                check(f"write_csv equal for --threads {key[1]} --batch-size {key[2]}", got[1] == reference[1])
                check(f"write_jsonl equal for --threads {key[1]} --batch-size {key[2]}", got[2] == reference[2])

        # What was written holds the input's values, row by row.
        text = outputs.get(("csv", 4, 65536), (b"",))[0].decode()
        rows = list(csv.DictReader(io.StringIO(text)))
        check("every row written", len(rows) == ROWS, str(len(rows)))
        source = list(csv.DictReader(io.StringIO((tmp / "in.csv").read_text())))
        bad = []
        for i, (got, want) in enumerate(zip(rows, source)):
            price = float(want["PRICE"])
            same_price = (math.isnan(price) and got["PRICE"] == "nan") or float(got["PRICE"]) == price
            if got["NAME"] != want["NAME"] or int(got["SIZE"]) != int(want["SIZE"]) or not same_price:
                bad.append((i, got, want))
        check("values read back", not bad, str(bad[:3]))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
