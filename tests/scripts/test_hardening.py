#!/usr/bin/env python3
"""Hostile and careless input through the CLI (docs/reliability.md): every case must end
with the documented exit status and a clear, located message, within a bounded time, and
never with a crash (a signal), a hang or exit 0 for input that was not understood."""
import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

from script_checks import check, summary

TICKFLOW = ""


def tf(*args, cwd=None, timeout=60, stdout=subprocess.PIPE):
    r = subprocess.run([TICKFLOW, *args], stdout=stdout, stderr=subprocess.PIPE, cwd=cwd,
                       timeout=timeout)
    out = r.stdout.decode("utf-8", "replace") if r.stdout is not None else ""
    return r.returncode, out, r.stderr.decode("utf-8", "replace")


GEN = "nodes:\n  g: {ep: generate, count: 3}\n"


def yaml_cases(tmp):
    # Item 2: nested aliases that would expand to 9^9 nodes.
    levels = ["a: &a [" + ",".join(['"x"'] * 9) + "]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = tmp / "bomb.yaml"
    bomb.write_text("tickflow: 1\n" + GEN + "\n".join(levels) + "\n")
    code, out, err = tf("check", str(bomb), timeout=30)
    check("alias bomb: located error, no memory blow-up",
          code == 2 and "bomb.yaml:" in err and "YAML aliases expand to more than" in err, err)

    # Item 7: a second document and an unknown tag are errors, not silently dropped.
    two = tmp / "two.yaml"
    two.write_text("tickflow: 1\n" + GEN + "---\ntickflow: 1\n")
    code, out, err = tf("check", str(two))
    check("second YAML document is an error", code == 2 and "two.yaml:4:1" in err and
          "a second YAML document" in err, err)
    tag = tmp / "tag.yaml"
    tag.write_text("tickflow: 1\nnodes:\n  g: {ep: generate, count: !int 3}\n")
    code, out, err = tf("check", str(tag))
    check("unknown YAML tag is an error", code == 2 and "tag.yaml:3:" in err and
          "unsupported YAML tag '!int'" in err, err)
    str_tag = tmp / "str_tag.yaml"
    str_tag.write_text("tickflow: 1\nparams: {X: {type: string, default: !!str 12}}\n" + GEN)
    code, out, err = tf("check", str(str_tag))
    check("!!str is understood", code == 0, err)


def time_cases(tmp):
    # Item 3: times outside int64 nanoseconds are located errors, not dates in 1816.
    ranged = tmp / "range.yaml"
    ranged.write_text('tickflow: 1\nrange: {start: "9999-12-31"}\n' + GEN)
    code, out, err = tf("check", str(ranged))
    check("range: year 9999 is an error", code == 2 and "range.yaml:2:" in err and
          "2262-04-11" in err, err)
    ticks = tmp / "ticks.yaml"
    ticks.write_text("tickflow: 1\nnodes:\n  t:\n    ep: ticks\n    fields: {X: int}\n"
                     '    rows:\n      - {TIMESTAMP: "9999-12-31", X: 1}\n')
    code, out, err = tf("check", str(ticks))
    check("ticks row: year 9999 is an error", code == 2 and "ticks.yaml:7:" in err and
          "2262-04-11" in err, err)
    (tmp / "far.csv").write_text("TIMESTAMP,X\n2024-01-02 00:00:00,1\n9999-12-31 00:00:00,2\n")
    csv = tmp / "csv.yaml"
    csv.write_text("tickflow: 1\nnodes:\n  c: {ep: csv, path: far.csv}\n")
    code, out, err = tf("run", "--no-progress", str(csv))
    check("csv cell: year 9999 is a located data error", code == 1 and "far.csv:3:1" in err and
          "2262-04-11" in err and "1816" not in out, err + out)
    expr = tmp / "expr.yaml"
    expr.write_text("tickflow: 1\nnodes:\n  g: {ep: generate, count: 3}\n"
                    "  a: {ep: add_field, in: g, set: {L: \"TIMESTAMP + 100000d + 100000d\"}}\n")
    code, out, err = tf("run", "--no-progress", str(expr))
    check("time arithmetic overflow is a run-time error", code == 1 and
          "time arithmetic out of range" in err and "expr.yaml:4:" in err, err)
    const = tmp / "const.yaml"
    const.write_text("tickflow: 1\nnodes:\n  g: {ep: generate, count: 3}\n"
                     "  w: {ep: where, in: g, if: \"TIMESTAMP < time('9999-12-31')\"}\n")
    code, out, err = tf("check", str(const))
    check("time('9999-12-31') is a located error", code == 2 and "const.yaml:4:" in err and
          "2262-04-11" in err, err)


def file_cases(tmp):
    # Item 5: the query file is bounded and a directory is named as such.
    code, out, err = tf("check", "/dev/zero", timeout=30)
    check("check /dev/zero stops at the size limit", code == 2 and "larger than 16 MiB" in err, err)
    code, out, err = tf("check", str(tmp))
    check("a directory as the query file", code == 2 and "is a directory" in err, err)
    # Item 4: a NUL byte fails at the byte, even where no line break follows.
    zero = tmp / "zero.yaml"
    zero.write_text("tickflow: 1\nnodes:\n  c:\n    ep: csv\n    path: /dev/zero\n"
                    "    fields: {X: int}\n")
    code, out, err = tf("run", "--no-progress", str(zero), timeout=30)
    check("csv from /dev/zero fails at once", code in (1, 2) and "NUL byte" in err, err)
    # Item 11: -o must not overwrite the query being run.
    own = tmp / "own.yaml"
    own.write_text("tickflow: 1\n" + GEN)
    code, out, err = tf("run", "--no-progress", str(own), "-o", str(own))
    check("-o the query file itself is refused", code == 2 and "refusing to overwrite" in err and
          own.read_text().startswith("tickflow: 1"), err)


HUGE = 2**31  # generate's ticks: minutes of work at any batch size, hours at batch size 1


def early_stop_cases(tmp):
    # Item 11: head stops the sources upstream (Operator::wants_input). Without that each
    # run below would generate 2^31 ticks and hit the timeout. Same output for every
    # --threads and --batch-size, through a chain and from two sources merged.
    chain = tmp / "head_chain.yaml"
    chain.write_text(f"tickflow: 1\nnodes:\n  g: {{ep: generate, count: {HUGE}, seed: 3}}\n"
                     "  f: {ep: add_field, in: g, set: {NOTIONAL: PRICE * SIZE}}\n"
                     "  w: {ep: where, in: f, if: SIZE > 0}\n"
                     "  h: {ep: head, in: w, n: 4}\n")
    merged = tmp / "head_merge.yaml"
    merged.write_text(f"tickflow: 1\nnodes:\n  a: {{ep: generate, count: {HUGE}, seed: 1}}\n"
                      f"  b: {{ep: generate, count: {HUGE}, seed: 2}}\n"
                      "  m: {ep: merge, in: [a, b]}\n  h: {ep: head, in: m, n: 5}\n")
    symbols = tmp / "head_symbols.yaml"
    symbols.write_text(f"tickflow: 1\nsymbols: [A, B, C]\nnodes:\n"
                       f"  g: {{ep: generate, count: {HUGE}}}\n  h: {{ep: head, in: g, n: 2}}\n")
    for query, rows in [(chain, 4), (merged, 5), (symbols, 6)]:
        outputs = set()
        ok = True
        for threads, batch in [(1, 1), (2, 1), (2, 7), (1, 4096), (2, 4096)]:
            try:
                code, out, err = tf("run", "--no-progress", str(query), "--threads", str(threads),
                                    "--batch-size", str(batch), timeout=60)
            except subprocess.TimeoutExpired:
                code, out, err = -1, "", "timed out: the source was not stopped"
            ok = ok and code == 0 and out.count("\n") == rows + 1
            outputs.add(out)
        check(f"head stops its sources at once: {query.name}", ok and len(outputs) == 1,
              err + out[:300])

    # A source that another consumer still reads keeps running: where's fail port goes to
    # an output while head stops reading the pass port; that output is the same as without
    # the head.
    rest = "  g: {ep: generate, count: 50, seed: 3}\n  w: {ep: where, in: g, if: SIZE > 300}\n" \
           "  rest: {ep: keep, in: w.fail, fields: [SIZE]}\n"
    alone = tmp / "rest_alone.yaml"
    alone.write_text("tickflow: 1\nnodes:\n" + rest)
    code, out, err = tf("run", "--no-progress", str(alone), "-o", str(tmp / "alone"))
    expected_rest = (tmp / "alone" / "rest.csv").read_text() if code == 0 else err
    both = tmp / "head_and_rest.yaml"
    both.write_text("tickflow: 1\nnodes:\n" + rest + "  h: {ep: head, in: w, n: 1}\n")
    results = set()
    for threads, batch in [(1, 1), (2, 3), (2, 4096)]:
        out_dir = tmp / f"out_{threads}_{batch}"
        code, out, err = tf("run", "--no-progress", str(both), "-o", str(out_dir),
                            "--threads", str(threads), "--batch-size", str(batch))
        results.add((code, (out_dir / "rest.csv").read_text() if code == 0 else err,
                     (out_dir / "h.csv").read_text().count("\n") if code == 0 else 0))
    check("other readers keep the source running",
          results == {(0, expected_rest, 2)} and expected_rest.count("\n") > 10, str(results)[:400])


def cli_cases(tmp):
    # Item 9: numbers out of range are refused with the range in plain words.
    plain = tmp / "plain.yaml"
    plain.write_text("tickflow: 1\n" + GEN)
    for flag, value in [("--threads", "18446744073709551616"), ("--threads", "0"),
                        ("--threads", "-1"), ("--batch-size", "0"),
                        ("--max-accumulated-ticks", "18446744073709551616")]:
        code, out, err = tf("run", "--no-progress", str(plain), flag, value)
        check(f"{flag} {value} is a usage error", code == 2 and flag in err and " to " in err and
              "0.000000" not in err and len(err) < 400, err)
    code, out, err = tf("serve", "--port", "70000")
    check("serve --port 70000 is a usage error", code == 2 and "1 to 65535" in err, err)

    # Item 8: write errors on standard output are reported (exit 1), not ignored.
    if os.path.exists("/dev/full"):
        for args in (["eps"], ["explain", str(plain)], ["check", str(plain)], ["version"]):
            with open("/dev/full", "w") as full:
                code, out, err = tf(*args, stdout=full)
            check(f"{args[0]} to /dev/full exits 1", code == 1 and
                  "cannot write to standard output" in err, err)

    # Item 11: the same mistake a thousand times prints a bounded report.
    many = tmp / "many.yaml"
    many.write_text("tickflow: 1\nnodes:\n  g: {ep: generate, count: 3}\n"
                    "  k: {ep: keep, in: g, fields: [" + ", ".join(["NOPE"] * 1000) + "]}\n")
    code, out, err = tf("check", str(many))
    check("repeated errors are capped", code == 2 and err.count("\n") < 150 and
          "more errors not shown" in err, err[-500:])


def main():
    global TICKFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir", required=True)
    opts = parser.parse_args()
    TICKFLOW = str(pathlib.Path(opts.tickflow).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        yaml_cases(tmp)
        time_cases(tmp)
        file_cases(tmp)
        cli_cases(tmp)
        early_stop_cases(tmp)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
