#!/usr/bin/env python3
"""Standing queries over HTTP (SPEC §13, docs/realtime.md): every kind of bad request gets
its documented status and a JSON error naming the problem, and changes nothing (a request
with one bad or late row applies none of its rows); the API itself: registering and
stopping queries, CSV and JSON-lines pushes, receipt time, advance, latest, the listing,
server-sent events, and a subscriber that falls behind being disconnected with a final error
event while pushes go on."""
import argparse
import json
import pathlib
import socket
import sys
import tempfile
import time

from script_checks import check, summary
from serve_support import HOST, Server, run_to_exit

QUERY = """tickflow: 1
name: px
symbols: [AAPL, MSFT]
nodes:
  trades:
    ep: push
    fields: {PRICE: double, SIZE: int}
  quotes:
    ep: push
    fields: {BID: double}
  joined:
    ep: join_by_time
    in: [trades, quotes]
  minute:
    ep: aggregate
    in: trades
    bucket: 1m
    aggs:
      N: count()
      VOLUME: sum(SIZE)
output: [joined, minute]
"""

PLAIN = """tickflow: 1
name: plain
nodes:
  ticks:
    ep: push
    fields: {X: int, NAME: string}
  shown:
    ep: add_field
    in: ticks
    set: {Y: X * 2}
"""

CSV = {"Content-Type": "text/csv"}
EXERCISED = set()  # (path pattern of openapi.json, method or "*" for 405, status)


def pattern(path):
    parts = path.split("?")[0].split("/")
    if len(parts) >= 4:
        parts[3] = "{query}"
    if len(parts) >= 6 and parts[4] in ("push", "advance"):
        parts[5] = "{node}"
    return "/".join(parts)


class Recording(Server):
    def request(self, method, path, body=None, headers=None, fresh=False):
        status, data = super().request(method, path, body, headers, fresh)
        EXERCISED.add((pattern(path), "*" if status == 405 else method, status))
        return status, data


def check_documented_statuses(source_dir):
    spec = json.loads((source_dir / "server/openapi.json").read_text())
    documented = {(p, "*" if s == "405" else m.upper(), int(s)) for p, ms in spec["paths"].items()
                  if p.startswith("/v1/queries") for m, op in ms.items() for s in op["responses"]}
    check("every documented status of /v1/queries was exercised",
          not documented - EXERCISED, sorted(documented - EXERCISED))
    produced = {e for e in EXERCISED if e[0].startswith("/v1/queries")}
    check("every status produced is documented", not produced - documented,
          sorted(produced - documented))
NDJSON = {"Content-Type": "application/x-ndjson"}


def expect(server, name, method, path, status, words=(), body=None, headers=None):
    got, data = server.request(method, path, body, headers)
    try:
        error = json.loads(data).get("error", "") if got >= 400 else ""
    except ValueError:
        error = None
    ok = got == status and error is not None and all(w in (error or "") for w in words)
    check(f"{name}: {status}", ok, f"{method} {path} -> {got} {data[:400]!r}")
    return data


def pushed(server, query, node):
    status, body = server.json("GET", f"/v1/queries/{query}")
    if status != 200:
        return None
    for n in body["nodes"]:
        if n["id"] == node:
            return {p["symbol"]: p["ticks"] for p in n["pushed"]}
    return None


