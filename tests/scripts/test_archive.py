#!/usr/bin/env python3
"""The tick archive (docs/archive.md): `tickflow load`, `run --db`, the `db` EP and `db list|info`.

Round trip of every type (nan/inf, int64 extremes, empty and long strings, equal timestamps,
several days and symbols) compared byte for byte with the same query over the CSV, under
several --threads and --batch-size; range and symbol pruning (counted by --stats); a load
killed with SIGKILL leaves the archive as it was; a flipped byte in a column file, a manifest
or the catalog is an error naming the file (and chunk); schema evolution rules; existing
partitions and --replace; concurrent readers during --replace loads; bad input."""
import argparse
import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from script_checks import check, summary

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1


def tf(*args, cwd=None, timeout=300):
    r = subprocess.run([TICKFLOW, *args], capture_output=True, cwd=cwd, timeout=timeout)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def write(path, text):
    path.write_text(text)
    return path


def every_type_csv(path):
    """Two symbols over two days; equal timestamps within and across symbols."""
    long_text = "x" * 100_000
    rows = [
        ("2024-01-02 09:30:00", "AAA", INT_MIN, "nan", "true", "", "2024-01-02 00:00:00", "-5"),
        ("2024-01-02 09:30:00", "BBB", INT_MAX, "inf", "false", long_text, "1970-01-01", "0"),
        ("2024-01-02 09:30:00", "AAA", 0, "-inf", "false", '"a, ""quoted"" text"', "", "9223372036854775807"),
        ("2024-01-02 09:30:00.000000001", "AAA", -1, "-0.0", "true", "é✓", "2262-04-11 23:47:16", "-9223372036854775808"),
        ("2024-01-02 23:59:59.999999999", "BBB", 42, "1e-300", "", "last of day", "2024-01-02 23:59:59.999999999", "1"),
        ("2024-01-03 00:00:00", "BBB", 7, "1.7976931348623157e308", "true", "", "2024-01-03", "2"),
        ("2024-01-03 00:00:00", "AAA", 8, "", "false", "next day", "2024-01-03", ""),
        ("2024-01-03 12:00:00", "AAA", 9, "0.1", "true", "z", "2024-01-03 12:00:00", "3"),
    ]
    lines = ["TIMESTAMP,SYMBOL,I,D,B,S,T,U"] + [",".join(str(c) for c in r) for r in rows]
    return write(path, "\n".join(lines) + "\n")


FIELDS = "I:int,D:double,B:bool,S:string,T:time,U:duration"


def query(tmp, name, node, symbols=None, extra=""):
    text = "tickflow: 1\n"
    if symbols:
        text += f"symbols: [{', '.join(symbols)}]\n"
    text += f"nodes:\n  t: {node}\n{extra}"
    return write(tmp / name, text)


def stats_counters(err):
    for line in err.splitlines():
        if line.startswith("{"):
            return {n["node"]: n["counters"] for n in json.loads(line)["nodes"]}
    return {}


def round_trip(tmp):
    every_type_csv(tmp / "all.csv")
    code, out, err = tf("load", "all.csv", "--db", "db", "--table", "all", "--fields", FIELDS, cwd=tmp)
    check("load every type", code == 0 and "loaded 8 ticks" in err, err)
    types = "{I: int, D: double, B: bool, S: string, T: time, U: duration}"
    q_db = query(tmp, "all_db.yaml", "{ep: db, path: db, table: all}")
    q_csv = query(tmp, "all_csv.yaml", f"{{ep: csv, path: all.csv, fields: {types}}}")
    q_db_sym = query(tmp, "all_db_sym.yaml", "{ep: db, path: db, table: all}", ["AAA", "BBB"])
    q_csv_sym = query(tmp, "all_csv_sym.yaml", f"{{ep: csv, path: all.csv, fields: {types}}}", ["AAA", "BBB"])
    for db_q, csv_q in [(q_db, q_csv), (q_db_sym, q_csv_sym)]:
        _, expected, err = tf("run", csv_q.name, cwd=tmp)
        check(f"csv reference {csv_q.name}", expected.count("\n") == 9, expected + err)
        for threads, batch in [(1, 1), (2, 3), (2, 4096)]:
            code, out, err = tf("run", db_q.name, "--threads", str(threads), "--batch-size", str(batch), cwd=tmp)
            check(f"round trip {db_q.name} threads {threads} batch {batch}", code == 0 and out == expected,
                  f"{err}\n--- db\n{out[:2000]}\n--- csv\n{expected[:2000]}")
    # Projection: only the named fields, in the order named.
    q = query(tmp, "proj.yaml", "{ep: db, path: db, table: all, fields: [U, SYMBOL, I]}")
    code, out, err = tf("run", q.name, cwd=tmp)
    check("projection order", code == 0 and out.splitlines()[0] == "TIMESTAMP,U,SYMBOL,I", out + err)


