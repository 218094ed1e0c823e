#!/usr/bin/env python3
"""Builds the fuzzers' seed corpora from the project's own inputs: the query files of
graphs/, examples/ and tests/golden/ (query target), the expressions and times written in
them (expr, time), the CSV files of tests/ and examples/ (csv), a few requests for
`tickflow serve` (http) and the files of a small tick archive (archive). Seeds are files named by their content hash, so re-running is
idempotent."""
import argparse
import hashlib
import pathlib
import re

# Keys whose values are expressions in the query format.
EXPR_KEYS = ("where", "if", "expr", "value", "by", "condition", "init", "set", "key")
TIME_RE = re.compile(r"\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?)?(?:Z|[+-]\d\d:?\d\d)?")
DURATION_RE = re.compile(r"\b-?\d+(?:ns|us|ms|s|m|h|d)\b")

HTTP_SEEDS = [
    'POST /add_batch/\n{"symbol": "AAPL", "values": [1.5, 2, 3e10]}',
    'POST /add_batch/\n{"values": [1], "symbol": "b"}',
    "GET /stats/?symbol=AAPL&k=2",
    "GET /stats/?symbol=AAPL&k=1&k=2",
    "GET /health",
    "GET /metrics",
    "GET /openapi.json",
    "DELETE /stats/",
]


def write(out_dir, data):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--archive", help="a tick archive whose files seed the archive target")
    opts = parser.parse_args()
    src = pathlib.Path(opts.source_dir)
    out = pathlib.Path(opts.out)
    for target in ("query", "expr", "csv", "time", "http", "archive"):
        (out / target).mkdir(parents=True, exist_ok=True)

    yaml_files = [p for d in ("graphs", "examples", "tests") for p in sorted((src / d).rglob("*.yaml"))]
    for path in yaml_files:
        text = path.read_bytes()
        write(out / "query", text)
        for line in text.decode("utf-8", "replace").splitlines():
            m = re.match(r"\s*-?\s*([A-Za-z_]+)\s*:\s*(.+?)\s*$", line)
            if m and m.group(1) in EXPR_KEYS:
                value = m.group(2).strip("\"'")
                write(out / "expr", value.encode())
            for t in TIME_RE.findall(line):
                write(out / "time", t.encode())
            for d in DURATION_RE.findall(line):
                write(out / "time", d.encode())
    # The expression unit tests' string literals: most are expressions, good or bad.
    for path in sorted((src / "tests" / "unit").glob("test_expr*.cpp")):
        for literal in re.findall(r'"((?:[^"\\\n]|\\.){1,200})"', path.read_text()):
            write(out / "expr", literal.replace('\\"', '"').encode())
    for path in [p for d in ("tests", "examples") for p in sorted((src / d).rglob("*.csv"))]:
        data = path.read_bytes()[:65536]
        for flags in (0, 8 | 2, 16 | 1):  # see fuzz_csv.cpp: chunk, on_error, by symbol
            write(out / "csv", bytes([flags]) + data)
    for request in HTTP_SEEDS:
        write(out / "http", request.encode())
    # Archive files, in fuzz_archive.cpp's framing: JSON without its checksum line, column
    # files as zstd frames and as decoded chunks.
    if opts.archive:
        for path in sorted(pathlib.Path(opts.archive).rglob("*")):
            if path.name in ("manifest.json", "catalog.json"):
                doc = path.read_bytes().rsplit(b"\n", 2)[0]
                write(out / "archive", bytes([0 if path.name == "manifest.json" else 1, 0, 0]) + doc)
            elif path.suffix == ".col":
                data = path.read_bytes()[:65536]
                write(out / "archive", bytes([2, 0, 10]) + data)
                write(out / "archive", bytes([3, 0, 10]) + data)


if __name__ == "__main__":
    main()
