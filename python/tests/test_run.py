"""Query.load / from_dict / run / explain, symbols, several outputs, ranges, determinism."""
import os

import numpy as np
import pandas as pd
import pytest

import tickflow as tf
from conftest import trades_query


def test_demo_query_gives_a_dataframe(source_dir):
    out = tf.Query.load(source_dir / "graphs" / "demo.yaml").run()
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["TIMESTAMP", "PRICE", "SIZE"]
    assert len(out) == 20


def test_version_and_eps():
    assert isinstance(tf.version, str) and tf.version
    eps = {e["name"]: e for e in tf.eps()}
    for name in ["csv", "aggregate", "rolling_stats", "dataframe"]:
        assert name in eps
    assert eps["dataframe"]["inputs"] == [] and eps["dataframe"]["params"][0]["name"] == "data"
    assert set(eps["where"]) >= {"name", "doc", "inputs", "outputs", "params", "accumulation", "origin"}


def test_multi_symbol_run_has_symbol_column_in_list_order(source_dir):
    q = tf.Query.load(source_dir / "graphs" / "ohlcv_bars.yaml")
    out = q.run(symbols=["MSFT", "AAPL"], threads=2)
    assert list(out.columns[:2]) == ["TIMESTAMP", "SYMBOL"]
    first_rows = out.drop_duplicates("SYMBOL")["SYMBOL"].tolist()
    assert first_rows == ["MSFT", "AAPL"]
    assert (out["SYMBOL"] == "MSFT").sum() > 0 and (out["SYMBOL"] == "AAPL").sum() > 0
    alone = q.run(symbols=["AAPL"])
    pd.testing.assert_frame_equal(out[out["SYMBOL"] == "AAPL"].reset_index(drop=True), alone)
    merged = q.run(symbols=["MSFT", "AAPL"], merge_symbols=True)
    assert merged["TIMESTAMP"].is_monotonic_increasing
    assert len(merged) == len(out)


def test_several_outputs_give_a_dict():
    q = tf.Query.from_dict(trades_query(extra_nodes={
        "big": {"ep": "where", "in": "trades", "if": "SIZE >= 500"},
        "n": {"ep": "aggregate", "in": "trades", "aggs": {"N": "count()"}}},
        output=["big", "big.fail", "n"]))
    assert q.outputs == ["big", "big.fail", "n"]
    out = q.run()
    assert set(out) == {"big", "big.fail", "n"}
    assert len(out["big"]) + len(out["big.fail"]) == 200
    assert out["n"]["N"].tolist() == [200]
    assert (out["big"]["SIZE"] >= 500).all() and (out["big.fail"]["SIZE"] < 500).all()


def test_start_and_end_in_every_form():
    times = pd.Timestamp("2024-01-02 09:30") + pd.to_timedelta(np.arange(1000) * 1_000_003, unit="ns")
    q = tf.Query.from_dict({"tickflow": 1, "nodes": {
        "d": {"ep": "dataframe", "data": pd.DataFrame({"TIMESTAMP": times, "X": np.arange(1000)})}}})
    start, end = times[100], times[200]
    for s, e in [(start, end), (str(start), str(end)), (start.value, end.value),
                 (start.tz_localize("UTC").tz_convert("Asia/Tokyo"), end.to_datetime64())]:
        part = q.run(start=s, end=e)
        assert len(part) == 100
        assert part["TIMESTAMP"].iloc[0] == start


def test_params_override():
    q = {"tickflow": 1, "params": {"MIN": {"type": "int", "default": 1000}},
         "nodes": {"t": {"ep": "generate", "count": 300, "seed": 3},
                   "w": {"ep": "where", "in": "t", "if": "SIZE >= $MIN"}}}
    assert len(tf.Query.from_dict(q).run()) == 0
    some = tf.Query.from_dict(q, params={"MIN": 500}).run()
    assert len(some) > 0 and (some["SIZE"] >= 500).all()


