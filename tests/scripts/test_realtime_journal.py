#!/usr/bin/env python3
"""`tickflow serve --journal DIR QUERY.yaml`: pushes and advances to standing queries are
journaled before they are answered; after kill -9 or SIGTERM a restart replays them through
the query, so latest, tick counts and state are what they were, and the query goes on to
give the same ticks as one that never stopped. A torn last record is reported and cut off;
DELETE removes the query's journal."""
import argparse
import json
import pathlib
import signal
import sys
import tempfile

from script_checks import check, summary
from serve_support import Server

QUERY = """tickflow: 1
name: jq
symbols: [AAPL, MSFT]
state:
  SEEN: {type: int}
nodes:
  trades:
    ep: push
    fields: {PRICE: double, SIZE: int}
  quotes:
    ep: push
    fields: {BID: double}
  both:
    ep: merge
    in: [trades, quotes]
  count:
    ep: set_state
    in: both
    assign: {SEEN: state.SEEN + 1}
  seen:
    ep: add_field
    in: count
    set: {N: state.SEEN}
  minute:
    ep: aggregate
    in: trades
    bucket: 1m
    aggs:
      N: count()
      VOLUME: sum(SIZE)
output: [seen, minute]
"""

CSV = {"Content-Type": "text/csv"}


def requests(first, last):
    """Pushes and advances numbered first..last-1, the same every time."""
    out = []
    for i in range(first, last):
        symbol = ("AAPL", "MSFT")[i % 2]
        second = 10 * i
        if i % 3 == 0:
            out.append(("POST", f"/v1/queries/jq/push/quotes?symbol={symbol}",
                        f"TIMESTAMP,BID\n{1704187800 + second}000000000,{i}.5\n"))
        if i % 5 == 4:
            out.append(("POST", f"/v1/queries/jq/advance/quotes?symbol={symbol}&"
                        f"to={1704187800 + second + 5}000000000", None))
        out.append(("POST", f"/v1/queries/jq/push/trades?symbol={symbol}",
                    f'{{"TIMESTAMP": {1704187800 + second}000000000, "PRICE": {i}, "SIZE": {i}}}\n'
                    f'{{"TIMESTAMP": {1704187800 + second + 1}000000000, "PRICE": 1, "SIZE": 1}}\n'))
    return out


def send(server, batch):
    for method, path, body in batch:
        status, reply = server.request(method, path, body, CSV if body and body[0] != "{" else
                                       {"Content-Type": "application/x-ndjson"})
        if not check(f"{method} {path} accepted", status == 200, reply):
            return


def snapshot(server):
    out = {}
    for node in ("seen", "minute"):
        for symbol in ("AAPL", "MSFT"):
            out[(node, symbol)] = server.request(
                "GET", f"/v1/queries/jq/latest?node={node}&symbol={symbol}&n=1000")
    status, desc = server.json("GET", "/v1/queries/jq")
    out["counts"] = [(n["id"], n["ticks_in"], n["ticks_out"], n["held_ticks"])
                     for n in desc.get("nodes", [])]
    return out


def final(server):
    """Stops the query; returns its tick counts and the latest ticks just before."""
    shot = snapshot(server)
    status, desc = server.json("DELETE", "/v1/queries/jq")
    check("query stopped", status == 200, desc)
    return shot, desc.get("outputs")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir")
    parser.add_argument("--build-dir")
    opts = parser.parse_args()
    tickflow = opts.tickflow

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "jq.yaml").write_text(QUERY)
        query = [str(tmp / "jq.yaml")]

        # The reference: everything pushed to one server that never stops.
        with Server(tickflow, ["--threads", "2", *query]) as server:
            send(server, requests(0, 40))
            middle = snapshot(server)
            send(server, requests(40, 80))
            expected_shot, expected_outputs = final(server)
            server.stop()

        journal = tmp / "journal"
        args = ["--threads", "2", "--journal", str(journal), "--fsync", "never", *query]
        with Server(tickflow, args) as server:
            send(server, requests(0, 20))
            server.stop(signal.SIGKILL)
        with Server(tickflow, args) as server:
            send(server, requests(20, 40))
            check("after kill -9 and a restart: latest, counts and state as without a restart",
                  snapshot(server) == middle, "")
            code = server.stop(signal.SIGTERM)
            check("SIGTERM with a journal: exit 0", code == 0, server.stderr)
        files = list((journal / "queries").glob("*.journal"))
        check("one journal file for the query", len(files) == 1, files)
        # A record torn by a crash in the middle of a write.
        with open(files[0], "ab") as f:
            f.write(b"\x10\x00\x00\x00\x01\x02")
        with Server(tickflow, args) as server:
            check("after SIGTERM and a restart: the same again", snapshot(server) == middle, "")
            send(server, requests(40, 80))
            shot, outputs = final(server)
            check("the restarted query goes on like one that never stopped",
                  shot == expected_shot and outputs == expected_outputs,
                  json.dumps([outputs, expected_outputs]))
            server.stop()
            check("the torn record is reported", "torn" in server.stderr, server.stderr)
        check("DELETE removes the query's journal",
              not list((journal / "queries").glob("*.journal")), "")
        with Server(tickflow, args) as server:
            status, latest = server.request("GET", "/v1/queries/jq/latest?node=seen&symbol=AAPL")
            check("after DELETE a restart starts the query empty", status == 200 and latest == b"",
                  latest)
            server.stop()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
