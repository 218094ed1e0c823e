"""tickflow.distributed.run on a real local Dask cluster this module starts itself: a
dask-scheduler and two dask-worker processes (one thread each) on 127.0.0.1, free ports,
dashboards off; stopped at the end, also on failure. Results equal the unsharded q.run for
every order, shard count and output count; a query error comes back once, naming shard and
symbol; a worker killed mid-run has its task run again and the result does not change, also
when the tasks write their parts to files (no temporary file is left)."""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

import tickflow as tf
from conftest import trades_query

distributed = pytest.importorskip("distributed")

SYMBOLS = ["S%02d" % i for i in range(11)]
# The CLI, to compare with (ctest sets it; by hand: TICKFLOW_BINARY=build/tickflow).
TICKFLOW = os.environ.get("TICKFLOW_BINARY", "tickflow")
DEADLINE_SECONDS = 40
# Dask 2022.12 serves its HTTP endpoints (health, metrics) even with --no-dashboard, on
# 0.0.0.0:8787 by default: keep them on loopback, on a free port.
LOOPBACK_HTTP = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args):
    # Own process group, so that stopping it also stops anything it started.
    # (Their logs go nowhere: a pipe nobody reads would block them once full.)
    return subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def stop(process):
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


class Cluster:
    """Scheduler and workers on loopback; ``workers`` maps each address to its process."""

    def __init__(self):
        self.processes = []
        self.workers = {}
        self.client = None
        port = free_port()
        self.address = "tcp://127.0.0.1:%d" % port
        try:
            self.processes.append(start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                         "--port", str(port), *LOOPBACK_HTTP,
                                         # Ends by itself should this process be killed
                                         # before it can stop it (the workers follow
                                         # after their death timeout).
                                         "--idle-timeout", "120s"]))
            for _ in range(2):
                self.add_worker()
            self.client = distributed.Client(self.address, timeout=30)
            self.client.wait_for_workers(2, timeout=DEADLINE_SECONDS)
        except BaseException:
            # The fixture never gets a cluster to close: stop what was started here.
            self.close()
            raise

    def add_worker(self):
        port = free_port()
        worker = start(["distributed.cli.dask_worker", self.address, "--host", "127.0.0.1",
                        "--worker-port", str(port), "--nthreads", "1", "--nworkers", "1",
                        "--no-nanny", *LOOPBACK_HTTP, "--death-timeout", "30"])
        self.processes.append(worker)
        self.workers["tcp://127.0.0.1:%d" % port] = worker

    def workers_alive(self):
        return [w for w, p in self.workers.items() if p.poll() is None]

    def close(self):
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close(timeout=10)
        for process in reversed(self.processes):
            stop(process)


@pytest.fixture(scope="module")
def cluster():
    c = None
    try:
        c = Cluster()
        yield c
    finally:
        if c is not None:
            c.close()


def bars_query(count=300):
    return tf.Query.from_dict(trades_query(count=count, symbols=SYMBOLS, extra_nodes={
        "bars": {"ep": "aggregate", "in": "trades", "bucket": "1m",
                 "aggs": {"N": "count()", "VWAP": "vwap(PRICE, SIZE)", "LAST": "last(PRICE)"}},
        "big": {"ep": "where", "in": "trades", "if": "SIZE >= 500"}}, output=["bars", "big"]))


def assert_same(got, expected):
    if isinstance(expected, dict):
        assert list(got) == list(expected)
        for name in expected:
            pd.testing.assert_frame_equal(got[name], expected[name], check_exact=True)
    else:
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("merge_symbols", [False, True])
@pytest.mark.parametrize("partitions", [1, 3, 11, 20])
def test_equal_to_the_unsharded_run(cluster, partitions, merge_symbols):
    q = bars_query()
    expected = q.run(merge_symbols=merge_symbols, threads=2)
    got = tf.distributed.run(q, client=cluster.client, partitions=partitions,
                             merge_symbols=merge_symbols)
    assert_same(got, expected)


def test_default_partitions_symbols_and_range(cluster):
    q = bars_query()
    kwargs = dict(symbols=SYMBOLS[::-1][:7], start="2024-01-02 09:35", end="2024-01-02 09:50")
    assert_same(tf.distributed.run(q, client=cluster.client, **kwargs), q.run(**kwargs))


@pytest.mark.parametrize("merge_symbols", [False, True])
def test_by_day(cluster, merge_symbols):
    # ~5 days of trades, no cross-day state: per-day shards equal the whole run.
    spec = trades_query(count=400, symbols=SYMBOLS[:3], extra_nodes={
        "big": {"ep": "where", "in": "trades", "if": "SIZE >= 300"}})
    spec["nodes"]["trades"].update(interval="20m", start="2024-01-02")
    spec["range"] = {"start": "2024-01-02 06:00", "end": "2024-01-07"}
    q = tf.Query.from_dict(spec)
    expected = q.run(merge_symbols=merge_symbols)
    for partitions in [2, 5, 8]:
        got = tf.distributed.run(q, client=cluster.client, partitions=partitions, by="day",
                                 merge_symbols=merge_symbols)
        assert_same(got, expected)