def test_explain_text_and_dot(source_dir):
    q = tf.Query.load(source_dir / "graphs" / "ohlcv_bars.yaml")
    text = q.explain()
    assert "nodes:" in text and "bars" in text and "segment" in text
    dot = q.explain(dot=True)
    assert dot.startswith("digraph tickflow") and '"trades" -> "bars"' in dot


def test_dataframe_replaces_a_source_node(source_dir):
    q = tf.Query.load(source_dir / "graphs" / "ohlcv_bars.yaml")
    times = pd.date_range("2024-01-02 09:30", periods=120, freq="s")
    trades = pd.DataFrame({"TIMESTAMP": np.concatenate([times, times]),
                           "SYMBOL": ["AAPL"] * 120 + ["MSFT"] * 120,
                           "PRICE": np.concatenate([np.full(120, 10.0), np.full(120, 20.0)]),
                           "SIZE": np.full(240, 100)})
    bars = q.run(sources={"trades": trades}, symbols=["AAPL", "MSFT"])
    assert bars["SYMBOL"].tolist() == ["AAPL", "AAPL", "MSFT", "MSFT"]
    assert bars["OPEN"].tolist() == [10.0, 10.0, 20.0, 20.0]
    assert bars["TRADES"].tolist() == [60, 60, 60, 60]
    assert bars["VOLUME"].tolist() == [6000] * 4
    # Without symbols, SYMBOL is an ordinary field (the rows interleave by time).
    plain = tf.Query.from_dict({"tickflow": 1, "nodes": {
        "trades": {"ep": "ticks", "rows": [{"SYMBOL": "Q", "PRICE": 1.0, "SIZE": 1}]},
        "bars": {"ep": "aggregate", "in": "trades", "bucket": "1m", "group_by": ["SYMBOL"],
                 "aggs": {"N": "count()"}}}})
    by_symbol = plain.run(sources={"trades": trades.sort_values("TIMESTAMP", kind="stable")})
    assert by_symbol["SYMBOL"].tolist() == ["AAPL", "MSFT", "AAPL", "MSFT"]


