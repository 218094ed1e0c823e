#!/usr/bin/env python3
"""csv input beyond plain files (SPEC §17): .gz and .zst files by extension and by magic
bytes, concatenated gzip members, standard input with `path: -` read once (also with a
symbol column split over several symbols), clear errors for truncated or mislabelled
compressed files, and an unknown output extension as a usage error (exit 2)."""

import argparse
import gzip
import os
import subprocess
import sys
import tempfile

from script_checks import check, summary

ROWS = 40000  # over the 1 MiB read while sampling the schema, so stdin is read on by the run


def csv_text(symbols=("A",)):
    lines = ["TIMESTAMP,SYMBOL,PRICE,SIZE"]
    for i in range(ROWS):
        sym = symbols[i % len(symbols)]
        lines.append(f"2024-03-08 14:30:{i // 1000:02d}.{i % 1000:03d},{sym},{100 + i * 0.25},{i % 7 + 1}")
    return ("\n".join(lines) + "\n").encode()


def graph(path, extra=""):
    return (
        "tickflow: 1\n"
        f"{extra}"
        "nodes:\n"
        "  t:\n"
        "    ep: csv\n"
        f"    path: \"{path}\"\n"
        "  s:\n"
        "    ep: aggregate\n"
        "    in: t\n"
        '    aggs: {N: "count()", TOTAL: "sum(PRICE)", LAST: "last(SIZE)"}\n'
    )


def run(tickflow, work, yaml_text, args=(), stdin=None):
    with open(os.path.join(work, "q.yaml"), "w") as f:
        f.write(yaml_text)
    proc = subprocess.run(
        [tickflow, "run", "q.yaml", *args],
        cwd=work,
        input=stdin,
        capture_output=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir")
    parser.add_argument("--build-dir")
    args = parser.parse_args()
    tf = os.path.abspath(args.tickflow)
    work = tempfile.mkdtemp(prefix="tickflow_inputs_")
    data = csv_text()
    with open(os.path.join(work, "plain.csv"), "wb") as f:
        f.write(data)
    code, expected, err = run(tf, work, graph("plain.csv"))
    check("plain csv runs", code == 0 and "40000" in expected, err)

    with open(os.path.join(work, "d.csv.gz"), "wb") as f:
        f.write(gzip.compress(data))
    code, out, err = run(tf, work, graph("d.csv.gz"))
    check("gz by extension", code == 0 and out == expected, out + err)

    # Two gzip members, as `cat a.gz b.gz` makes, are one stream.
    half = data.index(b"\n", len(data) // 2) + 1
    with open(os.path.join(work, "two.csv.gz"), "wb") as f:
        f.write(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    code, out, err = run(tf, work, graph("two.csv.gz"))
    check("concatenated gzip members", code == 0 and out == expected, out + err)

    subprocess.run(["zstd", "-q", "-f", "-o", os.path.join(work, "d.csv.zst"),
                    os.path.join(work, "plain.csv")], check=True)
    code, out, err = run(tf, work, graph("d.csv.zst"))
    check("zst by extension", code == 0 and out == expected, out + err)

    # Magic bytes decide: a compressed file named .csv still reads.
    os.replace(os.path.join(work, "d.csv.zst"), os.path.join(work, "zst_named.csv"))
    code, out, err = run(tf, work, graph("zst_named.csv"))
    check("zst by magic bytes", code == 0 and out == expected, out + err)

    for name, blob in (("cut.csv.gz", gzip.compress(data)),
                       ("cut.csv.zst", open(os.path.join(work, "zst_named.csv"), "rb").read())):
        with open(os.path.join(work, name), "wb") as f:
            f.write(blob[: len(blob) * 2 // 3])
        code, out, err = run(tf, work, graph(name), ["-o", "out.csv"])
        check(f"truncated {name} fails with status 1", code == 1, err)
        check(f"truncated {name} says so", name in err and "truncated" in err, err)
        check(f"truncated {name} leaves no output", not os.path.exists(os.path.join(work, "out.csv")))

    with open(os.path.join(work, "fake.csv.gz"), "wb") as f:
        f.write(data)
    code, out, err = run(tf, work, graph("fake.csv.gz"))
    check("plain text named .gz is an error", code == 1 and "not gzip" in err, err)

    with open(os.path.join(work, "bad.csv.gz"), "wb") as f:
        blob = bytearray(gzip.compress(data))
        for i in range(40, 80):
            blob[i] ^= 0x5A
        f.write(bytes(blob))
    code, out, err = run(tf, work, graph("bad.csv.gz"))
    check("corrupt gzip is an error", code == 1 and "bad.csv.gz" in err, err)

    # Standard input: the schema comes from the first rows and the stream is read once.
    code, out, err = run(tf, work, graph("-"), stdin=data)
    check("stdin", code == 0 and out == expected, out + err)
    code, out, err = run(tf, work, graph("-"), stdin=gzip.compress(data))
    check("gzip on stdin", code == 0 and out == expected, out + err)
    code, out, err = run(tf, work, graph("-"), stdin=b"")
    check("empty stdin is an error", code == 1 and "<stdin>" in err and "empty" in err, err)

    multi = csv_text(("A", "B", "C"))
    with open(os.path.join(work, "multi.csv"), "wb") as f:
        f.write(multi)
    code, expected_multi, err = run(tf, work, graph("multi.csv"), ["--symbols", "A,B,C"])
    code2, out, err2 = run(tf, work, graph("-"), ["--symbols", "A,B,C", "--threads", "2"],
                           stdin=multi)
    check("stdin split by symbol column", code == 0 and code2 == 0 and out == expected_multi,
          out + err + err2)
    nosym = data.replace(b",SYMBOL", b"").replace(b",A,", b",")
    code, out, err = run(tf, work, graph("-"), ["--symbols", "A,B"], stdin=nosym)
    check("stdin without symbol column for several symbols is an error",
          code != 0 and "read once" in err, err)

    # Output extensions.
    for bad in ("out.parquet", "out.cvs"):
        code, out, err = run(tf, work, graph("plain.csv"), ["-o", bad])
        check(f"-o {bad} is a usage error", code == 2 and "unknown output extension" in err, err)
        check(f"-o {bad} writes nothing", not os.path.exists(os.path.join(work, bad)))
    code, out, err = run(tf, work, graph("plain.csv"), ["-o", "out.parquet", "--format", "csv"])
    check("--format overrides the extension", code == 0, err)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
