"""What the Python benchmark drivers share (bench/archive.py, bench/peers.py): logging, a
command that must succeed, and a private copy of the Release binary to measure."""
import os
import pathlib
import shutil
import subprocess
import sys

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
