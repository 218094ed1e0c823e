#!/usr/bin/env python3
"""The EP reference cannot drift: every built-in EP carries a runnable example
(`tickflow eps NAME` shows it, docs/eps.md includes it), and this test runs each one in a
directory of its own and compares what it prints with the output the example states.

- An EP without an example fails the test (plugins may have none).
- Each example runs under several --threads and --batch-size (the output is the same).
- A push example runs under `tickflow serve graph.yaml` on loopback: its body is pushed,
  the query stopped, and the stream's JSON lines compared.
- `tickflow eps NAME` (text) shows the example's query and output."""
import argparse
import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

from script_checks import check, summary
from serve_support import HOST, Server

RUNS = [("1", "1"), ("2", "3"), ("2", "4096")]  # (--threads, --batch-size)


def tf(tickflow, args, cwd, timeout=60):
    r = subprocess.run([tickflow, *args], cwd=cwd, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def write_example(example, directory):
    directory.mkdir()
    (directory / "graph.yaml").write_text(example["query"])
    for f in example["files"]:
        (directory / f["name"]).write_text(f["contents"])


def read_chunked_stream(sock, data=b"", seconds=30):
    """The body of a chunked JSON-lines stream until its last chunk (bounded in time);
    `data` is what was already read of the response."""
    deadline = time.monotonic() + seconds
    sock.settimeout(2)
    while time.monotonic() < deadline and not data.endswith(b"0\r\n\r\n"):
        try:
            chunk = sock.recv(1 << 16)
        except socket.timeout:
            continue
        if not chunk:
            break
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    # Keep-alive empty lines are not part of the output.
    return "".join(line + "\n" for line in out.decode().splitlines() if line.strip())


def run_push_example(tickflow, name, example, directory, threads):
    """Serves graph.yaml, subscribes to its stream, pushes the body, stops the query."""
    with Server(tickflow, ["--threads", threads, str(directory / "graph.yaml")]) as server:
        sock = socket.create_connection((HOST, server.port), timeout=30)
        sock.sendall(f"GET /v1/queries/graph/stream HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        # The subscription exists once the response's headers have come.
        head = b""
        deadline = time.monotonic() + 20
        while b"\r\n\r\n" not in head and time.monotonic() < deadline:
            part = sock.recv(4096)
            if not part:
                break
            head += part
        status, body = server.request(
            "POST", f"/v1/queries/graph/push/{example['push_node']}", example["push_body"],
            {"Content-Type": "text/csv"})
        check(f"{name}: push accepted", status == 200, body)
        status, body = server.request("DELETE", "/v1/queries/graph")
        check(f"{name}: query stopped", status == 200, body)

        return read_chunked_stream(sock, head)


def run_example(tickflow, name, example, root):
    for threads, batch in RUNS:
        directory = root / f"{name}_{threads}_{batch}"
        write_example(example, directory)
        where = f"{name} (--threads {threads} --batch-size {batch})"
        if example["setup"]:
            code, _, err = tf(tickflow, example["setup"].split(), directory)
            if not check(f"{where}: setup `tickflow {example['setup']}`", code == 0, err):
                continue
        if example["push_node"]:
            # A standing query's batches are what each push brings (serve has no
            # --batch-size); the thread counts still vary.
            out = run_push_example(tickflow, where, example, directory, threads)
        else:
            code, out, err = tf(tickflow, ["run", "graph.yaml", "--threads", threads,
                                           "--batch-size", batch], directory)
            if not check(f"{where}: runs", code == 0, err):
                continue
            if example["output_file"]:
                written = directory / example["output_file"]
                if not check(f"{where}: writes {example['output_file']}", written.exists(),
                             out):
                    continue
                out = written.read_text()
        check(f"{where}: prints the example's output", out == example["output"],
              f"--- expected\n{example['output']}--- got\n{out}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir")
    parser.add_argument("--build-dir")
    opts = parser.parse_args()
    tickflow = str(pathlib.Path(opts.tickflow).resolve())

    code, out, err = tf(tickflow, ["eps", "--format", "json"], ".")
    check("eps --format json", code == 0, err)
    definitions = json.loads(out)
    builtins = [d for d in definitions if d["origin"] == "builtin"]
    check("the registry has built-in EPs", len(builtins) >= 30, str(len(builtins)))

    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for d in builtins:
            example = d["example"]
            if not check(f"{d['name']} has an example", example is not None,
                         "add EpDefinition::example where the EP is registered"):
                continue
            check(f"{d['name']}: the example uses the EP",
                  f"ep: {d['name']}" in example["query"], example["query"])
            check(f"{d['name']}: the example states its output", example["output"] != "")
            run_example(tickflow, d["name"], example, root)

    # The text reference shows the example a user would copy.
    code, out, err = tf(tickflow, ["eps", "aggregate"], ".")
    aggregate = next(d for d in builtins if d["name"] == "aggregate")["example"]
    check("eps aggregate shows the example's query and output",
          code == 0 and "example:" in out and "$ tickflow run graph.yaml" in out and
          all(line in out for line in aggregate["output"].splitlines()) and
          "ep: aggregate" in out, out)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
