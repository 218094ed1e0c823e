#!/usr/bin/env python3
"""`tickflow serve` over HTTP on 127.0.0.1 (SPEC §12, §18): every endpoint and status,
exactness against rational arithmetic, limits, keep-alive, metrics, docs, port taken,
graceful stop, and a check that every status documented in /openapi.json was produced."""
import argparse
import json
import pathlib
import random
import resource
import signal
import sys
from fractions import Fraction

from script_checks import check, summary
from serve_support import Server, run_to_exit

EXERCISED = set()  # (path, method, status) seen


def call(server, method, path, body=None):
    status, data = server.json(method, path, body)
    record(path, method, status)
    return status, data


def record(path, method, status):
    # A 405 is documented on the path's own operations ("this path, another method").
    EXERCISED.add((path.split("?")[0], "*" if status == 405 else method, status))


def exact_stats(values):
    n = len(values)
    xs = [Fraction(v) for v in values]
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1) if n > 1 else None
    mean_abs = sum(abs(x) for x in xs) / n
    return mean, var, mean_abs


def check_exact(name, server, symbol, history, k):
    window = history[-10 ** k:]
    status, got = call(server, "GET", f"/stats/?symbol={symbol}&k={k}")
    if status != 200:
        check(name, False, f"{status} {got}")
        return
    mean, var, mean_abs = exact_stats(window)
    ok = (got["count"] == len(window) and got["min"] == min(window) and
          got["max"] == max(window) and got["last"] == window[-1] and
          abs(Fraction(got["avg"]) - mean) <= Fraction(1, 10 ** 9) * mean_abs)
    if var is None:
        ok = ok and got["var"] is None
    else:
        ok = ok and abs(Fraction(got["var"]) - var) <= Fraction(1, 10 ** 9) * var
    check(name, ok, f"got {got}, exact mean {float(mean)!r} var {float(var) if var else None!r}")


def push(server, symbol, values, history=None):
    status, body = call(server, "POST", "/add_batch/", {"symbol": symbol, "values": values})
    if status == 200 and history is not None:
        history.extend(values)
    return status, body


def test_exactness(server):
    rnd = random.Random(5)
    # A spike of 1e12 that then leaves the windows of k = 1..3.
    history = []
    push(server, "SPIKE", [1.0, 2.0, 1e12, 3.0], history)
    for k in (1, 2, 3):
        check_exact(f"spike inside window k={k}", server, "SPIKE", history, k)
    for _ in range(11):
        push(server, "SPIKE", [1 + rnd.random() * 1e-3 for _ in range(100)], history)
    for k in (1, 2, 3, 4):
        check_exact(f"spike left window k={k}", server, "SPIKE", history, k)
    # Values near 1e9 with a variance of ~1e-7.
    near = []
    for size in (10, 90, 900, 1, 9, 1000, 3333):
        push(server, "NEAR", [1e9 + rnd.uniform(-5e-4, 5e-4) for _ in range(size)], near)
        for k in (1, 2, 3, 4):
            check_exact(f"near 1e9 after {len(near)} values k={k}", server, "NEAR", near, k)
    # Block boundaries: totals of exactly 10, 100, 1000 and one beyond.
    edges = []
    for size in (10, 90, 900, 1, 8999, 1):
        push(server, "EDGE", [float(rnd.randint(-1000, 1000)) / 8 for _ in range(size)], edges)
        for k in (1, 2, 3, 4, 5):
            check_exact(f"boundary at {len(edges)} k={k}", server, "EDGE", edges, k)
    # One value: var is null.
    push(server, "ONE", [42.5])
    status, got = call(server, "GET", "/stats/?symbol=ONE&k=1")
    check("single value: var null", status == 200 and got["var"] is None and got["avg"] == 42.5 and
          got["count"] == 1, got)


