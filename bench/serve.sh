#!/usr/bin/env bash
# `tickflow serve` benchmark against the founding Python design (bench/serve_python/app.py,
# FastAPI + uvicorn), interleaved in the same run:
#   - in process (bench/serve_bench.cpp): append of 10k-value batches and stats per k at
#     10^6 and 10^8 held values, JSON parsing of a 10k-value body, memory per value;
#   - over HTTP with wrk on 127.0.0.1, each server fresh and pre-filled with 10 symbols x 20k
#     values: ingest (POST 10k-value batches over 10 symbols, 8 connections) and stats
#     (GET /stats/ over 10 symbols and k = 1..8, 64 connections, p50/p99 latency);
#   - resident memory per symbol after pushing MEMORY_VALUES values to one symbol
#     (PY_MEMORY_VALUES for the Python design, whose ingest is slow).
# Medians of ROUNDS rounds; tickflow and Python alternate within each round.
#
#   bench/serve.sh                       # ROUNDS=3 DURATION=5
#   ROUNDS=5 DURATION=10 bench/serve.sh
#
# Environment: BUILD_DIR (Release build, default build/), SKIP_BUILD=1, ROUNDS, DURATION (s),
# THREADS (server threads, default nproc), WRK_THREADS (default 2), MEMORY_VALUES (default
# 10^7), PY_MEMORY_VALUES (default 10^6), IN_PROCESS_HELD (default "1000000 100000000").
# Needs: wrk, python3-fastapi, python3-uvicorn (scripts/setup.sh --bench).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
DATA="$BENCH/data"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
PYTHON=/usr/bin/python3
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
THREADS=${THREADS:-$(nproc)}
WRK_THREADS=${WRK_THREADS:-2}
MEMORY_VALUES=${MEMORY_VALUES:-10000000}
PY_MEMORY_VALUES=${PY_MEMORY_VALUES:-1000000}
IN_PROCESS_HELD=${IN_PROCESS_HELD:-"1000000 100000000"}

# shellcheck source=bench/common.sh
source "$BENCH/common.sh"
bench_prepare serve
command -v wrk >/dev/null || die "wrk not found (scripts/setup.sh --bench)"
"$PYTHON" -c 'import fastapi, uvicorn' 2>/dev/null || die "python3-fastapi/uvicorn missing"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake --build "$BUILD_DIR" --target serve_bench >"$DATA/build.log" 2>&1 || die "build failed"
fi
load_before=$(cut -d" " -f1-3 /proc/loadavg)
OUT="$DATA/serve"
rm -rf "$OUT" && mkdir -p "$OUT"

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT

start_server() { # start_server IMPL PORT
  if [[ "$1" == tickflow ]]; then
    "$TICKFLOW" serve --host 127.0.0.1 --port "$2" --threads "$THREADS" --max-symbols 100 \
      2>"$OUT/server.log" &
  else
    SERVE_MAX_SYMBOLS=100 "$PYTHON" -m uvicorn app:app --app-dir "$BENCH/serve_python" \
      --host 127.0.0.1 --port "$2" --log-level warning --no-access-log 2>"$OUT/server.log" &
  fi
  SERVER_PID=$!
  for _ in $(seq 200); do
    curl -s -o /dev/null "http://127.0.0.1:$2/stats/?symbol=S0&k=1" && return 0
    sleep 0.05
  done
  die "$1 did not start: $(cat "$OUT/server.log")"
}

log "in process: bench/serve_bench $IN_PROCESS_HELD"
# shellcheck disable=SC2086
/usr/bin/time -v "$BUILD_DIR/bench/serve_bench" $IN_PROCESS_HELD >"$OUT/in_process.md" 2>"$OUT/in_process.time"