def generated_table(tmp):
    """600k trades of 3 symbols over 3 days, stored through `run --db` in chunks of 9999 ticks
    (not a multiple of the 16 words the column decoder takes at a time)."""
    write(tmp / "gen.yaml", "tickflow: 1\nnodes:\n  src: {ep: generate, kind: trades, count: 200000, interval: 1s, seed: 3}\n")
    code, _, err = tf("run", "gen.yaml", "--symbols", "A,B,C", "--merge-symbols", "-o", "trades.csv", cwd=tmp)
    check("generate csv", code == 0, err)
    code, _, err = tf("run", "gen.yaml", "--symbols", "A,B,C", "--db", "db", "--table", "trades", "--chunk-rows", "9999", cwd=tmp)
    check("run --db", code == 0 and "loaded 600000 ticks" in err and "9 partitions" in err, err)
    code, out, err = tf("db", "list", "db", "--format", "json", cwd=tmp)
    tables = {t["table"]: t for t in json.loads(out)} if code == 0 else {}
    check("db list", tables.get("trades", {}).get("ticks") == 600000 and tables["trades"]["days"] == 3
          and tables["trades"]["symbols"] == 3 and 0 < tables["trades"]["bytes"] < tables["trades"]["raw_bytes"],
          out + err)
    code, out, err = tf("db", "info", "db", "--table", "trades", cwd=tmp)
    check("db info", code == 0 and "SYMBOL:string PRICE:double SIZE:int EXCHANGE:string" in out
          and "2024-01-03" in out, out + err)


def pruning(tmp):
    q_db = query(tmp, "trades_db.yaml", "{ep: db, path: db, table: trades}")
    q_csv = query(tmp, "trades_csv.yaml", "{ep: csv, path: trades.csv}")
    cases = [
        ([], None),
        (["--symbols", "B"], {"partitions_read": 3}),
        (["--symbols", "A,C", "--start", "2024-01-03 10:00:00", "--end", "2024-01-03 10:30:00"],
         {"partitions_read": 2, "chunks_read": 2}),
        (["--start", "2024-01-03", "--end", "2024-01-04"], {"partitions_read": 3}),
        (["--start", "2024-01-04 12:00:00"], {"partitions_read": 3}),
    ]
    for args, expected_counters in cases:
        _, expected, _ = tf("run", q_csv.name, *args, cwd=tmp)
        for extra in [[], ["--merge-symbols"]] if "--symbols" in args else [[]]:
            code, out, err = tf("run", q_db.name, *args, *extra, "--stats=json", "--threads", "2",
                                "--batch-size", "1000", cwd=tmp)
            if extra:
                _, expected_merged, _ = tf("run", q_csv.name, *args, *extra, cwd=tmp)
            ok = code == 0 and out == (expected_merged if extra else expected) and len(out) > 100
            check(f"range/symbol {' '.join(args + extra)}", ok, err[-2000:])
        if expected_counters:
            counters = stats_counters(err).get("t", {})
            # In a symbols run the counters are summed over the symbols' runs.
            check(f"pruned {' '.join(args)}",
                  all(counters.get(k) == v for k, v in expected_counters.items()), f"{counters}")