def test_query_file_and_workers_load_it_again(cluster, source_dir):
    path = source_dir / "graphs" / "ohlcv_bars.yaml"
    assert_same(tf.distributed.run(str(path), client=cluster.client, partitions=2),
                tf.Query.load(path).run())


def test_query_error_raised_once_with_shard_and_symbol(cluster, tmp_path):
    for s in SYMBOLS:
        if s not in ("S04", "S07"):
            (tmp_path / (s + ".csv")).write_text("TIMESTAMP,PRICE\n2024-01-02 09:30:00,1.5\n")
    q = tf.Query.from_dict({"tickflow": 1, "symbols": SYMBOLS,
                            "nodes": {"t": {"ep": "csv", "path": "{symbol}.csv"}}},
                           base_dir=tmp_path)
    with pytest.raises(tf.RunError) as raised:
        tf.distributed.run(q, client=cluster.client, partitions=3)
    # S04 (shard 1) and S07 (shard 1) fail; the first in list order is reported, as the
    # unsharded run does.
    assert raised.value.symbol == "S04"
    assert "shard 1 of 3" in str(raised.value) and "S04" in str(raised.value)
    with pytest.raises(tf.RunError) as unsharded:
        q.run()
    assert unsharded.value.symbol == "S04"


@pytest.mark.parametrize("merge_symbols", [False, True])
def test_parts_written_by_the_workers(cluster, tmp_path, merge_symbols):
    """output=: each task writes its part and manifest; concat (and `tickflow concat`) give the
    bytes of the unsharded CLI run."""
    query_file = tmp_path / "q.yaml"
    query_file.write_text("tickflow: 1\nsymbols: [%s]\nnodes:\n"
                          "  trades: {ep: generate, count: 300, seed: 5}\n"
                          "  big: {ep: where, in: trades, if: \"SIZE >= 300\"}\n" % ", ".join(SYMBOLS))
    extra = ["--merge-symbols"] if merge_symbols else []
    for fmt in ["csv", "jsonl"]:
        expected = subprocess.run([TICKFLOW, "run", str(query_file), "--no-progress", "--format", fmt,
                                   *extra], capture_output=True, check=True, timeout=60).stdout
        parts = tf.distributed.run(str(query_file), client=cluster.client, partitions=4,
                                   merge_symbols=merge_symbols, output=tmp_path / fmt, format=fmt)
        assert parts == [str(tmp_path / fmt / ("part_%d.%s" % (i, fmt))) for i in range(4)]
        tf.distributed.concat(parts, tmp_path / ("all." + fmt))
        assert (tmp_path / ("all." + fmt)).read_bytes() == expected
        joined = subprocess.run([TICKFLOW, "concat", *parts], capture_output=True, check=True,
                                timeout=60).stdout
        assert joined == expected
    # More shards than symbols: empty parts are written too, so the set is complete.
    parts = tf.distributed.run(str(query_file), client=cluster.client, partitions=13,
                               merge_symbols=merge_symbols, output=tmp_path / "many")
    tf.distributed.concat(parts[::-1], tmp_path / "many.csv")
    assert (tmp_path / "many.csv").read_bytes() == subprocess.run(
        [TICKFLOW, "run", str(query_file), "--no-progress", *extra], capture_output=True,
        check=True, timeout=60).stdout
    with pytest.raises(ValueError, match="missing"):
        tf.distributed.concat(parts[:5], tmp_path / "not_written.csv")
    assert not (tmp_path / "not_written.csv").exists()


def test_several_outputs_to_directories(cluster, tmp_path):
    q = bars_query()
    parts = tf.distributed.run(q, client=cluster.client, partitions=3, output=tmp_path / "out")
    assert parts == [str(tmp_path / "out" / ("part_%d" % i)) for i in range(3)]
    tf.distributed.concat(parts, tmp_path / "joined")
    expected = q.run()
    for name in ["bars", "big"]:
        back = pd.read_csv(tmp_path / "joined" / (name + ".csv"))
        assert len(back) == len(expected[name])
        assert list(back["SYMBOL"]) == list(expected[name]["SYMBOL"])