def test_vwap_and_rolling_stats_on_a_dataframe():
    n = 1000
    rng = np.random.default_rng(5)
    trades = pd.DataFrame({"TIMESTAMP": pd.date_range("2024-01-02 09:30", periods=n, freq="100ms"),
                           "PRICE": 100 + rng.normal(size=n).cumsum() * 0.01,
                           "SIZE": rng.integers(1, 10, size=n) * 100})
    q = tf.Query.from_dict({"tickflow": 1, "nodes": {
        "trades": {"ep": "dataframe", "data": trades},
        "stats": {"ep": "rolling_stats", "in": "trades", "field": "PRICE", "windows": [10, 100],
                  "stats": ["mean", "std"]},
        "vwap": {"ep": "aggregate", "in": "trades", "bucket": "1m",
                 "aggs": {"VWAP": "vwap(PRICE, SIZE)"}}},
        "output": ["stats", "vwap"]})
    out = q.run()
    expected_mean = trades["PRICE"].rolling(100, min_periods=1).mean()
    assert np.allclose(out["stats"]["PRICE_MEAN_100"], expected_mean, rtol=1e-12)
    expected_std = trades["PRICE"].rolling(10, min_periods=2).std()
    assert np.allclose(out["stats"]["PRICE_STD_10"][1:], expected_std[1:], rtol=1e-9)
    pv = (trades["PRICE"] * trades["SIZE"]).groupby(trades["TIMESTAMP"].dt.floor("1min")).sum()
    volume = trades["SIZE"].groupby(trades["TIMESTAMP"].dt.floor("1min")).sum()
    assert np.allclose(out["vwap"]["VWAP"], (pv / volume).to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("symbols", [None, ["A", "B", "C"]])
def test_same_output_for_every_thread_count_and_batch_size(symbols):
    q = tf.Query.from_dict(trades_query(count=3000, symbols=symbols, extra_nodes={
        "f": {"ep": "add_field", "in": "trades", "set": {"N": "PRICE * SIZE"}},
        "s": {"ep": "rolling_stats", "in": "f", "field": "N", "windows": [5, 50]},
        "o": {"ep": "order_by", "in": "s", "by": ["-SIZE"]}}))
    reference = q.run(threads=1, batch_size=4096)
    for threads in [1, 2, 4]:
        for batch_size in [1, 7, 1000]:
            pd.testing.assert_frame_equal(q.run(threads=threads, batch_size=batch_size), reference)


def test_dataframe_sources_are_deterministic_too():
    n = 5000
    frame = pd.DataFrame({"TIMESTAMP": pd.to_datetime(np.arange(n) // 3, unit="ms"),
                          "SYMBOL": np.array(["X", "Y", "Z"], dtype=object)[np.arange(n) % 3],
                          "V": np.arange(n, dtype=np.float64)})
    q = tf.Query.from_dict({"tickflow": 1, "nodes": {
        "d": {"ep": "dataframe", "data": frame},
        "a": {"ep": "aggregate", "in": "d", "bucket": {"ticks": 10}, "aggs": {"S": "sum(V)"}}}})
    reference = q.run(threads=1)
    for threads, batch_size in [(2, 1), (2, 13), (4, 4096)]:
        pd.testing.assert_frame_equal(q.run(threads=threads, batch_size=batch_size), reference)
    per_symbol = q.run(symbols=["Z", "X"], threads=2, batch_size=7)
    assert per_symbol["SYMBOL"].iloc[0] == "Z"
    assert per_symbol[per_symbol["SYMBOL"] == "X"]["S"].iloc[0] == sum(range(0, 30, 3))


def test_gil_is_released_while_the_engine_runs():
    import threading
    import time
    q = tf.Query.from_dict(trades_query(count=5_000_000, extra_nodes={
        "w": {"ep": "where", "in": "trades", "if": "SIZE < 0"}}))
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.05)
    before = len(ticks)
    started = time.monotonic()
    q.run(threads=1)
    elapsed = time.monotonic() - started
    during = len(ticks) - before
    stop.set()
    counter.join()
    # A thread that needs the GIL kept running during the run; with the GIL held it could not
    # have counted at all until the run returned.
    assert elapsed > 0.05
    assert during >= 5


def test_queries_pickle_as_their_recipe(source_dir):
    import pickle
    q = tf.Query.load(source_dir / "graphs" / "ohlcv_bars.yaml")
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(q)).run(), q.run())
    df = pd.DataFrame({"TIMESTAMP": pd.to_datetime([1, 2], unit="s"), "X": [1.5, 2.5]})
    d = tf.Query.from_dict({"tickflow": 1, "nodes": {"d": {"ep": "dataframe", "data": df},
                                                    "a": {"ep": "add_field", "in": "d",
                                                          "set": {"Y": "X * $K"}}},
                            "params": {"K": {"type": "double", "default": 1}}}, params={"K": 2})
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(d)).run(), d.run())
    assert d.run()["Y"].tolist() == [3.0, 5.0]


def test_every_ep_example_runs_from_python(tmp_path):
    """The examples of `tickflow eps` run the same from Python: each example that needs no
    setup, pushes or output file gives the DataFrame of the output it states."""
    import io
    ran = 0
    for ep in tf.eps():
        example = ep["example"]
        if ep["origin"] != "builtin" or ep["name"] == "dataframe":
            continue
        assert example is not None, ep["name"]
        if example["setup"] or example["push_node"] or example["output_file"]:
            continue
        folder = tmp_path / ep["name"]
        folder.mkdir()
        (folder / "graph.yaml").write_text(example["query"])
        for f in example["files"]:
            (folder / f["name"]).write_text(f["contents"])
        got = tf.Query.load(folder / "graph.yaml").run(threads=2)
        want = pd.read_csv(io.StringIO(example["output"]), keep_default_na=False,
                           na_values=["nan"], true_values=["true"], false_values=["false"])
        want["TIMESTAMP"] = pd.to_datetime(want["TIMESTAMP"])
        assert list(got.columns) == list(want.columns), ep["name"]
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False,
                                      obj=ep["name"])
        ran += 1
    assert ran >= 25