def unused_fields(tmp):
    """Fields the query does not use are not read (BindContext::fields_used), and the output
    is the CSV query's, for runs with and without symbols."""
    bars = ("  bars: {ep: aggregate, in: t, bucket: 1h, "
            "aggs: {HIGH: max(PRICE), VWAP: 'vwap(PRICE, SIZE)', N: count()}}\n")
    by_exchange = ("  big: {ep: where, in: t, if: SIZE > 500}\n"
                   "  n: {ep: aggregate, in: big, group_by: [EXCHANGE], aggs: {N: count()}}\n")
    # (name, nodes after the source, symbols, stored columns read per partition: the symbol
    # field is the partition's, never a stored column)
    cases = [
        ("bars", bars, None, 2),
        ("bars_sym", bars, ["A", "B", "C"], 2),
        ("by_exchange", by_exchange, ["A", "C"], 2),
        ("symbol_column", "  k: {ep: where, in: t, if: SYMBOL == \"B\"}\n"
                          "  p: {ep: keep, in: k, fields: [PRICE]}\n", None, 1),
        ("all_fields", "  big: {ep: where, in: t, if: SIZE > 500}\n", None, 3),
    ]
    for name, rest, symbols, per_partition in cases:
        q_db = query(tmp, f"unused_{name}_db.yaml", "{ep: db, path: db, table: trades}", symbols, rest)
        q_csv = query(tmp, f"unused_{name}_csv.yaml", "{ep: csv, path: trades.csv}", symbols, rest)
        _, expected, _ = tf("run", q_csv.name, cwd=tmp)
        for threads, batch in [(1, 7), (2, 4096)]:
            code, out, err = tf("run", q_db.name, "--stats=json", "--threads", str(threads),
                                "--batch-size", str(batch), cwd=tmp)
            check(f"unused fields {name} threads {threads} batch {batch}: the CSV query's output",
                  code == 0 and out == expected and out.count("\n") > 1, err[-2000:] + out[:500])
        counters = stats_counters(err).get("t", {})
        partitions = counters.get("partitions_read", 0)
        check(f"unused fields {name}: {per_partition} columns read per partition",
              partitions > 0 and counters.get("columns_read") == per_partition * partitions, f"{counters}")


def catalog_bytes(db, table):
    return (db / table / "catalog.json").read_bytes()


