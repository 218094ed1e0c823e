#!/usr/bin/env python3
"""The progress line of `tickflow run` on a terminal (stderr on a pseudo-terminal): the
share done from what the sources know of their totals (generate counts, the size of a CSV
file) with an ETA; in a run with several symbols also symbols finished of the total and the
running symbols with their own share; counts only for standard input, whose size is not
known; erased at the end; nothing when stderr is not a terminal or with --no-progress. The
line appears only after a second, so each run is made larger until one lasts that long (a
bounded number of tries)."""

import argparse
import os
import pty
import re
import subprocess
import sys
import tempfile

from script_checks import check, summary


def run_on_terminal(cmd, cwd, stdin=None):
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the pty closes when the process exits
            break
        if not data:
            break
        out += data
    os.close(master)
    return proc.wait(timeout=300), out.decode("utf-8", "replace")


def lines_of(shown):
    return [l for l in re.split(r"\r\x1b\[K", shown) if l]


def until_shown(name, make_run, size, tries=5):
    """Runs make_run(size) on a terminal, tripling size until a run lasts long enough to show
    the line (it appears after a second); returns what was shown."""
    shown = ""
    for _ in range(tries):
        code, shown = make_run(size)
        check(f"{name}: run succeeds", code == 0, shown)
        if "tickflow:" in shown:
            break
        size *= 3
    check(f"{name}: a progress line appeared", "tickflow:" in shown, shown)
    return shown


SHARE = r"\d+%(, ETA [^;]+)?; "
COUNTS = r"\d+ ticks from sources, [\d.]+ s, [\d.]+ M ticks/s$"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir")
    parser.add_argument("--build-dir")
    args = parser.parse_args()
    tf = os.path.abspath(args.tickflow)
    work = tempfile.mkdtemp(prefix="tickflow_progress_")

    # Several symbols from generate: symbols finished, the share with the running symbols'
    # own shares, and an ETA.
    def symbols_run(count):
        with open(os.path.join(work, "q.yaml"), "w") as f:
            f.write("tickflow: 1\nsymbols: [A, B, C, D, E, F, G, H]\nnodes:\n"
                    f"  g: {{ep: generate, count: {count}}}\n"
                    '  a: {ep: rolling_stats, in: g, field: PRICE, windows: [10, 1000]}\n'
                    '  n: {ep: aggregate, in: a, aggs: {N: "count()"}}\n')
        return run_on_terminal([tf, "run", "q.yaml", "--threads", "2", "-o", "out.csv"], work)

    shown = until_shown("symbols", symbols_run, 300_000)
    lines = lines_of(shown)
    check("symbols finished of the total, the share done",
          all(re.match(r"tickflow: \d/8 symbols, " + SHARE, l) for l in lines), repr(shown))
    # The share printed rounds; the ETA is left out only at exactly 0 and 100 %.
    partial = [l for l in lines if not re.match(r"tickflow: \d/8 symbols, (0|100)%", l)]
    check("an ETA while the run is under way", all(", ETA " in l for l in partial), repr(shown))
    # A line drawn between one symbol's end and the next one's start lists none running.
    check("the running symbols with their own share",
          any(re.search(r"; running [A-H] \d+%(, [A-H] \d+%)*( and \d+ more)?; ", l)
              for l in lines), repr(shown))
    check("the line is erased at the end", shown.endswith("\r\x1b[K"), repr(shown))

    code, quiet = run_on_terminal(
        [tf, "run", "q.yaml", "--threads", "2", "-o", "out.csv", "--no-progress"], work)
    check("--no-progress shows nothing", code == 0 and quiet == "", repr(quiet))
    proc = subprocess.run([tf, "run", "q.yaml", "--threads", "2", "-o", "out.csv"], cwd=work,
                          capture_output=True, timeout=300)
    check("nothing when stderr is not a terminal", proc.returncode == 0 and proc.stderr == b"",
          proc.stderr.decode())

    # One run reading a CSV file: the share is the part of the file read.
    def write_csv(rows):
        with open(os.path.join(work, "make.yaml"), "w") as f:
            f.write(f"tickflow: 1\nnodes:\n  g: {{ep: generate, count: {rows}}}\n")
        subprocess.run([tf, "run", "make.yaml", "--no-progress", "-o", "ticks.csv"], cwd=work,
                       check=True, timeout=300)

    def write_csv_query(name, path):
        """A query reading CSV from `path` with work enough per tick to last a while."""
        with open(os.path.join(work, name), "w") as f:
            f.write(f"tickflow: 1\nnodes:\n  c: {{ep: csv, path: '{path}'}}\n"
                    '  a: {ep: rolling_stats, in: c, field: PRICE, windows: [10, 1000, 100000],'
                    ' stats: [mean, var, min, max]}\n'
                    '  n: {ep: aggregate, in: a, aggs: {N: "count()"}}\n')

    def file_run(rows):
        write_csv(rows)
        write_csv_query("f.yaml", "ticks.csv")
        return run_on_terminal([tf, "run", "f.yaml", "--threads", "1", "-o", "out.csv"], work)

    shown = until_shown("csv file", file_run, 400_000)
    lines = lines_of(shown)
    check("a CSV file: the share of the file read, no symbol counts",
          lines and all(re.match(r"tickflow: " + SHARE + COUNTS, l) for l in lines), repr(shown))

    # Standard input has no size known in advance: counts only while it is read. Once the
    # source has read all of it, a line may show 100% (the rest of the graph still working),
    # so the input grows until a line is drawn while it is read (a bounded number of tries);
    # batches of one tick make each tick cost about a microsecond.
    def stdin_run(rows):
        write_csv(rows)
        write_csv_query("s.yaml", "-")
        with open(os.path.join(work, "ticks.csv"), "rb") as data:
            return run_on_terminal([tf, "run", "s.yaml", "--threads", "1", "--batch-size", "1",
                                    "-o", "out.csv"], work, stdin=data)

    rows, lines = 1_500_000, []
    for _ in range(3):
        code, shown = stdin_run(rows)
        check("standard input: the run succeeds", code == 0, shown)
        lines = lines_of(shown)
        if any(re.match(r"tickflow: " + COUNTS, l) for l in lines):
            break
        rows *= 3
    check("standard input: counts without a share while it is read",
          any(re.match(r"tickflow: " + COUNTS, l) for l in lines), repr(shown))
    check("standard input: no share but 100% once read",
          lines and all(re.match(r"tickflow: (100%; )?" + COUNTS, l) for l in lines), repr(shown))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