def test_limits(server):
    # 400: not JSON or not the shape; nothing applied.
    push(server, "LIM", [1.0, 2.0])
    for body in ("nope", "[1]", '{"symbol": "LIM"}', '{"values": [1]}',
                 '{"symbol": "LIM", "values": [1], "extra": 1}', '{"symbol": 5, "values": [1]}',
                 '{"symbol": "LIM", "values": [1, "2"]}', '{"symbol": "LIM", "values": [1, 2]',
                 '{"symbol": "LIM", "values": [NaN]}', '{"symbol": "LIM", "values": [1]} x'):
        status, got = call(server, "POST", "/add_batch/", body)
        check(f"400 for {body!r}", status == 400 and "error" in got, f"{status} {got}")
    # 422: limits.
    for values, why in (([], "empty"), ([1.0] * 10001, "10001 values")):
        status, got = push(server, "LIM", values)
        check(f"422 for {why}", status == 422 and "error" in got, f"{status} {got}")
    status, got = call(server, "POST", "/add_batch/", '{"symbol": "LIM", "values": [1, 1e400]}')
    check("422 for 1e400", status == 422 and "values[1]" in got.get("error", ""), f"{status} {got}")
    for symbol, why in (("", "empty symbol"), ("x" * 65, "65-byte symbol"),
                        ("\u00e9" * 33, "66 UTF-8 bytes")):
        status, got = push(server, symbol, [1.0])
        check(f"422 for {why}", status == 422, f"{status} {got}")
    status, got = push(server, "\u00e9" * 32, [1.0])
    check("64 UTF-8 bytes accepted", status == 200, f"{status} {got}")
    status, got = call(server, "GET", "/stats/?symbol=LIM&k=1")
    check("rejected batches changed nothing", status == 200 and got["count"] == 2, got)
    # 413 over 4 MiB; exactly 4 MiB is accepted.
    prefix, suffix = '{"symbol": "BIG", "values": [1, 2, 3]', "}"
    exact = prefix + " " * (4 * 1024 * 1024 - len(prefix) - len(suffix)) + suffix
    status, got = call(server, "POST", "/add_batch/", exact)
    check("body of exactly 4 MiB accepted", status == 200 and got.get("added") == 3, f"{status} {got}")
    status, got = call(server, "POST", "/add_batch/", exact[:-1] + "  }")
    check("body of 4 MiB + 1 is 413", status == 413 and "error" in got, f"{status} {got}")
    # Stats: 400 for a missing or bad parameter, 422 out of range, 404 never pushed.
    for query, want in (("symbol=LIM", 400), ("k=1", 400), ("symbol=LIM&k=x", 400),
                        ("symbol=LIM&k=1&x=2", 400), ("symbol=LIM&k=0", 422),
                        ("symbol=LIM&k=9", 422), ("symbol=&k=1", 422), ("symbol=NEVER&k=1", 404),
                        ("symbol=L%49M&k=2", 200)):
        status, got = call(server, "GET", "/stats/?" + query)
        check(f"stats {query} -> {want}", status == want and (want == 200 or "error" in got),
              f"{status} {got}")
    # 404 unknown path, 405 other methods on known paths; both JSON.
    status, got = call(server, "GET", "/nowhere")
    check("404 unknown path", status == 404 and "error" in got, f"{status} {got}")
    for method, path in (("GET", "/add_batch/"), ("DELETE", "/stats/"), ("POST", "/health"),
                         ("POST", "/metrics"), ("PUT", "/openapi.json"), ("POST", "/docs"),
                         ("POST", "/redoc")):
        status, got = call(server, method, path, "" if method != "GET" else None)
        check(f"405 {method} {path}", status == 405 and "error" in got and
              "Allow" in server.last_headers, f"{status} {got}")


def test_slow_clients(server):
    """A client that sends half a request, and one that never reads its responses, hold
    nothing: other clients push to and read the same symbol meanwhile."""
    import socket
    push(server, "SLOW", [1.0])
    half = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    half.sendall(b"POST /add_batch/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{\"symbol\": \"SLOW\", \"values\": [2")
    deaf = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request = b"GET /stats/?symbol=SLOW&k=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    deaf.sendall(request * 2000)  # about 100 KB of answers it never reads
    ok = True
    for i in range(20):
        ok = ok and push(server, "SLOW", [float(i)])[0] == 200
        status, got = call(server, "GET", "/stats/?symbol=SLOW&k=2")
        ok = ok and status == 200 and got["count"] == i + 2
    check("slow and deaf clients hold no lock", ok)
    half.close()
    deaf.close()


