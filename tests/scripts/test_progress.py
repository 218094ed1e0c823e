#!/usr/bin/env python3
"""The progress line of `tickflow run` on a terminal (stderr on a pseudo-terminal): in a
run with several symbols it shows symbols finished of the total with % and, once a symbol
has finished, an ETA; it is erased at the end; nothing is shown when stderr is not a
terminal or with --no-progress. The line appears only after a second, so the run is made
larger until one lasts that long (a bounded number of tries)."""

import argparse
import os
import pty
import re
import subprocess
import sys
import tempfile

from script_checks import check, summary


def run_on_terminal(cmd, cwd):
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=slave)
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir")
    parser.add_argument("--build-dir")
    args = parser.parse_args()
    tf = os.path.abspath(args.tickflow)
    work = tempfile.mkdtemp(prefix="tickflow_progress_")
    count = 500_000
    shown = ""
    for _ in range(5):
        with open(os.path.join(work, "q.yaml"), "w") as f:
            f.write("tickflow: 1\nsymbols: [A, B, C, D, E, F, G, H]\nnodes:\n"
                    f"  g: {{ep: generate, count: {count}}}\n"
                    '  a: {ep: aggregate, in: g, aggs: {N: "count()"}}\n')
        code, shown = run_on_terminal([tf, "run", "q.yaml", "--threads", "2", "-o", "out.csv"],
                                      work)
        check("run succeeds", code == 0, shown)
        if "tickflow:" in shown:
            break
        count *= 3
    check("a progress line appeared", "tickflow:" in shown, shown)
    lines = [l for l in re.split(r"\r\x1b\[K", shown) if l]
    check("symbols finished of the total with %",
          all(re.match(r"tickflow: \d/8 symbols \(\d+%\)", l) for l in lines), repr(shown))
    with_eta = [l for l in lines if re.match(r"tickflow: [1-7]/8", l)]
    check("an ETA once a symbol has finished", all(", ETA " in l for l in with_eta), repr(shown))
    check("the line is erased at the end", shown.endswith("\r\x1b[K"), repr(shown))

    code, quiet = run_on_terminal(
        [tf, "run", "q.yaml", "--threads", "2", "-o", "out.csv", "--no-progress"], work)
    check("--no-progress shows nothing", code == 0 and quiet == "", repr(quiet))
    proc = subprocess.run([tf, "run", "q.yaml", "--threads", "2", "-o", "out.csv"], cwd=work,
                          capture_output=True, timeout=300)
    check("nothing when stderr is not a terminal", proc.returncode == 0 and proc.stderr == b"",
          proc.stderr.decode())
    return summary()


if __name__ == "__main__":
    sys.exit(main())
