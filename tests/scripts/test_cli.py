#!/usr/bin/env python3
"""CLI behaviour: exit statuses, usage errors, output files, explain, eps, stats, and the
freshness of the generated EP reference in docs/eps.md."""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

from script_checks import check, summary


def tf(*args, cwd=None):
    r = subprocess.run([TICKFLOW, *args, *([] if args and args[0] != "run" else ["--no-progress"])],
                       capture_output=True, cwd=cwd, timeout=120)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


DEMO = """tickflow: 1
nodes:
  trades: {ep: generate, count: 10, seed: 3}
  shown: {ep: keep, in: trades, fields: [PRICE]}
"""

# `where` with only `pass` connected (fail goes nowhere); a long EP name for --stats columns.
WHERE_PASS_ONLY = """tickflow: 1
nodes:
  trades: {ep: generate, count: 20, seed: 3}
  big: {ep: where, in: trades, if: SIZE >= 500}
  stamped: {ep: update_timestamp, in: big, to: TIMESTAMP}
"""

# Only `fail` read: the pass port is the unconnected one.
WHERE_FAIL_ONLY = """tickflow: 1
nodes:
  trades: {ep: generate, count: 20, seed: 3}
  big: {ep: where, in: trades, if: SIZE >= 500}
  small: {ep: keep, in: big.fail, fields: [SIZE]}
output: [small]
"""

TWO_OUTPUTS = """tickflow: 1
nodes:
  trades: {ep: generate, count: 10}
  first: {ep: head, in: trades, n: 2}
  last: {ep: tail, in: trades, n: 3}
output: [first, last]
"""


def column_end(line, index):
    """Where the `index`-th whitespace-separated column of `line` ends."""
    pos = 0
    for i, word in enumerate(line.split()):
        pos = line.index(word, pos) + len(word)
        if i == index:
            return pos
    return -1