def test_concurrent_clients(tickflow):
    """Writers and readers on their own connections, several symbols at once: every read is
    the statistics of a prefix of that symbol's pushes that ends on a batch boundary, and no
    request fails."""
    import math
    import threading
    symbols, batches, readers_per_symbol = 3, 25, 2

    def batch(s, b):
        return [s * 100.0 + b + (i % 13) * 0.5 for i in range(1 + (b * 37 + s * 11) % 150)]

    prefixes = {}  # (symbol, count) -> the values pushed up to that batch boundary
    for s in range(symbols):
        history = []
        for b in range(batches):
            history += batch(s, b)
            prefixes[(s, len(history))] = list(history)
    problems = []
    done = threading.Event()
    with Server(tickflow, ["--threads", "2", "--max-k", "3"]) as base:
        def writer(s):
            client = Server.__new__(Server)
            client.port, client.connection = base.port, None
            for b in range(batches):
                status, got = client.json("POST", "/add_batch/", {"symbol": f"C{s}", "values": batch(s, b)})
                if status != 200:
                    problems.append(f"push {s}/{b}: {status} {got}")

        def reader(s, r):
            client = Server.__new__(Server)
            client.port, client.connection = base.port, None
            k = 1 + r
            while True:
                last_round = done.is_set()
                status, got = client.json("GET", f"/stats/?symbol=C{s}&k={k}")
                if status == 200:
                    window = None
                    for (symbol, _), history in prefixes.items():
                        if symbol == s and history[-1] == got["last"] and len(history[-10 ** k:]) == got["count"]:
                            candidate = history[-10 ** k:]
                            mean = math.fsum(candidate) / len(candidate)
                            if (min(candidate) == got["min"] and max(candidate) == got["max"] and
                                    abs(got["avg"] - mean) <= 1e-9 * abs(mean)):
                                window = candidate
                                break
                    if window is None:
                        problems.append(f"read {s} k={k}: {got} is no batch-boundary prefix")
                elif status != 404:
                    problems.append(f"read {s}: {status} {got}")
                k = k % 3 + 1
                if last_round:
                    return

        writers = [threading.Thread(target=writer, args=(s,)) for s in range(symbols)]
        readers = [threading.Thread(target=reader, args=(s, r)) for s in range(symbols)
                   for r in range(readers_per_symbol)]
        for t in writers + readers:
            t.start()
        for t in writers:
            t.join(timeout=120)
        done.set()
        for t in readers:
            t.join(timeout=120)
        check("concurrent clients: every read a batch-boundary prefix, no errors", not problems,
              "\n".join(problems[:10]))
        base.stop()


def test_max_symbols(tickflow):
    with Server(tickflow, ["--max-symbols", "2", "--max-k", "3", "--threads", "2"]) as server:
        check("first symbol", push(server, "A", [1.0])[0] == 200)
        check("second symbol", push(server, "B", [1.0])[0] == 200)
        status, got = push(server, "C", [1.0])
        check("third symbol is 422", status == 422 and "max-symbols" in got.get("error", ""),
              f"{status} {got}")
        check("known symbols still accept", push(server, "A", [2.0])[0] == 200)
        status, got = call(server, "GET", "/stats/?symbol=A&k=4")
        check("k beyond --max-k is 422", status == 422, f"{status} {got}")
        # Only the last 10^max_k values are kept.
        push(server, "B", [float(i) for i in range(2500)])
        status, got = call(server, "GET", "/stats/?symbol=B&k=3")
        check("count is capped at 10^max_k", got.get("count") == 1000 and got["min"] == 1500.0, got)
        status, got = push(server, "B", [5.0])
        check("add_batch count is min(pushed, 10^max_k)", got.get("count") == 1000, got)
        check("stops with 0", server.stop() == 0, server.stderr)


