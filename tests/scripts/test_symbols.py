#!/usr/bin/env python3
"""Multi-symbol runs: per-symbol files, a failing symbol (named in the error, no output
files left), --keep-going, --symbols and --symbols-file, and determinism across threads."""
import argparse
import pathlib
import subprocess
import sys
import tempfile

from script_checks import check, summary


def tf(*args, cwd=None):
    r = subprocess.run([TICKFLOW, *args, "--no-progress"], capture_output=True, cwd=cwd, timeout=300)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def write_csv(path, symbol, rows):
    lines = ["TIMESTAMP,PRICE"] + [f"2024-01-02 09:30:0{i},{symbol_price(symbol) + i}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")


def symbol_price(symbol):
    return {"AAA": 10, "BBB": 20, "CCC": 30, "DDD": 40}[symbol]


def main():
    global TICKFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    TICKFLOW = str(pathlib.Path(parser.parse_args().tickflow).resolve())

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "data").mkdir()
        for s in ["AAA", "BBB", "CCC", "DDD"]:
            write_csv(tmp / "data" / f"{s}.csv", s, 3)
        (tmp / "per_symbol.yaml").write_text("""tickflow: 1
symbols: [AAA, BBB, CCC, DDD]
nodes:
  trades: {ep: csv, path: "data/{symbol}.csv"}
  out: {ep: write_csv, in: trades, path: "out/{symbol}.csv"}
""")
        (tmp / "out").mkdir()
        code, out, err = tf("run", "per_symbol.yaml", cwd=tmp)
        files = sorted(p.name for p in (tmp / "out").iterdir())
        check("one file per symbol", code == 0 and files == ["AAA.csv", "BBB.csv", "CCC.csv", "DDD.csv"],
              f"{files}\n{err}")
        check("file content", (tmp / "out/BBB.csv").read_text() ==
              "TIMESTAMP,SYMBOL,PRICE\n2024-01-02 09:30:00.000000000,BBB,20\n"
              "2024-01-02 09:30:01.000000000,BBB,21\n2024-01-02 09:30:02.000000000,BBB,22\n")

        (tmp / "to_stdout.yaml").write_text("""tickflow: 1
symbols: [AAA, BBB, CCC, DDD]
nodes:
  trades: {ep: csv, path: "data/{symbol}.csv"}
""")
        # --symbols overrides the file; --symbols-file with comments and blank lines
        code, out, err = tf("run", "to_stdout.yaml", "--symbols", "DDD,AAA", cwd=tmp)
        seen = [line.split(",")[1] for line in out.splitlines()[1:]]
        check("--symbols", code == 0 and seen == ["DDD"] * 3 + ["AAA"] * 3, out + err)
        (tmp / "syms.txt").write_text("# shard 1\nDDD\n\n  AAA  # first\n")
        code, out2, err = tf("run", "to_stdout.yaml", "--symbols-file", "syms.txt", cwd=tmp)
        check("--symbols-file", code == 0 and out2 == out, out2 + err)
        code, out, err = tf("run", "to_stdout.yaml", "--symbols-file", "nope.txt", cwd=tmp)
        check("--symbols-file missing", code == 2 and "nope.txt" in err, err)

        # a missing file for one symbol stops the run, names the symbol, leaves no files
        (tmp / "data/CCC.csv").unlink()
        for f in (tmp / "out").iterdir():
            f.unlink()
        for threads in ["1", "2"]:
            code, out, err = tf("run", "per_symbol.yaml", "--threads", threads, cwd=tmp)
            check(f"missing symbol file fails (threads {threads})", code == 1 and "symbol CCC" in err and
                  "CCC.csv" in err, err)
            left = sorted(p.name for p in (tmp / "out").iterdir())
            check(f"no output files after failure (threads {threads})", left == [], str(left))

        # --keep-going finishes the others and reports the failed symbol at the end
        code, out, err = tf("run", "per_symbol.yaml", "--keep-going", cwd=tmp)
        files = sorted(p.name for p in (tmp / "out").iterdir())
        check("keep-going exit 1", code == 1 and "1 of 4 symbols failed: CCC" in err, err)
        check("keep-going writes the others", files == ["AAA.csv", "BBB.csv", "DDD.csv"], str(files))

        # stdout output with keep-going: the failed symbol's ticks are left out entirely
        code, out, err = tf("run", "to_stdout.yaml", "--keep-going", "--threads", "2", "--batch-size", "1", cwd=tmp)
        symbols_seen = [line.split(",")[1] for line in out.splitlines()[1:]]
        check("keep-going stdout", code == 1 and symbols_seen == ["AAA"] * 3 + ["BBB"] * 3 + ["DDD"] * 3,
              out + err)

        # one shared file with a SYMBOL column, sorted by symbol then time, read once
        (tmp / "all.csv").write_text("TIMESTAMP,SYMBOL,PRICE\n"
                                     "2024-01-02 09:30:00,BBB,20\n2024-01-02 09:30:01,BBB,21\n"
                                     "2024-01-02 09:30:00,AAA,10\n2024-01-02 09:30:02,AAA,11\n"
                                     "2024-01-02 09:30:01,ZZZ,99\n2024-01-02 09:30:03,AAA,12\n")
        (tmp / "shared.yaml").write_text("tickflow: 1\nsymbols: [AAA, BBB, CCC]\n"
                                         "nodes:\n  trades: {ep: csv, path: all.csv}\n")
        for threads, batch in [("1", "1"), ("2", "4096")]:
            code, out, err = tf("run", "shared.yaml", "--threads", threads, "--batch-size", batch,
                                "--end", "2024-01-02 09:30:03", cwd=tmp)
            check(f"shared symbol file (threads {threads})", code == 0 and out ==
                  "TIMESTAMP,SYMBOL,PRICE\n2024-01-02 09:30:00.000000000,AAA,10\n"
                  "2024-01-02 09:30:02.000000000,AAA,11\n2024-01-02 09:30:00.000000000,BBB,20\n"
                  "2024-01-02 09:30:01.000000000,BBB,21\n", out + err)

        # determinism over many symbols, threads and batch sizes
        (tmp / "many.yaml").write_text("""tickflow: 1
nodes:
  trades: {ep: generate, count: 300, seed: 5}
  first: {ep: head, in: trades, n: 7}
""")
        many = ",".join(f"S{i:03d}" for i in range(60))
        outputs = set()
        for threads in ["1", "2", "4"]:
            for batch in ["1", "4096"]:
                code, out, err = tf("run", "many.yaml", "--symbols", many, "--threads", threads,
                                    "--batch-size", batch, cwd=tmp)
                outputs.add(out)
                check(f"many symbols run (threads {threads}, batch {batch})", code == 0, err)
        check("many symbols: identical output", len(outputs) == 1)
        lines = next(iter(outputs)).splitlines()
        check("many symbols: blocks in list order", len(lines) == 1 + 60 * 7 and
              [l.split(",")[1] for l in lines[1::7]] == [f"S{i:03d}" for i in range(60)], lines[:3])
        code, out, err = tf("run", "many.yaml", "--symbols", many, "--merge-symbols", "--threads", "2", cwd=tmp)
        times = [l.split(",")[0] for l in out.splitlines()[1:]]
        check("merge-symbols is time-ordered", code == 0 and times == sorted(times) and len(times) == 420, err)

    return summary()


if __name__ == "__main__":
    sys.exit(main())
