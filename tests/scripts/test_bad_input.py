#!/usr/bin/env python3
"""Bad CSV input through `tickflow run`: every case must fail cleanly with exit status 1,
name file:line:column (and the field where there is one), and leave no output or
temporary file behind; `on_error: skip` must succeed and count the skipped rows."""

import argparse
import os
import re
import subprocess
import sys
import tempfile

FAILURES = []
PASSED = 0


def write(path, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode, **({} if mode == "wb" else {"newline": ""})) as f:
        f.write(data)


def query(csv_options="", extra=""):
    return (
        "tickflow: 1\n"
        f"{extra}"
        "nodes:\n"
        "  trades:\n"
        "    ep: csv\n"
        "    path: data.csv\n"
        f"{csv_options}"
    )


class Case:
    def __init__(self, tickflow, name, data, graph, args=(), files=None):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="tickflow_bad_input_")
        if data is not None:
            write(os.path.join(self.dir, "data.csv"), data)
        for file_name, content in (files or {}).items():
            write(os.path.join(self.dir, file_name), content)
        write(os.path.join(self.dir, "graph.yaml"), graph)
        self.before = set(os.listdir(self.dir))
        cmd = [tickflow, "run", "graph.yaml", "-o", "out.csv", *args]
        try:
            proc = subprocess.run(cmd, cwd=self.dir, capture_output=True, timeout=120)
            self.status = proc.returncode
            self.stdout = proc.stdout.decode("utf-8", "replace")
            self.stderr = proc.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            self.status, self.stdout, self.stderr = None, "", "TIMEOUT (the run hung)"

    def check(self, condition, what):
        if not condition:
            FAILURES.append(f"{self.name}: {what}\n  exit status: {self.status}\n"
                            f"  stderr: {self.stderr[:2000]!r}")
        return condition

    def new_files(self):
        return sorted(set(os.listdir(self.dir)) - self.before)

    def output(self):
        with open(os.path.join(self.dir, "out.csv"), encoding="utf-8") as f:
            return f.read()

    def expect_failure(self, location=None, mentions=(), status=1):
        ok = self.check(self.status == status, f"expected exit status {status}")
        if location:
            ok &= self.check(re.search(location, self.stderr) is not None,
                             f"stderr does not name the location /{location}/")
        for text in mentions:
            ok &= self.check(text in self.stderr, f"stderr does not mention {text!r}")
        ok &= self.check(self.new_files() == [],
                         f"files left behind after a failed run: {self.new_files()}")
        ok &= self.check(len(self.stderr) < 20000,
                         f"stderr is {len(self.stderr)} bytes; bad values must be shortened")
        ok &= self.check("Traceback" not in self.stderr and "terminate called" not in self.stderr,
                         "crash output on stderr")
        self.finish(ok)

    def expect_success(self, output_has=(), stderr_has=()):
        ok = self.check(self.status == 0, "expected exit status 0")
        if ok:
            out = self.output()
            for text in output_has:
                ok &= self.check(text in out, f"output does not contain {text[:80]!r}")
        for pattern in stderr_has:
            ok &= self.check(re.search(pattern, self.stderr) is not None,
                             f"stderr does not match /{pattern}/")
        self.finish(ok)

    def finish(self, ok):
        global PASSED
        if ok:
            PASSED += 1
        # Leave the directory of a failed case for inspection.
        if ok:
            for name in os.listdir(self.dir):
                os.remove(os.path.join(self.dir, name))
            os.rmdir(self.dir)
        else:
            FAILURES[-1] += f"\n  files kept in {self.dir}"


GOOD_ROWS = (
    "TIMESTAMP,PRICE,SIZE\n"
    "2024-01-02 09:30:00,100.5,10\n"
    "2024-01-02 09:30:01,101.25,20\n"
)