def test_operations(server, tickflow, source_dir):
    status, got = call(server, "GET", "/health")
    check("health", status == 200 and got == {"status": "ok"}, got)
    status, data = server.request("GET", "/metrics")
    record("/metrics", "GET", status)
    text = data.decode()
    check("metrics: requests by route and status",
          'tickflow_http_requests_total{route="/add_batch/",status="200"}' in text and
          'status="422"' in text, text[:400])
    check("metrics: histogram, values, symbols",
          "tickflow_http_request_duration_seconds_bucket" in text and
          "tickflow_values_ingested_total" in text and "tickflow_symbols " in text, text[-600:])
    status, data = server.request("GET", "/openapi.json")
    record("/openapi.json", "GET", status)
    served = json.loads(data)
    on_disk = json.loads((source_dir / "server/openapi.json").read_text())
    check("openapi.json served as written", status == 200 and served == on_disk and
          served["openapi"].startswith("3.0"))
    for path, marker in (("/docs", b"swagger-ui-bundle.js"), ("/redoc", b"redoc.standalone.js")):
        status, data = server.request("GET", path)
        record(path, "GET", status)
        check(f"{path} page", status == 200 and marker in data, data[:200])
    for path in ("/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/redoc/redoc.standalone.js"):
        status, data = server.request("GET", path)
        check(f"{path} served", status == 200 and len(data) > 100000, f"{status} {len(data)}")
    # One keep-alive connection serves many requests.
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    ok = True
    for i in range(200):
        connection.request("GET", "/stats/?symbol=LIM&k=1")
        response = connection.getresponse()
        response.read()
        ok = ok and response.status == 200 and not response.will_close
    sock_alive = connection.sock is not None
    connection.close()
    check("keep-alive: 200 requests on one connection", ok and sock_alive)
    # Port taken.
    code, err = run_to_exit(tickflow, ["--port", str(server.port)])
    check("port taken: exit 1 with a clear error", code == 1 and "cannot listen" in err and
          str(server.port) in err, f"{code} {err}")
    # An address that cannot be listened on (never a real remote address).
    import subprocess
    r = subprocess.run([tickflow, "serve", "--host", "999.1.1.1", "--port", "1"],
                       capture_output=True, timeout=20)
    check("bad --host: exit 1 naming the address", r.returncode == 1 and
          b"999.1.1.1" in r.stderr, r.stderr)
    for flags in (["--port", "0"], ["--port", "70000"], ["--max-k", "10"], ["--max-symbols", "0"],
                  ["--threads", "0"], ["--fsync", "sometimes", "--journal", "x"]):
        r = subprocess.run([tickflow, "serve", *flags], capture_output=True, timeout=20)
        check(f"usage error for {flags}", r.returncode == 2 and b"error" in r.stderr, r.stderr)
    # Standing queries are not served yet: a clear usage error.
    code, err = run_to_exit(tickflow, ["--port", "1", "query.yaml"])
    check("query files: usage error", code == 2 and "query.yaml" in err, f"{code} {err}")


def test_journal_failure(tickflow, tmp):
    """A journal that cannot be written answers 503 and applies nothing (file size limit)."""
    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    with Server(tickflow, ["--journal", str(tmp / "full"), "--fsync", "always"],
                preexec_fn=limit_file_size) as server:
        check("journal: small batch stored", push(server, "J", [1.0, 2.0])[0] == 200)
        status, got = push(server, "J", [3.0] * 1000)
        check("journal full: 503", status == 503 and "nothing applied" in got.get("error", ""),
              f"{status} {got}")
        status, got = call(server, "GET", "/stats/?symbol=J&k=4")
        check("journal full: nothing applied", got.get("count") == 2, got)
        check("journal full: stop 0", server.stop() == 0, server.stderr)
    with Server(tickflow, ["--journal", str(tmp / "full")]) as server:
        status, got = call(server, "GET", "/stats/?symbol=J&k=4")
        check("journal full: replay holds only the stored batch", got.get("count") == 2, got)
        server.stop()


def check_documented_statuses(source_dir):
    spec = json.loads((source_dir / "server/openapi.json").read_text())
    missing = []
    for path, methods in spec["paths"].items():
        if path.startswith("/v1/queries"):
            continue  # standing queries: checked by test_realtime_http.py
        for method, operation in methods.items():
            for status in operation["responses"]:
                if (path, "*" if status == "405" else method.upper(), int(status)) not in EXERCISED:
                    missing.append(f"{method.upper()} {path} {status}")
    check("every documented status was exercised", not missing, "\n".join(missing))
    documented = {(p, "*" if s == "405" else m.upper(), int(s)) for p, ms in spec["paths"].items()
                  for m, op in ms.items() for s in op["responses"]}
    undocumented = sorted(f"{m} {p} {s}" for p, m, s in EXERCISED
                          if (p, m, s) not in documented and p in spec["paths"])
    check("every status produced is documented", not undocumented, "\n".join(undocumented))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    opts = parser.parse_args()
    source_dir = pathlib.Path(opts.source_dir)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        with Server(opts.tickflow, ["--threads", "2"]) as server:
            test_exactness(server)
            test_limits(server)
            test_slow_clients(server)
            test_operations(server, opts.tickflow, source_dir)
            code = server.stop(signal.SIGINT)
            check("SIGINT: graceful exit 0", code == 0 and "stopped" in server.stderr,
                  server.stderr[-2000:])
            check("access errors logged on stderr", "-> 422" in server.stderr and
                  "-> 400" in server.stderr, server.stderr[-2000:])
        test_concurrent_clients(opts.tickflow)
        test_max_symbols(opts.tickflow)
        test_journal_failure(opts.tickflow, tmp)
    check_documented_statuses(source_dir)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