for round in $(seq "$ROUNDS"); do
  for impl in tickflow python; do
    port=$(free_port)
    log "round $round: $impl on port $port"
    start_server "$impl" "$port"
    "$PYTHON" "$BENCH/serve_fill.py" "$port" "$SERVER_PID" 10 20000 >/dev/null
    wrk -t"$WRK_THREADS" -c8 -d"${DURATION}s" --timeout 10s -s "$BENCH/serve_ingest.lua" \
      "http://127.0.0.1:$port" >"$OUT/$impl.ingest.$round"
    wrk -t"$WRK_THREADS" -c64 -d"${DURATION}s" --timeout 10s --latency -s "$BENCH/serve_stats.lua" \
      "http://127.0.0.1:$port" >"$OUT/$impl.stats.$round"
    stop_server
  done
done

memory_per_symbol() { # IMPL VALUES -> KiB of RSS added by one symbol holding VALUES values
  local port base full
  port=$(free_port)
  start_server "$1" "$port"
  base=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
  full=$("$PYTHON" "$BENCH/serve_fill.py" "$port" "$SERVER_PID" 1 "$2")
  stop_server
  echo $((full - base))
}
log "memory: one symbol, $MEMORY_VALUES values (tickflow), $PY_MEMORY_VALUES (Python)"
tf_mem=$(memory_per_symbol tickflow "$MEMORY_VALUES")
py_mem=$(memory_per_symbol python "$PY_MEMORY_VALUES")

"$PYTHON" - "$OUT" "$ROUNDS" "$tf_mem" "$MEMORY_VALUES" "$py_mem" "$PY_MEMORY_VALUES" <<'PY'
import re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
tf_mem, tf_values, py_mem, py_values = (int(a) for a in sys.argv[3:7])

def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not m:
            return None
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    return rps, int(bad.group(1)) if bad else 0, errors.group(0) if errors else "", pct(50), pct(99)

rows = {}
for impl in ("tickflow", "python"):
    for kind in ("ingest", "stats"):
        runs = [parse(f"{out}/{impl}.{kind}.{r}") for r in range(1, rounds + 1)]
        rows[impl, kind] = runs
        for r in runs:
            if r[1] or r[2]:
                print(f"warning: {impl} {kind}: {r[1]} non-2xx, {r[2]}", file=sys.stderr)

med = lambda xs: statistics.median(xs)
ti = med([r[0] for r in rows["tickflow", "ingest"]]) * 10000
pi = med([r[0] for r in rows["python", "ingest"]]) * 10000
ts = med([r[0] for r in rows["tickflow", "stats"]])
ps = med([r[0] for r in rows["python", "stats"]])
tp50, tp99 = med([r[3] for r in rows["tickflow", "stats"]]), med([r[4] for r in rows["tickflow", "stats"]])
pp50, pp99 = med([r[3] for r in rows["python", "stats"]]), med([r[4] for r in rows["python", "stats"]])
print("| over HTTP (wrk, 127.0.0.1) | tickflow serve | Python design | ratio |")
print("|---|---:|---:|---:|")
print(f"| ingest, values/s (10k batches, 10 symbols, 8 connections) | {ti/1e6:.2f}M | {pi/1e6:.3f}M | {ti/pi:.0f}x |")
print(f"| stats, requests/s (64 connections) | {ts:,.0f} | {ps:,.0f} | {ts/ps:.0f}x |")
print(f"| stats latency p50 / p99 (ms) | {tp50:.2f} / {tp99:.2f} | {pp50:.1f} / {pp99:.1f} | |")
print(f"| resident memory per held value (bytes) | {tf_mem*1024/tf_values:.1f} (at {tf_values:,}) | {py_mem*1024/py_values:.1f} (at {py_values:,}) | {py_mem*tf_values/(tf_mem*py_values):.1f}x |")
print()
print("runs (ingest values/s, stats req/s):")
for impl in ("tickflow", "python"):
    print(f"  {impl}: ingest " + ", ".join(f"{r[0]*10000/1e6:.3f}M" for r in rows[impl, "ingest"]) +
          "; stats " + ", ".join(f"{r[0]:,.0f}" for r in rows[impl, "stats"]))
PY
echo
echo "in process (bench/serve_bench $IN_PROCESS_HELD):"
cat "$OUT/in_process.md"
grep -E "Maximum resident" "$OUT/in_process.time"
echo "cores: $(nproc); load average before: $load_before; server threads: $THREADS; wrk threads: $WRK_THREADS"