def test_failed_run_leaves_no_parts(cluster, tmp_path):
    for s in SYMBOLS:
        if s != "S05":
            (tmp_path / (s + ".csv")).write_text("TIMESTAMP,PRICE\n2024-01-02 09:30:00,1.5\n")
    q = tf.Query.from_dict({"tickflow": 1, "symbols": SYMBOLS,
                            "nodes": {"t": {"ep": "csv", "path": "{symbol}.csv"}}},
                           base_dir=tmp_path)
    with pytest.raises(tf.RunError, match="shard 2 of 3"):
        tf.distributed.run(q, client=cluster.client, partitions=3, output=tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_bad_arguments(cluster):
    q = bars_query(count=10)
    with pytest.raises(ValueError, match="by must be"):
        tf.distributed.run(q, client=cluster.client, by="week")
    with pytest.raises(ValueError, match="partitions"):
        tf.distributed.run(q, client=cluster.client, partitions=0)
    with pytest.raises(ValueError, match="listed twice"):
        tf.distributed.run(q, client=cluster.client, symbols=["A", "B", "A"])
    with pytest.raises(TypeError, match="symbols must be str"):
        tf.distributed.run(q, client=cluster.client, symbols=["A", 3])
    with pytest.raises(ValueError, match="format"):
        tf.distributed.run(q, client=cluster.client, output="/tmp", format="table")
    with pytest.raises(TypeError, match="tickflow.Query"):
        tf.distributed.run(42, client=cluster.client)
    no_symbols = tf.Query.from_dict(trades_query(count=10))
    with pytest.raises(ValueError, match="by='day'"):
        tf.distributed.run(no_symbols, client=cluster.client)
    with pytest.raises(ValueError, match="needs a range"):
        tf.distributed.run(no_symbols, client=cluster.client, by="day")


def kill_a_busy_worker_during(cluster, work):
    """Runs work() in a thread, SIGKILLs a worker as soon as it holds a task, and returns
    (work's result, the worker killed) once the run is over."""
    if len(cluster.workers_alive()) < 2:
        cluster.add_worker()
        cluster.client.wait_for_workers(2, timeout=DEADLINE_SECONDS)
    outcome = {}
    log_before = cluster.client.run_on_scheduler(transition_count)

    def run():
        try:
            outcome["result"] = work()
        except BaseException as e:  # reported by the assertions below
            outcome["error"] = e

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    victim = None
    deadline = time.monotonic() + DEADLINE_SECONDS
    while victim is None and time.monotonic() < deadline and runner.is_alive():
        busy = [w for w, tasks in cluster.client.processing().items() if tasks and w in cluster.workers]
        if busy:
            victim = busy[0]
        else:
            time.sleep(0.01)
    assert victim is not None, "no task ever ran"
    os.kill(cluster.workers[victim].pid, signal.SIGKILL)
    runner.join(timeout=DEADLINE_SECONDS)
    assert not runner.is_alive(), "the run did not finish after a worker was killed"
    assert "error" not in outcome, repr(outcome.get("error"))
    assert victim not in cluster.client.scheduler_info()["workers"]
    # The scheduler took a running shard task back from the dead worker and ran it again.
    rerun = cluster.client.run_on_scheduler(shard_tasks_taken_back, start=log_before)
    assert rerun, "no running task was taken back from the killed worker"
    return outcome["result"]


def test_worker_killed_mid_run(cluster):
    q = bars_query(count=400_000)
    expected = q.run(threads=2)
    result = kill_a_busy_worker_during(
        cluster, lambda: tf.distributed.run(q, client=cluster.client, partitions=4))
    assert_same(result, expected)


def test_worker_killed_while_writing_parts(cluster, tmp_path):
    query_file = tmp_path / "q.yaml"
    query_file.write_text("tickflow: 1\nsymbols: [%s]\nnodes:\n"
                          "  trades: {ep: generate, count: 200000, seed: 5}\n" % ", ".join(SYMBOLS))
    parts = kill_a_busy_worker_during(cluster, lambda: tf.distributed.run(
        str(query_file), client=cluster.client, partitions=4, output=tmp_path / "out"))
    # Complete parts only: no temporary file of the killed worker's write is left.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        ["part_%d.csv" % i for i in range(4)] + ["part_%d.csv.shard.json" % i for i in range(4)])
    tf.distributed.concat(parts, tmp_path / "all.csv")
    assert (tmp_path / "all.csv").read_bytes() == subprocess.run(
        [TICKFLOW, "run", str(query_file), "--no-progress"], capture_output=True, check=True,
        timeout=60).stdout


def transition_count(dask_scheduler):
    return len(dask_scheduler.transition_log)


def shard_tasks_taken_back(dask_scheduler, start):
    log = list(dask_scheduler.transition_log)[start:]
    return sorted({entry[0] for entry in log if str(entry[0]).startswith("tickflow-shard")
                   and entry[1] == "processing" and entry[2] == "released"})
