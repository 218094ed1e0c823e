#!/usr/bin/env python3
"""`tickflow serve --journal`: kill -9 during ingest loses no acknowledged batch and keeps
no half batch; restart gives the same statistics; a torn tail is reported and truncated;
damage elsewhere stops the start with the file name and offset."""
import argparse
import pathlib
import signal
import struct
import sys
import tempfile
import threading
import time

from script_checks import check, summary
from serve_support import Server, run_to_exit


def all_stats(server, symbols, max_k=4):
    return {(s, k): server.json("GET", f"/stats/?symbol={s}&k={k}") for s in symbols
            for k in range(1, max_k + 1)}


def journal_file(directory, symbol):
    return pathlib.Path(directory) / (symbol.encode().hex() + ".journal")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir")
    parser.add_argument("--build-dir")
    opts = parser.parse_args()
    tickflow = opts.tickflow

    with tempfile.TemporaryDirectory() as tmp:
        journal = pathlib.Path(tmp) / "journal"
        args = ["--journal", str(journal), "--max-k", "4", "--threads", "2"]

        # 1. Acknowledged batches survive kill -9; the stats after replay are identical.
        with Server(tickflow, args + ["--fsync", "never"]) as server:
            for i in range(20):
                server.json("POST", "/add_batch/",
                            {"symbol": "AAA", "values": [i * 1.5 + j / 7 for j in range(123)]})
                server.json("POST", "/add_batch/", {"symbol": "B/B", "values": [1e12 if i == 3 else i]})
            before = all_stats(server, ["AAA", "B/B"])
            server.stop(signal.SIGKILL)
        with Server(tickflow, args) as server:
            after = all_stats(server, ["AAA", "B/B"])
            check("kill -9 then replay: identical stats", before == after,
                  f"{before}\n{after}")
            check("replayed counts", after[("AAA", 4)][1]["count"] == 20 * 123 and
                  after[("B/B", 1)][1]["count"] == 10, after)
            check("graceful stop exit 0", server.stop() == 0, server.stderr)

        # 2. kill -9 in the middle of continuous ingest: every acknowledged batch is there,
        # the count is on a batch boundary.
        acknowledged = [0]
        stop = threading.Event()
        with Server(tickflow, args + ["--fsync", "always"]) as server:
            def writer():
                try:
                    while not stop.is_set():
                        status, body = server.json("POST", "/add_batch/",
                                                   {"symbol": "LIVE", "values": [2.0] * 500})
                        if status != 200:
                            return
                        acknowledged[0] = body["count"]
                except Exception:
                    return

            thread = threading.Thread(target=writer)
            thread.start()
            time.sleep(1.0)
            server.process.send_signal(signal.SIGKILL)
            stop.set()
            thread.join(timeout=30)
            server.stop()
        with Server(tickflow, args) as server:
            status, got = server.json("GET", "/stats/?symbol=LIVE&k=4")
            count = got.get("count", -1)
            # k=4 caps at 10^4: compare below the cap, else only the boundary.
            check("kill -9 during ingest: acknowledged batches kept",
                  acknowledged[0] > 0 and (count >= min(acknowledged[0], 10000)) and count % 500 == 0,
                  f"acknowledged {acknowledged[0]}, replayed {got}")
            server.stop()

        # 3. A torn tail (a record cut short) is reported with its file and truncated.
        with Server(tickflow, args) as server:
            before = all_stats(server, ["AAA"])
            server.stop()
        path = journal_file(journal, "AAA")
        good_size = path.stat().st_size
        with open(path, "ab") as f:
            f.write(struct.pack("<II", 100, 12345) + b"\x00" * 37)  # 100 values announced, 4.6 written
        with Server(tickflow, args) as server:
            after = all_stats(server, ["AAA"])
            server.stop()
            check("torn tail: reported with the file name", "torn" in server.stderr and
                  path.name in server.stderr, server.stderr)
            check("torn tail: stats as before the torn write", before == after, f"{before}\n{after}")
            check("torn tail: truncated", path.stat().st_size == good_size,
                  f"{path.stat().st_size} != {good_size}")

        # 4. Damage before the tail: start-up error naming file and offset; nothing served.
        data = bytearray(path.read_bytes())
        header = 8 + 4 + 3 + 4
        data[header + 8 + 5] ^= 0xFF  # a byte inside the first record's values
        path.write_bytes(bytes(data))
        code, err = run_to_exit(tickflow, ["--port", "1"] + args)
        check("damaged journal: start-up error", code == 1 and "damaged" in err and
              path.name in err and f"offset {header}" in err, f"{code} {err}")
        check("damaged journal: file left for inspection", path.stat().st_size == len(data))

        # 5. A journal directory that cannot be created.
        blocker = pathlib.Path(tmp) / "a-file"
        blocker.write_text("x")
        code, err = run_to_exit(tickflow, ["--port", "1", "--journal", str(blocker / "sub")])
        check("journal directory cannot be created: error", code == 1 and "journal" in err,
              f"{code} {err}")
        code, err = run_to_exit(tickflow, ["--port", "1", "--fsync", "always"])
        check("--fsync without --journal is a usage error", code == 2, f"{code} {err}")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
