"""Pushes VALUES values to each of SYMBOLS symbols (S0, S1, ...) of a statistics server in
10,000-value batches over one keep-alive connection, then prints the server's resident
memory in KiB (from /proc/PID/status).

    serve_fill.py PORT PID SYMBOLS VALUES
"""
import http.client
import json
import random
import sys

port, pid, symbols, values = (int(a) for a in sys.argv[1:5])
rnd = random.Random(7)
batch = [round(100 + rnd.random() * 10, 6) for _ in range(10000)]
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
for s in range(symbols):
    body = json.dumps({"symbol": f"S{s}", "values": batch})
    for _ in range(max(1, values // len(batch))):
        connection.request("POST", "/add_batch/", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"fill: status {response.status}")
for line in open(f"/proc/{pid}/status"):
    if line.startswith("VmRSS:"):
        print(line.split()[1])