def main():
    global TICKFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    opts = parser.parse_args()
    TICKFLOW = opts.tickflow
    src = pathlib.Path(opts.source_dir)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "demo.yaml").write_text(DEMO)
        (tmp / "two.yaml").write_text(TWO_OUTPUTS)

        code, out, err = tf("version")
        check("version", code == 0 and out.startswith("tickflow "), out + err)

        code, out, err = tf("run", str(src / "graphs/demo.yaml"))
        check("demo runs", code == 0 and out.startswith("TIMESTAMP,PRICE,SIZE\n") and
              len(out.splitlines()) == 21, out + err)

        # usage errors: exit 2
        for args in (["run"], ["run", "x.yaml", "--threads", "0"], ["run", "x.yaml", "--bogus"],
                     ["run", str(tmp / "demo.yaml"), "--format", "xml"], ["frobnicate"],
                     ["run", str(tmp / "demo.yaml"), "--start", "yesterday"],
                     ["run", str(tmp / "demo.yaml"), "--param", "NOEQUALS"],
                     ["run", str(tmp / "demo.yaml"), "--stats=yaml"],
                     ["eps", "--format", "pdf"]):
            code, out, err = tf(*args)
            check(f"usage error {args}", code == 2 and "error" in err.lower(), f"exit {code}\n{err}")

        code, out, err = tf("run", str(tmp / "missing.yaml"))
        check("missing query file", code == 2 and "cannot open query file" in err, err)

        # output file: written atomically, no temp file left
        out_path = tmp / "out" / "demo.csv"
        out_path.parent.mkdir()
        code, out, err = tf("run", str(tmp / "demo.yaml"), "-o", str(out_path))
        check("-o writes file", code == 0 and out == "" and out_path.read_text().startswith("TIMESTAMP,PRICE\n"), err)
        check("-o leaves no temp file", sorted(p.name for p in out_path.parent.iterdir()) == ["demo.csv"],
              str(list(out_path.parent.iterdir())))

        code, out, err = tf("run", str(tmp / "demo.yaml"), "--format", "jsonl")
        first = json.loads(out.splitlines()[0])
        check("jsonl", code == 0 and list(first) == ["TIMESTAMP", "PRICE"], out)

        code, out, err = tf("run", str(tmp / "demo.yaml"), "-o", str(tmp / "x.jsonl"))
        check("format from extension", code == 0 and (tmp / "x.jsonl").read_text().startswith("{"), err)

        code, out, err = tf("run", str(tmp / "demo.yaml"), "--format", "table")
        lines = out.splitlines()
        check("table", code == 0 and lines[0].startswith("TIMESTAMP") and set(lines[1]) <= {"-", " "}, out)

        # several outputs: stdout is a usage error, -o DIR writes one file per node
        code, out, err = tf("run", str(tmp / "two.yaml"))
        check("several outputs need -o DIR", code == 2 and "-o DIR" in err, err)
        code, out, err = tf("run", str(tmp / "two.yaml"), "-o", str(tmp / "outdir"))
        files = sorted(p.name for p in (tmp / "outdir").iterdir())
        check("several outputs to DIR", code == 0 and files == ["first.csv", "last.csv"], f"{files}\n{err}")
        check("tail output", len((tmp / "outdir/last.csv").read_text().splitlines()) == 4)

        # stats
        code, out, err = tf("run", str(tmp / "two.yaml"), "-o", str(tmp / "outdir"), "--stats=json")
        stats = json.loads(err.strip().splitlines()[-1])
        by_node = {n["node"]: n for n in stats["nodes"]}
        check("stats json", code == 0 and by_node["trades"]["ticks_out"] == 10 and
              by_node["last"]["peak_ticks_held"] == 3 and by_node["last"]["accumulation"] == "bounded(3 ticks)",
              err)
        code, out, err = tf("run", str(tmp / "two.yaml"), "-o", str(tmp / "outdir"), "--stats")
        check("stats text", code == 0 and "peak_ticks" in err and "trades" in err, err)

        # ticks_out counts only ticks that went somewhere: an unconnected where port gets none
        (tmp / "pass_only.yaml").write_text(WHERE_PASS_ONLY)
        (tmp / "fail_only.yaml").write_text(WHERE_FAIL_ONLY)
        for name, port_rows in (("pass_only", "stamped"), ("fail_only", "small")):
            code, out, err = tf("run", str(tmp / f"{name}.yaml"), "--stats=json")
            nodes = {n["node"]: n for n in json.loads(err.strip().splitlines()[-1])["nodes"]}
            rows = len(out.splitlines()) - 1
            check(f"stats ticks_out of where with one port read ({name})",
                  code == 0 and nodes["big"]["ticks_in"] == 20 and 0 < rows < 20 and
                  nodes["big"]["ticks_out"] == rows == nodes[port_rows]["ticks_in"], out + err)
        # the text table's columns stay aligned when an EP name is longer than the header
        code, out, err = tf("run", str(tmp / "pass_only.yaml"), "--stats")
        lines = [line for line in err.splitlines() if line.split()[:1] in (["node"], ["trades"], ["big"], ["stamped"])]
        check("stats text columns align for a long EP name",
              code == 0 and len(lines) == 4 and "update_timestamp" in err and
              all(len({column_end(line, c) for line in lines}) == 1 for c in (2, 3, 4, 5)), err)

        # state containers: in --stats apart from accumulation, not limited by
        # --max-accumulated-ticks
        dedup = str(src / "graphs/dedup_by_id.yaml")
        code, out, err = tf("run", dedup, "--stats=json", "--max-accumulated-ticks", "1")
        stats = json.loads(err.strip().splitlines()[-1])
        check("stats json state", code == 0 and stats.get("state") == [
            {"variable": "SEEN", "peak_ticks": 5, "peak_bytes": stats["state"][0]["peak_bytes"],
             "final_ticks": 5}] and stats["state"][0]["peak_bytes"] > 0, err)
        code, out, err = tf("run", dedup, "--stats")
        check("stats text state", code == 0 and "final_ticks" in err and "SEEN" in err, err)
        code, out, err = tf("explain", dedup)
        check("explain state", code == 0 and "SEEN  tick_set {ID int} key [ID]" in out and
              "writes state: SEEN" in out and "plan (sequential" in out, out + err)

        code, out, err = tf("run", str(tmp / "two.yaml"), "-o", str(tmp / "outdir2"),
                            "--max-accumulated-ticks", "2")
        check("max accumulated ticks", code == 1 and "node 'last'" in err and "--max-accumulated-ticks 2" in err,
              err)
        check("no files after failure", not any((tmp / "outdir2").iterdir()),
              str(list((tmp / "outdir2").iterdir())))

        # check: several files, status is the worst
        (tmp / "bad.yaml").write_text("tickflow: 1\nnodes:\n  a: {ep: nope}\n")
        code, out, err = tf("check", str(tmp / "demo.yaml"), str(tmp / "bad.yaml"))
        check("check", code == 2 and "demo.yaml: ok" in out and "bad.yaml:3:11: error" in err, out + err)

        # explain
        code, out, err = tf("explain", str(tmp / "two.yaml"))
        check("explain text", code == 0 and "accumulation: bounded(3 ticks)" in out and "segment" in out, out + err)
        code, out, err = tf("explain", str(tmp / "two.yaml"), "--dot")
        check("explain dot", code == 0 and out.startswith("digraph") and "fillcolor" in out and
              '"trades" -> "last"' in out and "sequential" not in out, out + err)
        code, out, err = tf("explain", dedup, "--dot")
        check("explain dot draws state variables and labels a sequential plan",
              code == 0 and "sequential plan" in out and '"state:SEEN" [shape=cylinder' in out and
              "cluster_" not in out and
              any(line.strip().startswith('"') and '-> "state:SEEN"' in line and "writes" in line
                  for line in out.splitlines()) and
              any(line.strip().startswith('"state:SEEN" -> ') and "reads" in line for line in out.splitlines()),
              out + err)

        # eps
        code, out, err = tf("eps", "--format", "json")
        eps = json.loads(out)
        names = [e["name"] for e in eps]
        check("eps json", code == 0 and {"csv", "generate", "keep", "write_csv"} <= set(names) and
              all({"name", "doc", "inputs", "outputs", "params", "accumulation", "origin"} <= set(e) for e in eps),
              out[:500])
        code, out, err = tf("eps", "kep")
        check("eps unknown", code == 2 and "did you mean 'keep'" in err, err)
        code, out, err = tf("eps", "tail")
        check("eps one", code == 0 and out.startswith("tail"), out)
        code, out, err = tf("eps", "where")
        check("eps names the source file", code == 0 and "\n  source: eps/fields/where.cpp\n" in out, out)
        # Named after it: every word of the EP's name is a word of the file's name
        # (first_tick in first_last_high_low_tick.cpp, keep in keep_drop_rename.cpp).
        def named_after(ep, source):
            stem = source.rsplit("/", 1)[-1].split(".")[0]
            return set(ep.split("_")) <= set(stem.split("_"))
        missing = [e["name"] + ": " + e.get("source", "") for e in eps
                   if not (src / e.get("source", "-")).is_file()
                   or not named_after(e["name"], e["source"])]
        check("every built-in EP's source is a file of the tree named after it or its family",
              not missing, str(missing))

        # every ready-made query in graphs/ is valid
        graphs = sorted(str(p) for p in (src / "graphs").glob("*.yaml"))
        code, out, err = tf("check", *graphs)
        check("graphs/*.yaml check", code == 0 and out.count(": ok") == len(graphs), out + err)
        code, out, err = tf("run", str(src / "graphs/large_trades.yaml"), "--param", "MIN_SIZE=700")
        check("large_trades example", code == 0 and out.splitlines()[1:] ==
              ["2024-01-02 09:30:04.937129569,AAPL,43.2,700,K,30240.000000000004"], out + err)

        # the checked-in EP reference must match the registry
        code, out, err = tf("eps", "--format", "markdown")
        reference = (src / "docs/eps.md").read_text() if (src / "docs/eps.md").exists() else ""
        check("docs/eps.md is current (regenerate: tickflow eps --format markdown > docs/eps.md)",
              code == 0 and out == reference, "docs/eps.md differs from `tickflow eps --format markdown`")

    return summary()


if __name__ == "__main__":
    sys.exit(main())