class RawClient:
    """A subscriber that reads only when told (to fall behind on purpose)."""

    def __init__(self, port, path, accept=None):
        self.sock = socket.create_connection((HOST, port), timeout=30)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        extra = f"Accept: {accept}\r\n" if accept else ""
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{extra}\r\n".encode())

    def read_all(self, seconds=30):
        data = b""
        deadline = time.monotonic() + seconds
        self.sock.settimeout(2)
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
            if data.endswith(b"0\r\n\r\n"):
                break
        self.sock.close()
        return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir")
    parser.add_argument("--build-dir")
    opts = parser.parse_args()
    tickflow = opts.tickflow

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "px.yaml").write_text(QUERY)
        (tmp / "bad.yaml").write_text(QUERY.replace("join_by_time", "join_by_tme"))

        # A query file that does not load stops the start with its location (exit 2).
        code, err = run_to_exit(tickflow, ["--port", "1", str(tmp / "bad.yaml")])
        check("bad query file at start-up: exit 2 with location",
              code == 2 and "bad.yaml:12:9" in err and "join_by_time" in err, err)

        with Recording(tickflow, ["--threads", "2", "--stream-buffer", "65536",
                               str(tmp / "px.yaml")]) as server:
            q = "/v1/queries/px"
            # ---- pushes that are accepted
            status, reply = server.json(
                "POST", f"{q}/push/trades?symbol=AAPL",
                "TIMESTAMP,PRICE,SIZE\n2024-01-02 09:30:00,10,100\n2024-01-02 09:30:20,11,5\n")
            check("csv push accepted", status == 200 and reply.get("ticks") == 2 and
                  reply.get("passed") == "2024-01-02 09:30:20.000000000", reply)
            status, reply = server.request(
                "POST", f"{q}/push/trades?symbol=AAPL",
                '{"TIMESTAMP": "2024-01-02 09:30:40", "PRICE": 12, "SIZE": 7}\n\n'
                '{"TIMESTAMP": 1704187850000000000, "SIZE": 1}\n', NDJSON)
            check("json-lines push accepted (blank line, time as ns, missing field)",
                  status == 200 and json.loads(reply)["ticks"] == 2, reply)
            status, latest = server.request("GET", f"{q}/latest?node=minute&symbol=AAPL")
            check("nothing released before time passes the bucket", status == 200 and
                  latest == b"", latest)
            status, reply = server.json("POST", f"{q}/advance/trades?symbol=AAPL&to=2024-01-02T09:31:00Z")
            check("advance accepted", status == 200, reply)
            status, latest = server.request("GET", f"{q}/latest?node=minute&symbol=AAPL")
            check("advance closes the bucket", status == 200 and latest ==
                  b'{"TIMESTAMP":"2024-01-02 09:31:00.000000000","SYMBOL":"AAPL","N":4,'
                  b'"VOLUME":113}\n', latest)
            status, latest = server.request("GET", f"{q}/latest?node=joined&symbol=AAPL")
            check("the join waits for quotes", status == 200 and latest == b"", latest)
            status, reply = server.json("POST", f"{q}/advance/quotes?to=2024-01-02%2009:30:30",
                                        None)
            status, latest = server.request("GET", f"{q}/latest?node=joined&symbol=AAPL&n=10")
            check("advancing quotes (all symbols) releases the trades before that time",
                  latest.count(b"\n") == 2 and b"09:30:20" in latest, latest)

            # Receipt time for ticks without TIMESTAMP.
            before = time.time_ns()
            status, reply = server.json("POST", f"{q}/push/quotes?symbol=MSFT", "BID\n1.5\n")
            after = time.time_ns()
            passed = reply.get("passed", "")
            check("a tick without TIMESTAMP gets the receipt time", status == 200 and
                  passed[:10] == time.strftime("%Y-%m-%d", time.gmtime(before / 1e9)), reply)

            # ---- listing
            status, listing = server.json("GET", "/v1/queries")
            query = listing["queries"][0] if status == 200 and listing.get("queries") else {}
            nodes = {n["id"]: n for n in query.get("nodes", [])}
            check("listing names queries, nodes, schemas and tick counts",
                  query.get("name") == "px" and query.get("symbols") == ["AAPL", "MSFT"] and
                  nodes.get("trades", {}).get("schema") == [
                      {"name": "TIMESTAMP", "type": "time"}, {"name": "PRICE", "type": "double"},
                      {"name": "SIZE", "type": "int"}] and
                  nodes["trades"]["ticks_out"] == 4 and "held_ticks" in nodes["joined"] and
                  {o["node"] for o in query.get("outputs", [])} == {"joined", "minute"},
                  listing)

            # ---- bad requests: status, message, nothing applied
            before_counts = pushed(server, "px", "trades")
            expect(server, "malformed csv row names the row", "POST",
                   f"{q}/push/trades?symbol=AAPL", 422, ["row 2", "bad int value", "SIZE"],
                   "TIMESTAMP,PRICE,SIZE\n2024-01-02 09:32:00,1,1\n2024-01-02 09:32:01,1,x\n", CSV)
            expect(server, "csv row with too many cells", "POST", f"{q}/push/trades?symbol=AAPL",
                   422, ["row 1", "3 cells"], "PRICE,SIZE\n1,2,3\n", CSV)
            expect(server, "unterminated quote", "POST", f"{q}/push/trades?symbol=AAPL", 422,
                   ["row 1"], 'PRICE,SIZE\n"1,2\n', CSV)
            expect(server, "unknown column", "POST", f"{q}/push/trades?symbol=AAPL", 422,
                   ["unknown column PRCE", "did you mean"], "PRCE,SIZE\n1,2\n", CSV)
            expect(server, "rows out of order in one request", "POST",
                   f"{q}/push/trades?symbol=AAPL", 422, ["row 2", "earlier"],
                   "TIMESTAMP,PRICE,SIZE\n2024-01-02 09:33:00,1,1\n2024-01-02 09:32:59,1,1\n", CSV)
            expect(server, "late tick rejects the whole request", "POST",
                   f"{q}/push/trades?symbol=AAPL", 422, ["row 1", "late tick"],
                   "TIMESTAMP,PRICE,SIZE\n2024-01-02 09:30:59,1,1\n2024-01-02 09:40:00,1,1\n",
                   CSV)
            expect(server, "malformed json line names the row", "POST",
                   f"{q}/push/trades?symbol=AAPL", 422, ["row 2", "not JSON"],
                   '{"TIMESTAMP": "2024-01-02 09:35:00", "PRICE": 1}\n{"PRICE": }\n', NDJSON)
            expect(server, "json value of the wrong type", "POST", f"{q}/push/trades?symbol=AAPL",
                   422, ["row 1", "bad int value", "SIZE"], '{"SIZE": 1.5}\n', NDJSON)
            expect(server, "json line with a repeated key", "POST",
                   f"{q}/push/trades?symbol=AAPL", 422, ["row 1", "SIZE appears twice"],
                   '{"SIZE": 1, "SIZE": 2}\n', NDJSON)
            expect(server, "json line that is not an object", "POST",
                   f"{q}/push/trades?symbol=AAPL", 422, ["row 1", "object"], "[1, 2]\n", NDJSON)
            check("rejected requests applied nothing", pushed(server, "px", "trades") ==
                  before_counts, pushed(server, "px", "trades"))
            expect(server, "unsupported content type", "POST", f"{q}/push/trades?symbol=AAPL", 415,
                   ["text/csv"], "x", {"Content-Type": "application/xml"})
            expect(server, "unknown query", "POST", "/v1/queries/nope/push/trades", 404, ["nope"],
                   "PRICE\n1\n", CSV)
            expect(server, "unknown node", "POST", f"{q}/push/trade?symbol=AAPL", 404,
                   ["no node", "trades"], "PRICE\n1\n", CSV)
            expect(server, "a node that is not a push source", "POST",
                   f"{q}/push/joined?symbol=AAPL", 404, ["no push source"], "PRICE\n1\n", CSV)
            expect(server, "missing symbol", "POST", f"{q}/push/trades", 400, ["symbol="],
                   "PRICE\n1\n", CSV)
            expect(server, "unknown symbol", "POST", f"{q}/push/trades?symbol=IBM", 404,
                   ["IBM", "AAPL"], "PRICE\n1\n", CSV)
            expect(server, "unknown query parameter", "POST", f"{q}/push/trades?sym=AAPL", 400,
                   ["sym"], "PRICE\n1\n", CSV)
            expect(server, "advance with a bad time", "POST",
                   f"{q}/advance/trades?symbol=AAPL&to=noon", 400, ["not a time"])
            expect(server, "advance without to", "POST", f"{q}/advance/trades?symbol=AAPL", 400,
                   ["to"])
            expect(server, "advance back in time", "POST",
                   f"{q}/advance/trades?symbol=AAPL&to=2024-01-02%2009:00:00", 422,
                   ["back", "has passed"])
            expect(server, "advance of an unknown query", "POST",
                   "/v1/queries/nope/advance/trades?to=0", 404, ["nope"])
            expect(server, "latest of an unknown output", "GET", f"{q}/latest?node=trades&symbol=AAPL",
                   404, ["no output node", "joined"])
            expect(server, "latest without node when there are several outputs", "GET",
                   f"{q}/latest?symbol=AAPL", 400, ["node="])
            expect(server, "latest with a bad n", "GET", f"{q}/latest?node=minute&symbol=AAPL&n=x",
                   400, ["n ="])
            expect(server, "latest with too large an n", "GET",
                   f"{q}/latest?node=minute&symbol=AAPL&n=1000000", 422, ["more than"])
            expect(server, "stream of an unknown query", "GET", "/v1/queries/nope/stream", 404,
                   ["nope"])
            expect(server, "stream of an unknown output", "GET", f"{q}/stream?node=nope", 404,
                   ["no output node"])
            expect(server, "another method on a known path", "PUT", f"{q}/push/trades", 405,
                   ["allowed"])

            # ---- registering and stopping queries
            expect(server, "registering an empty body", "POST", "/v1/queries", 400, ["YAML"], "")
            data = expect(server, "registering bad YAML", "POST", "/v1/queries", 422,
                          ["does not load"], "tickflow: 1\nnodes: {a: {ep: push, fields: [}\n")
            check("bad YAML diagnostics have a location",
                  b"posted-query.yaml:2:" in data, data)
            data = expect(server, "registering a query with an unknown EP", "POST", "/v1/queries",
                          422, ["does not load"], PLAIN.replace("add_field", "add_fields"))
            check("unknown EP diagnostic says did you mean", b"add_field" in data, data)
            expect(server, "registering a query without a name", "POST", "/v1/queries", 422,
                   ["name"], PLAIN.replace("name: plain\n", ""))
            expect(server, "registering a bad name", "POST", "/v1/queries?name=a/b", 422,
                   ["name"], PLAIN)
            expect(server, "registering a name that is taken", "POST", "/v1/queries?name=px", 409,
                   ["already"], PLAIN)
            status, reply = server.json("POST", "/v1/queries", PLAIN)
            check("registering a query", status == 201 and reply.get("name") == "plain", reply)
            status, reply = server.json("POST", "/v1/queries/plain/push/ticks",
                                        'X,NAME\n1,"a,b"\n2,\n')
            check("push to a registered query (form content type: CSV by sniffing)",
                  status == 200 and reply.get("ticks") == 2, reply)
            status, latest = server.request("GET", "/v1/queries/plain/latest?n=1")
            check("a one-input query releases each tick at once", status == 200 and
                  latest.endswith(b'"X":2,"NAME":"","Y":4}\n'), latest)
            expect(server, "symbol given to a query without symbols", "POST",
                   "/v1/queries/plain/push/ticks?symbol=A", 400, ["without symbols"], "X\n1\n",
                   CSV)

            expect(server, "a query body over 1 MiB", "POST", "/v1/queries", 413, ["1048576"],
                   "#" * (1 << 20) + "\n" + PLAIN)
            expect(server, "a push body over 32 MiB", "POST", "/v1/queries/plain/push/ticks", 413,
                   ["at most"], "X\n" + "1\n" * (17 << 20), CSV)
            expect(server, "another method on /v1/queries", "PUT", "/v1/queries", 405, ["allowed"])
            expect(server, "another method on a query", "PUT", "/v1/queries/plain", 405,
                   ["allowed"])
            expect(server, "another method on latest", "POST", "/v1/queries/plain/latest", 405,
                   ["allowed"])
            expect(server, "delete with a query parameter", "DELETE", "/v1/queries/plain?now=1",
                   400, ["now"])
            expect(server, "stream with an unknown parameter", "GET",
                   "/v1/queries/plain/stream?from=0", 400, ["from"])

            # A runtime error fails the query (500), which then takes nothing more (409).
            failing = PLAIN.replace("name: plain", "name: boom").replace(
                "fields: {X: int, NAME: string}", "fields: {X: int, Z: int}").replace(
                "X * 2", "X % Z")
            status, reply = server.json("POST", "/v1/queries", failing)
            check("registering the failing query", status == 201, reply)
            server.request("POST", "/v1/queries/boom/push/ticks", "X,Z\n7,2\n", CSV)
            expect(server, "a runtime error fails the query", "POST",
                   "/v1/queries/boom/push/ticks", 500, ["failed", "by zero", "node 'shown'"],
                   "X,Z\n7,0\n", CSV)
            expect(server, "a failed query takes no more ticks", "POST",
                   "/v1/queries/boom/push/ticks", 409, ["failed"], "X,Z\n7,1\n", CSV)
            expect(server, "a failed query takes no advance", "POST",
                   "/v1/queries/boom/advance/ticks?to=0", 409, ["failed"])
            status, reply = server.json("GET", "/v1/queries/boom")
            check("a failed query says so", reply.get("status") == "failed" and
                  "by zero" in reply.get("error", ""), reply)
            status, latest = server.request("GET", "/v1/queries/boom/latest")
            check("the failed query keeps what it released before", latest.endswith(b'"Y":1}\n'),
                  latest)
            server.request("DELETE", "/v1/queries/boom")

            # ---- server-sent events, and the end of a stopped query
            sse = RawClient(server.port, "/v1/queries/plain/stream", "text/event-stream")
            EXERCISED.add(("/v1/queries/{query}/stream", "GET", 200))
            time.sleep(0.2)
            server.request("POST", "/v1/queries/plain/push/ticks", '{"X": 5}\n', NDJSON)
            status, reply = server.json("DELETE", "/v1/queries/plain")
            check("stopping a query", status == 200 and reply.get("status") == "stopped", reply)
            text = sse.read_all().decode("utf-8", "replace")
            check("server-sent events: content type, tick event, end event",
                  "text/event-stream" in text and "event: shown\ndata: {" in text and
                  '"X":5' in text and "event: end" in text, text[-600:])
            expect(server, "a stopped query is gone", "GET", "/v1/queries/plain", 404, ["plain"])
            expect(server, "deleting an unknown query", "DELETE", "/v1/queries/plain", 404,
                   ["plain"])

            # ---- a subscriber that falls behind is disconnected; pushes are not held up
            slow = RawClient(server.port, f"{q}/stream?node=joined&symbol=MSFT")
            time.sleep(0.2)
            start = 1704240000  # 2024-01-03 00:00:00 UTC, after the quotes' advance
            server.request("POST", f"{q}/advance/quotes?symbol=MSFT&to=2024-01-03", None)
            started = time.monotonic()
            for k in range(20):
                rows = "".join(f"{(start + k * 3000 + i) * 10**9},{i},{i}\n" for i in range(3000))
                status, _ = server.request("POST", f"{q}/push/trades?symbol=MSFT",
                                           "TIMESTAMP,PRICE,SIZE\n" + rows, CSV)
                if status != 200:
                    break
            elapsed = time.monotonic() - started
            check("pushes go on while a subscriber does not read", status == 200 and elapsed < 20,
                  f"status {status}, {elapsed:.1f}s")
            text = slow.read_all().decode("utf-8", "replace")
            check("the slow subscriber ends with an error event",
                  "fell behind" in text[-400:], text[-400:])
            code = server.stop()
            check("server stops cleanly", code == 0, server.stderr[-2000:])
    if opts.source_dir:
        check_documented_statuses(pathlib.Path(opts.source_dir))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