def run_cases(tickflow):
    def case(name, data, graph=None, args=(), files=None):
        return Case(tickflow, name, data, graph if graph is not None else query(), args, files)

    typed = query("    fields: {PRICE: double, SIZE: int}\n")

    case("bad int value", GOOD_ROWS + "2024-01-02 09:30:02,102,abc\n", typed).expect_failure(
        r"data\.csv:4:25\b", ["SIZE", "'abc'"])
    case("bad double value", GOOD_ROWS + "2024-01-02 09:30:02,1.2.3,5\n", typed).expect_failure(
        r"data\.csv:4:21\b", ["PRICE"])
    case("bad value in an inferred column", GOOD_ROWS + "2024-01-02 09:30:02,102,abc\n"
         ).expect_success(output_has=["abc"])  # SIZE is inferred as string: not an error
    case("too few cells", GOOD_ROWS + "2024-01-02 09:30:02,102\n").expect_failure(
        r"data\.csv:4:\d+", ["cells"])
    case("too many cells", GOOD_ROWS + "2024-01-02 09:30:02,102,5,6\n").expect_failure(
        r"data\.csv:4:\d+", ["cells"])
    case("unterminated quote", GOOD_ROWS + '2024-01-02 09:30:02,"102,5\n2024-01-02 09:30:03,1,1\n'
         ).expect_failure(r"data\.csv:4:21\b", ["unterminated"])
    case("text after closing quote", GOOD_ROWS + '2024-01-02 09:30:02,"102"x,5\n').expect_failure(
        r"data\.csv:4:26\b", ["quote"])
    case("out-of-order timestamp", GOOD_ROWS + "2024-01-02 09:29:59,99,5\n").expect_failure(
        r"data\.csv:4:1\b", ["earlier than the previous tick"])
    case("out-of-order timestamp with on_error: skip", GOOD_ROWS + "2024-01-02 09:29:59,99,5\n",
         query("    on_error: skip\n")).expect_failure(r"data\.csv:4:1\b", ["earlier"])
    case("unknown time format in the time column", GOOD_ROWS + "02/01/2024 09:30:02,99,5\n"
         ).expect_failure(r"data\.csv:4:1\b", ["TIMESTAMP", "02/01/2024"])
    case("wrong unit for time_format: ms", "TIMESTAMP,A\n1704187800000,1\n2024-01-02 09:30:00,2\n",
         query("    time_format: ms\n")).expect_failure(r"data\.csv:3:1\b", ["TIMESTAMP"])
    case("empty time cell", GOOD_ROWS + ",99,5\n").expect_failure(r"data\.csv:4:1\b",
                                                                  ["TIMESTAMP"])
    case("missing file", None).expect_failure(None, ["data.csv"])
    case("empty file", "").expect_failure(None, ["data.csv", "empty"])
    case("header only", "TIMESTAMP,PRICE,SIZE\n").expect_success(output_has=["TIMESTAMP"])
    case("missing time column", "TIME,PRICE\n2024-01-02 09:30:00,1\n").expect_failure(
        None, ["TIMESTAMP", "data.csv"])
    case("invalid header name", "TIMESTAMP,PRICE,1SIZE\n2024-01-02 09:30:00,1,2\n"
         ).expect_failure(r"data\.csv:1:17\b", ["1SIZE"])
    case("duplicate header name", "TIMESTAMP,A,A\n2024-01-02 09:30:00,1,2\n").expect_failure(
        r"data\.csv:1:13\b", ["duplicate"])
    case("binary garbage", bytes(range(256)) * 64).expect_failure(r"data\.csv:1:\d+")
    case("NUL byte in a cell", (GOOD_ROWS + "2024-01-02 09:30:02,1\x002,5\n").encode()
         ).expect_failure(r"data\.csv:4:22\b", ["NUL"])

    big = "x" * (10 << 20)
    case("10 MB line in a string column", GOOD_ROWS.replace("SIZE", "NOTE") +
         f"2024-01-02 09:30:02,1,{big}\n").expect_success(output_has=[big])
    case("10 MB line in an int column", GOOD_ROWS + f"2024-01-02 09:30:02,1,{big}\n",
         typed).expect_failure(r"data\.csv:4:23\b", ["SIZE", "bytes"])
    case("10 MB quoted line with line breaks", GOOD_ROWS.replace("SIZE", "NOTE") +
         f'2024-01-02 09:30:02,1,"{big}\n{big}"\n2024-01-02 09:30:03,x,y\n',
         query("    fields: {PRICE: double}\n")).expect_failure(
        r"data\.csv:6:21\b", ["PRICE", "'x'"])

    skip_data = (GOOD_ROWS + "2024-01-02 09:30:02,oops,5\n" + "2024-01-02 09:30:03,1,2,3\n" +
                 '2024-01-02 09:30:04,"7"x,1\n' + "2024-01-02 09:30:05,103,30\n")
    case("on_error: skip counts skipped rows", skip_data,
         query("    fields: {PRICE: double, SIZE: int}\n    on_error: skip\n"),
         ["--stats"]).expect_success(output_has=["103", "101.25"],
                                     stderr_has=[r"skipped_rows", r"(?s)skipped_rows.*\b3\b"])
    case("on_error: skip with nothing to skip", GOOD_ROWS, query("    on_error: skip\n"),
         ["--stats"]).expect_success(stderr_has=[r"skipped_rows"])

    per_symbol = query().replace("path: data.csv", "path: '{symbol}.csv'")
    case("per-symbol file missing", None, per_symbol, ["--symbols", "AAA,BBB"],
         files={"AAA.csv": GOOD_ROWS}).expect_failure(None, ["BBB.csv"])
    case("per-symbol file with bad data", None, per_symbol, ["--symbols", "AAA,BBB"],
         files={"AAA.csv": GOOD_ROWS, "BBB.csv": GOOD_ROWS + "2024-01-02 09:30:02,x,1\n"}
         ).expect_failure(r"BBB\.csv:4:21\b", ["PRICE"])
    case("symbol column selects rows", "TIMESTAMP,SYMBOL,PX\n1,AAA,1.5\n2,BBB,2.5\n3,AAA,bad\n",
         query("    fields: {PX: double}\n"), ["--symbols", "BBB,AAA"]).expect_failure(
        r"data\.csv:4:7\b", ["PX", "'bad'"])

    # Parameter mistakes are validation errors (exit status 2) located in the query file.
    case("unknown time_format", GOOD_ROWS, query("    time_format: millis\n")).expect_failure(
        r"graph\.yaml:6:\d+", ["millis"], status=2)
    case("delimiter of two characters", GOOD_ROWS, query("    delimiter: ';;'\n")).expect_failure(
        r"graph\.yaml:6:\d+", ["delimiter"], status=2)
    case("unknown type in fields", GOOD_ROWS, query("    fields: {PRICE: float}\n")
         ).expect_failure(r"graph\.yaml:6:\d+", ["float"], status=2)
    case("fields names a missing column", GOOD_ROWS, query("    fields: {PRIC: double}\n")
         ).expect_failure(r"graph\.yaml:6:\d+", ["PRIC", "PRICE"], status=2)
    case("{symbol} without symbols", GOOD_ROWS,
         query().replace("path: data.csv", "path: '{symbol}.csv'")).expect_failure(
        r"graph\.yaml:5:\d+", ["symbol"], status=2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    args = parser.parse_args()
    run_cases(os.path.abspath(args.tickflow))
    for failure in FAILURES:
        print("FAIL", failure, file=sys.stderr)
    print(f"{PASSED} passed, {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
