"""What the Python benchmark drivers share (bench/archive.py, bench/peers.py): logging, a
command that must succeed, a timed run, a private copy of the Release binary to measure, and
the tickflow side of the workloads W2-W5."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BUILD = pathlib.Path(os.environ.get("BUILD_DIR", ROOT / "build"))


def log(text):
    print(f"== {text}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{r.stderr[-3000:]}")
    return r


def prepare(data):
    """Checks for a Release build and node with @duckdb/node-api (npm install in bench/ on
    first use), creates `data`, and returns the path of a copy of tickflow in data/bin, so
    that a rebuild during the run cannot change what is measured."""
    cache = BUILD / "CMakeCache.txt"
    if not cache.exists() or "CMAKE_BUILD_TYPE:STRING=Release" not in cache.read_text():
        sys.exit(f"{BUILD} is not a Release build (cmake -B build -DCMAKE_BUILD_TYPE=Release)")
    if shutil.which("node") is None:
        sys.exit("node not found")
    if not (BENCH / "node_modules" / "@duckdb" / "node-api").exists():
        log("npm install in bench/")
        run(["npm", "install", "--silent"], cwd=BENCH)
    data.mkdir(parents=True, exist_ok=True)
    bin_dir = data / "bin"
    shutil.rmtree(bin_dir, ignore_errors=True)
    bin_dir.mkdir()
    shutil.copy2(BUILD / "tickflow", bin_dir)
    for lib in BUILD.glob("libtickflow.so*"):
        shutil.copy2(lib, bin_dir, follow_symlinks=False)
    os.environ["LD_LIBRARY_PATH"] = str(bin_dir)
    return str(bin_dir / "tickflow")


def duckdb_version():
    return run(["node", "-e", "import('@duckdb/node-api').then(m => m.DuckDBInstance.create(':memory:')"
                ".then(i => i.connect()).then(c => c.runAndReadAll('select version()'))"
                ".then(r => console.log(r.getRows()[0][0])))"], cwd=BENCH).stdout.strip()


def cpu_model():
    return open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip()


def timed(cmd, cwd):
    """(wall s, CPU s of user + system, peak RSS MB) of one run of `cmd` in `cwd`; exits when
    it fails, with the end of its standard error."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            sys.exit(f"failed: {' '.join(map(str, cmd))}\n{err.read().decode()[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def workload_nodes(workload, by_symbol_runs):
    """The compute nodes of W2-W5, reading the source nodes `trades` (and `quotes` for W3) and
    ending in `out`. With by_symbol_runs the query runs once per symbol, so the join and the
    bars need no SYMBOL key; otherwise one run sees every symbol and keys by SYMBOL."""
    key = "" if by_symbol_runs else ", on: [SYMBOL]"
    group = "" if by_symbol_runs else "    group_by: [SYMBOL]\n"
    return {
        "W2": "  big: {ep: where, in: trades, if: SIZE > 500}\n"
              "  out: {ep: add_field, in: big, set: {NOTIONAL: PRICE * SIZE}}\n",
        "W3": f"  out: {{ep: join_by_time, in: [trades, quotes]{key}}}\n",
        "W4": "  out:\n    ep: aggregate\n    in: trades\n    bucket: 1m\n" + group
              + "    emit_empty: false\n"
              "    aggs: {OPEN: first(PRICE), HIGH: max(PRICE), LOW: min(PRICE), CLOSE: last(PRICE),"
              " VOLUME: sum(SIZE), VWAP: 'vwap(PRICE, SIZE)', TRADES: count()}\n",
        "W5": "  out: {ep: order_by, in: trades, by: [-PRICE]}\n",
    }[workload]
