#!/usr/bin/env python3
"""Runs one golden case: tests/golden/<case>/ holding graph.yaml and either
expected.csv (ticks printed by `tickflow run`) or expected_exit + expected_stderr
(an error case).

Success cases run under every combination of --threads {1, 2} and --batch-size
{1, 7, 4096} (multi-symbol cases, whose graph lists symbols:, also --threads 4); each
run's stdout must equal expected.csv byte for byte, which is the determinism test. Optional files:
  args            extra command-line arguments, one per line
  expected_exit   the exit status expected (default 0)
  expected_stderr lines that must each appear in stderr (error cases)
Runs happen with the case directory as working directory, so locations in error
messages read 'graph.yaml:LINE:COL'.
"""
import argparse
import itertools
import pathlib
import subprocess
import sys

THREADS = [1, 2]
BATCH_SIZES = [1, 7, 4096]


def run(tickflow, case, extra):
    cmd = [tickflow, "run", "graph.yaml", "--no-progress"] + extra
    return subprocess.run(cmd, cwd=case, capture_output=True, timeout=300)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("case")
    parser.add_argument("--update", action="store_true",
                        help="rewrite expected.csv from a threads=1 run (review the diff!)")
    opts = parser.parse_args()
    opts.tickflow = str(pathlib.Path(opts.tickflow).resolve())
    case = pathlib.Path(opts.case)
    args = []
    if (case / "args").exists():
        args = [a for a in (case / "args").read_text().splitlines() if a.strip()]
    expected_exit = 0
    if (case / "expected_exit").exists():
        expected_exit = int((case / "expected_exit").read_text().strip())

    failures = []
    if expected_exit != 0:
        wanted = []
        if (case / "expected_stderr").exists():
            wanted = [l for l in (case / "expected_stderr").read_text().splitlines() if l.strip()]
        for threads, batch in [(1, 4096), (2, 7)]:
            r = run(opts.tickflow, case, args + ["--threads", str(threads), "--batch-size", str(batch)])
            err = r.stderr.decode("utf-8", "replace")
            if r.returncode != expected_exit:
                failures.append(f"threads={threads} batch={batch}: exit {r.returncode}, "
                                f"expected {expected_exit}\nstderr:\n{err}")
            for line in wanted:
                if line not in err:
                    failures.append(f"threads={threads} batch={batch}: stderr lacks {line!r}\n"
                                    f"stderr:\n{err}")
    else:
        expected_path = case / "expected.csv"
        if opts.update:
            r = run(opts.tickflow, case, args + ["--threads", "1"])
            expected_path.write_bytes(r.stdout)
            print(f"updated {expected_path}")
        if not expected_path.exists():
            print(f"FAIL {case.name}: no expected.csv")
            return 1
        expected = expected_path.read_bytes()
        threads_list = THREADS
        if any(line.startswith("symbols:") for line in (case / "graph.yaml").read_text().splitlines()):
            threads_list = THREADS + [4]
        for threads, batch in itertools.product(threads_list, BATCH_SIZES):
            r = run(opts.tickflow, case, args + ["--threads", str(threads), "--batch-size", str(batch)])
            if r.returncode != 0:
                failures.append(f"threads={threads} batch={batch}: exit {r.returncode}\n"
                                f"{r.stderr.decode('utf-8', 'replace')}")
            elif r.stdout != expected:
                got = r.stdout.decode("utf-8", "replace").splitlines()
                want = expected.decode("utf-8", "replace").splitlines()
                first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                             min(len(got), len(want)))
                failures.append(f"threads={threads} batch={batch}: output differs at line {first + 1}"
                                f" (got {len(got)} lines, expected {len(want)})\n"
                                f"  got:      {got[first] if first < len(got) else '<end>'}\n"
                                f"  expected: {want[first] if first < len(want) else '<end>'}")
    if failures:
        print(f"FAIL {case.name}")
        for f in failures:
            print(f)
        print(f"0 passed, {len(failures)} failed")
        return 1
    print(f"ok {case.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