def kill_during_load(tmp):
    _, before, _ = tf("run", "trades_db.yaml", cwd=tmp)
    catalog = catalog_bytes(tmp / "db", "trades")
    write(tmp / "big.yaml", "tickflow: 1\nnodes:\n  src: {ep: generate, kind: trades, count: 3000000, interval: 100ms, seed: 9}\n")
    for delay in [0.3, 0.8, 1.5]:
        p = subprocess.Popen([TICKFLOW, "run", "big.yaml", "--symbols", "A,B,C,D", "--db", "db", "--table",
                              "trades", "--replace", "--chunk-rows", "5000"], cwd=tmp,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        _, after, err = tf("run", "trades_db.yaml", cwd=tmp)
        check(f"kill -9 after {delay}s: catalog unchanged", catalog_bytes(tmp / "db", "trades") == catalog)
        check(f"kill -9 after {delay}s: same ticks", after == before, err)
    # The next load removes what killed loads left behind.
    leftovers = sum(1 for _ in (tmp / "db" / "trades").glob("*/*"))
    code, _, err = tf("run", "gen.yaml", "--symbols", "Z", "--db", "db", "--table", "trades", cwd=tmp)
    remaining = sum(1 for _ in (tmp / "db" / "trades").glob("*/*"))
    check("next load cleans up", code == 0 and remaining <= 12 and leftovers >= 9, f"{leftovers} -> {remaining}\n{err}")


def damage(tmp):
    shutil.copytree(tmp / "db", tmp / "bad")
    q = query(tmp, "bad.yaml", "{ep: db, path: bad, table: trades}")
    column = sorted((tmp / "bad" / "trades").glob("2024-01-03/B.*/f_PRICE.col"))[0]
    data = bytearray(column.read_bytes())
    data[len(data) // 2] ^= 0x10
    column.write_bytes(bytes(data))
    code, out, err = tf("run", q.name, "--symbols", "B", cwd=tmp)
    check("flipped byte: error", code == 1 and str(column.name) in err and "chunk" in err
          and "checksum" in err, err)
    check("flipped byte: no wrong ticks printed after the damage", "2024-01-04" not in out, out[-300:])
    # A column not asked for is not read, so its damage does not matter.
    q2 = query(tmp, "bad_proj.yaml", "{ep: db, path: bad, table: trades, fields: [SIZE]}")
    code, _, err = tf("run", q2.name, "--symbols", "B", cwd=tmp)
    check("undamaged columns still read", code == 0, err)
    column.write_bytes(bytes(data[: len(data) // 3]))
    code, _, err = tf("run", q.name, "--symbols", "B", cwd=tmp)
    check("truncated column file", code == 1 and column.name in err and "chunk" in err, err)
    manifest = column.parent / "manifest.json"
    text = manifest.read_bytes()
    manifest.write_bytes(text.replace(b'"ticks"', b'"tickz"', 1))
    code, _, err = tf("run", q.name, "--symbols", "B", cwd=tmp)
    check("damaged manifest", code == 1 and "manifest.json" in err and "damaged" in err, err)
    catalog = tmp / "bad" / "trades" / "catalog.json"
    catalog.write_bytes(catalog.read_bytes()[:-40])
    code, _, err = tf("run", q.name, "--symbols", "A", cwd=tmp)
    check("damaged catalog", code == 1 and "catalog.json" in err and "damaged" in err, err)
    code, _, err = tf("db", "list", "bad", cwd=tmp)
    check("db list on a damaged catalog", code == 1 and "catalog.json" in err, err)


def schema_and_replace(tmp):
    write(tmp / "s1.csv", "TIMESTAMP,SYMBOL,PRICE,SIZE\n2024-01-02 10:00:00,X,1.5,100\n2024-01-02 10:00:01,Y,2.5,200\n")
    write(tmp / "s2.csv", "TIMESTAMP,SYMBOL,PRICE,SIZE,VENUE\n2024-01-03 10:00:00,X,3.5,300,N\n")
    write(tmp / "s3.csv", "TIMESTAMP,SYMBOL,PRICE\n2024-01-04 10:00:00,X,7\n")
    write(tmp / "s4.csv", "TIMESTAMP,SYMBOL,PRICE,SIZE\n2024-01-02 11:00:00,X,9.5,900\n")
    code, _, err = tf("load", "s1.csv", "--db", "sdb", "--table", "t", cwd=tmp)
    check("schema: first load", code == 0, err)
    code, _, err = tf("load", "s2.csv", "--db", "sdb", "--table", "t", cwd=tmp)
    check("schema: adding a field is allowed", code == 0, err)
    q = query(tmp, "s.yaml", "{ep: db, path: sdb, table: t}")
    code, out, err = tf("run", q.name, cwd=tmp)
    check("schema: older partitions read the new field as its default",
          code == 0 and out.splitlines() == [
              "TIMESTAMP,SYMBOL,PRICE,SIZE,VENUE",
              "2024-01-02 10:00:00.000000000,X,1.5,100,",
              "2024-01-02 10:00:01.000000000,Y,2.5,200,",
              "2024-01-03 10:00:00.000000000,X,3.5,300,N"], out + err)
    before = catalog_bytes(tmp / "sdb", "t")
    code, _, err = tf("load", "s3.csv", "--db", "sdb", "--table", "t", "--fields", "PRICE:int", cwd=tmp)
    check("schema: changing a type is an error naming both", code == 2 and "PRICE" in err and "double" in err
          and "int" in err, err)
    check("schema: failed load leaves the catalog", catalog_bytes(tmp / "sdb", "t") == before)
    code, _, err = tf("load", "s4.csv", "--db", "sdb", "--table", "t", cwd=tmp)
    check("existing partition is an error naming it", code == 1 and "t/2024-01-02/X" in err and "--replace" in err, err)
    check("refused load leaves the catalog", catalog_bytes(tmp / "sdb", "t") == before)
    code, _, err = tf("load", "s4.csv", "--db", "sdb", "--table", "t", "--replace", cwd=tmp)
    check("--replace", code == 0 and "1 replaced" in err, err)
    code, out, err = tf("run", q.name, cwd=tmp)
    check("--replace replaced only that partition",
          out.splitlines()[1:] == ["2024-01-02 10:00:01.000000000,Y,2.5,200,",
                                   "2024-01-02 11:00:00.000000000,X,9.5,900,",
                                   "2024-01-03 10:00:00.000000000,X,3.5,300,N"], out + err)


def concurrent_readers(tmp):
    """Readers during --replace loads see either the old or the new table, never a mix."""
    write(tmp / "c1.yaml", "tickflow: 1\nnodes:\n  src: {ep: generate, kind: trades, count: 100000, interval: 1s, seed: 1}\n")
    write(tmp / "c2.yaml", "tickflow: 1\nnodes:\n  src: {ep: generate, kind: trades, count: 100000, interval: 1s, seed: 2}\n")
    code, _, err = tf("run", "c1.yaml", "--symbols", "P,Q", "--db", "cdb", "--table", "t", cwd=tmp)
    check("concurrent: first load", code == 0, err)
    q = query(tmp, "c.yaml", "{ep: db, path: cdb, table: t}")
    _, one, _ = tf("run", q.name, cwd=tmp)
    loader = subprocess.Popen(
        ["bash", "-c", f"for i in 1 2 3; do {TICKFLOW} run c2.yaml --symbols P,Q --db cdb --table t --replace && "
                       f"{TICKFLOW} run c1.yaml --symbols P,Q --db cdb --table t --replace; done"],
        cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    outputs = []
    deadline = time.time() + 60
    while loader.poll() is None and time.time() < deadline and len(outputs) < 40:
        code, out, err = tf("run", q.name, cwd=tmp)
        outputs.append((code, out, err))
    loader.wait(timeout=120)
    _, two, _ = tf("run", "c2.yaml", "--symbols", "P,Q", "--merge-symbols", cwd=tmp)
    _, one_gen, _ = tf("run", "c1.yaml", "--symbols", "P,Q", "--merge-symbols", cwd=tmp)
    check("concurrent: table matches its generator", one == one_gen)
    bad = [o for o in outputs if o[0] != 0 or o[1] not in (one_gen, two)]
    check(f"concurrent: {len(outputs)} reads each saw one whole table", outputs and not bad,
          bad[0][2] if bad else "no reads")


def bad_input(tmp):
    q = query(tmp, "u.yaml", "{ep: db, path: db, table: trade}")
    code, _, err = tf("run", q.name, cwd=tmp)
    check("unknown table: did you mean", code == 1 and "no table 'trade'" in err and "trades" in err
          and "u.yaml:3" in err, err)
    q = query(tmp, "f.yaml", "{ep: db, path: db, table: trades, fields: [PRICE, SIZ]}")
    code, _, err = tf("run", q.name, cwd=tmp)
    check("unknown field: did you mean", code == 2 and "SIZ" in err and "SIZE" in err, err)
    q = query(tmp, "m.yaml", "{ep: db, path: nowhere, table: trades}")
    code, _, err = tf("run", q.name, cwd=tmp)
    check("missing archive", code == 1 and "nowhere" in err, err)
    write(tmp / "unordered.csv", "TIMESTAMP,SYMBOL,PRICE\n2024-01-02 10:00:01,X,1\n2024-01-02 10:00:00,X,2\n")
    code, _, err = tf("load", "unordered.csv", "--db", "udb", "--table", "t", cwd=tmp)
    check("out-of-order input: error, nothing loaded", code == 1 and "unordered.csv:3" in err
          and not (tmp / "udb" / "t" / "catalog.json").exists(), err)
    write(tmp / "nosym.csv", "TIMESTAMP,PRICE\n2024-01-02 10:00:00,1\n")
    code, _, err = tf("load", "nosym.csv", "--db", "udb", "--table", "t", cwd=tmp)
    check("no symbol field: usage error", code == 2 and "--symbol" in err, err)
    code, _, err = tf("load", "nosym.csv", "--db", "udb", "--table", "t", "--symbol", "ONE", cwd=tmp)
    check("--symbol gives every tick its symbol", code == 0, err)
    code, _, err = tf("load", "nosym.csv", "--db", "udb", "--table", "bad-name", "--symbol", "ONE", cwd=tmp)
    check("bad table name", code == 2 and "bad-name" in err, err)
    code, _, err = tf("run", "gen.yaml", "--db", "udb", cwd=tmp)
    check("--db without --table", code == 2 and "--table" in err, err)
    write(tmp / "sorted.yaml", "tickflow: 1\nnodes:\n  src: {ep: generate, count: 100, seed: 3}\n"
          "  s: {ep: order_by, in: src, by: [-PRICE]}\n")
    code, _, err = tf("run", "sorted.yaml", "--db", "udb", "--table", "s", "--symbol", "A", cwd=tmp)
    check("unordered run output refused", code == 1 and "time order" in err
          and not (tmp / "udb" / "s" / "catalog.json").exists(), err)


def main():
    global TICKFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    TICKFLOW = str(pathlib.Path(parser.parse_args().tickflow).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        round_trip(tmp)
        generated_table(tmp)
        pruning(tmp)
        unused_fields(tmp)
        kill_during_load(tmp)
        damage(tmp)
        schema_and_replace(tmp)
        concurrent_readers(tmp)
        bad_input(tmp)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
