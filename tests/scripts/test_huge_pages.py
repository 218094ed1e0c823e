#!/usr/bin/env python3
"""The executable asks for transparent huge pages (docs/design.md, "Execution on the oneTBB flow graph"): where the kernel
gives them on request, `tickflow` starts itself again with glibc.malloc.hugetlb=1 in
GLIBC_TUNABLES, keeps the rest of the environment, its arguments, its process id and its
standard input, and leaves a tunable the user set alone. Checked on a live process reading a
query's ticks from a pipe (its /proc/PID/environ), then on the output once its input ends."""
import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from script_checks import check, summary

QUERY = """tickflow: 1
nodes:
  ticks: {ep: csv, path: "-", fields: {PRICE: double}}
  doubled: {ep: add_field, in: ticks, set: {TWICE: PRICE * 2}}
"""
ROWS = "TIMESTAMP,PRICE\n2024-01-02 09:30:00,1.5\n2024-01-02 09:30:01,2.25\n"
EXPECTED = ("TIMESTAMP,PRICE,TWICE\n2024-01-02 09:30:00.000000000,1.5,3\n"
            "2024-01-02 09:30:01.000000000,2.25,4.5\n")


def environment_of(pid, deadline, settled):
    """The environment of a live `tickflow` process once `settled(environment)` holds (the
    restart has happened), or the last one read when the deadline passed."""
    last = {}
    while time.monotonic() < deadline:
        try:
            raw = pathlib.Path(f"/proc/{pid}/environ").read_bytes()
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            raw, exe = b"", ""
        # glibc cuts GLIBC_TUNABLES in place at each ':' while it parses it, so the tunables
        # after the first show as entries of their own: join them back.
        text = raw.decode("utf-8", "replace").replace("\0glibc.", ":glibc.")
        last = dict(item.split("=", 1) for item in text.split("\0") if "=" in item)
        if exe.endswith("tickflow") and settled(last):
            return last
        time.sleep(0.02)
    return last


def run_live(tickflow, query, env, settled):
    """Starts `tickflow run` on a pipe, reads its environment, then feeds it and ends it."""
    proc = subprocess.Popen([tickflow, "run", str(query), "--no-progress", "--threads", "2"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    try:
        seen = environment_of(proc.pid, time.monotonic() + 10, settled)
        out, err = proc.communicate(ROWS.encode(), timeout=60)
        return seen, proc.returncode, out.decode(), err.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    opts = parser.parse_args()
    mode_file = pathlib.Path("/sys/kernel/mm/transparent_hugepage/enabled")
    mode = mode_file.read_text() if mode_file.exists() else ""
    on_request = "[madvise]" in mode

    with tempfile.TemporaryDirectory() as tmp:
        query = pathlib.Path(tmp) / "q.yaml"
        query.write_text(QUERY)
        base = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
        base["TICKFLOW_TEST_MARK"] = "kept"

        # Without a restart the first environment read is the final one.
        restarted = (lambda env: "GLIBC_TUNABLES" in env) if on_request else bool
        seen, code, out, err = run_live(opts.tickflow, query, base, restarted)
        check("a run reading a pipe gives its ticks after the restart", code == 0 and out == EXPECTED,
              out + err)
        check("the rest of the environment is kept", seen.get("TICKFLOW_TEST_MARK") == "kept",
              str(sorted(seen)))
        if on_request:
            check("huge pages are requested when the kernel gives them on request",
                  seen.get("GLIBC_TUNABLES") == "glibc.malloc.hugetlb=1", str(seen.get("GLIBC_TUNABLES")))
        else:
            check(f"no restart when the kernel's mode is {mode.strip()!r}",
                  "GLIBC_TUNABLES" not in seen, str(seen.get("GLIBC_TUNABLES")))

        other = dict(base, GLIBC_TUNABLES="glibc.malloc.arena_max=2")
        wanted = "glibc.malloc.arena_max=2" + (":glibc.malloc.hugetlb=1" if on_request else "")
        seen, code, out, err = run_live(opts.tickflow, query, other,
                                        lambda env: env.get("GLIBC_TUNABLES") == wanted)
        check("other tunables: same ticks", code == 0 and out == EXPECTED, out + err)
        check("other tunables are kept and huge pages added", seen.get("GLIBC_TUNABLES") == wanted,
              str(seen.get("GLIBC_TUNABLES")))

        off = dict(base, GLIBC_TUNABLES="glibc.malloc.hugetlb=0")
        seen, code, out, err = run_live(opts.tickflow, query, off, bool)
        check("huge pages turned off by the user: same ticks", code == 0 and out == EXPECTED, out + err)
        check("a hugetlb tunable the user set is left alone",
              seen.get("GLIBC_TUNABLES") == "glibc.malloc.hugetlb=0", str(seen.get("GLIBC_TUNABLES")))

        code = subprocess.run([opts.tickflow, "run", str(query), "--threads", "0"], env=base,
                              capture_output=True, timeout=60).returncode
        check("a bad flag still exits 2 after the restart", code == 2, str(code))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
