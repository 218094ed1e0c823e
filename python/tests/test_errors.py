"""Bad input from Python: located QueryErrors, RunErrors with node/symbol/time, bad DataFrames,
bad arguments, and Ctrl-C."""
import _thread
import threading
import time

import numpy as np
import pandas as pd
import pytest

import tickflow as tf
from conftest import trades_query


def frame(n=3, **columns):
    data = {"TIMESTAMP": pd.to_datetime(np.arange(n), unit="s")}
    data.update(columns)
    return pd.DataFrame(data)


def dataframe_query(df):
    return {"tickflow": 1, "nodes": {"src": {"ep": "dataframe", "data": df}}}


def test_file_errors_have_file_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("tickflow: 1\nnodes:\n  t: {ep: generate, count: 5}\n"
                    "  w:\n    ep: where\n    in: t\n    if: PRICEE > 1\n  x: {ep: nope, in: t}\n")
    with pytest.raises(tf.QueryError) as caught:
        tf.Query.load(path)
    diags = caught.value.diagnostics
    assert len(diags) == 2
    file, line, column, message = diags[0]
    assert (file, line, column) == (str(path), 7, 9)
    assert "unknown field 'PRICEE'" in message and "did you mean 'PRICE'" in message
    assert diags[0].snippet[-1].strip().startswith("^")
    assert diags[1].line == 8 and "unknown EP 'nope'" in diags[1].message
    assert f"{path}:7:9: error:" in str(caught.value)


def test_missing_file_is_a_query_error(tmp_path):
    with pytest.raises(tf.QueryError, match="cannot open query file"):
        tf.Query.load(tmp_path / "nothing.yaml")


def test_dict_errors_point_at_key_paths():
    q = trades_query(extra_nodes={
        "w": {"ep": "where", "in": "trades", "if": "SIZE > 1 and PRICEE > 2"},
        "m": {"ep": "merge", "in": ["trades", "nowhere"]},
        "r": {"ep": "rolling_stats", "in": "trades", "field": "PRICE", "windwos": [10]}})
    q["nodez"] = 1
    with pytest.raises(tf.QueryError) as caught:
        tf.Query.from_dict(q)
    by_path = {d.path: d for d in caught.value.diagnostics}
    assert "nodez" in by_path and "did you mean 'nodes'" in by_path["nodez"].message
    assert by_path["nodes.w.if"].column == 14  # the P of PRICEE in the expression text
    assert by_path["nodes.w.if"].file is None and by_path["nodes.w.if"].line is None
    assert "nodes.m.in[1]" in by_path and "nowhere" in by_path["nodes.m.in[1]"].message
    assert "nodes.r.windwos" in by_path
    assert "<dict> nodes.w.if, column 14: error:" in str(caught.value)


def test_dict_values_of_unknown_types_are_located():
    q = trades_query(extra_nodes={"h": {"ep": "head", "in": "trades", "n": object()}})
    with pytest.raises(tf.QueryError) as caught:
        tf.Query.from_dict(q)
    assert caught.value.diagnostics[0].path == "nodes.h.n"
    with pytest.raises(tf.QueryError, match="keys must be strings"):
        tf.Query.from_dict({"tickflow": 1, "nodes": {1: {"ep": "generate"}}})
    with pytest.raises(tf.QueryError, match="must be a dict"):
        tf.Query.from_dict(["tickflow", 1])


def test_run_error_names_node_symbol_and_time():
    q = tf.Query.from_dict(trades_query(count=50, symbols=["S1", "S2"], extra_nodes={
        "m": {"ep": "add_field", "in": "trades", "set": {"Z": "SIZE % (SIZE - SIZE)"}}}))
    with pytest.raises(tf.RunError) as caught:
        q.run(threads=2)
    e = caught.value
    assert e.node == "m" and e.symbol == "S1"
    assert isinstance(e.time, pd.Timestamp)
    assert "by zero" in e.message and "node 'm'" in str(e)


def test_data_file_errors_carry_the_data_location(tmp_path):
    (tmp_path / "in.csv").write_text("TIMESTAMP,X\n2024-01-02 09:30:00,1\n2024-01-02 09:29:00,2\n")
    (tmp_path / "q.yaml").write_text("tickflow: 1\nnodes:\n  c: {ep: csv, path: in.csv, fields: {X: int}}\n")
    with pytest.raises(tf.RunError) as caught:
        tf.Query.load(tmp_path / "q.yaml").run()
    e = caught.value
    assert e.file.endswith("in.csv") and e.line == 3 and e.node == "c"


@pytest.mark.parametrize("bad, message", [
    (frame(X=[1, 2, 3]).iloc[[0, 2, 1]], "row 2: TIMESTAMP 1970-01-01 00:00:01.000000000 is earlier than row 1's"),
])
def test_unsorted_dataframe_is_a_run_error_naming_the_row(bad, message):
    with pytest.raises(tf.RunError) as caught:
        tf.Query.from_dict(dataframe_query(bad)).run()
    assert message in str(caught.value)
    assert caught.value.node == "src"


def test_unsorted_per_symbol_names_the_symbol_row():
    df = pd.DataFrame({"TIMESTAMP": pd.to_datetime([1, 2, 3, 0], unit="s"),
                       "SYMBOL": ["A", "B", "A", "A"], "X": [1, 2, 3, 4]})
    q = tf.Query.from_dict(dataframe_query(df))
    with pytest.raises(tf.RunError, match="row 3: .* earlier than row 2's .* of the same symbol"):
        q.run(symbols=["B", "A"])
    assert q.run(symbols=["B"])["X"].tolist() == [2]


@pytest.mark.parametrize("bad, fragment", [
    (pd.DataFrame({"X": [1, 2]}), "needs a TIMESTAMP column or a DatetimeIndex"),
    (frame(X=[1 + 2j, 3j, 0j]), "dtype complex128 has no tickflow type"),
    (frame(S=["a", None, "c"]), "row 1: None (NoneType) is not a string"),
    (frame(S=["a", 2, "c"]), "row 1: 2 (int) is not a string"),
    (frame(N=pd.array([1, None, 3], dtype="Int64")), "row 1 is missing"),
    (frame(T=pd.to_datetime(["2024-01-01", None, "2024-01-02"])), "row 1: the value is NaT"),
    (pd.DataFrame({"TIMESTAMP": pd.to_datetime([1, None], unit="s")}), "row 1: TIMESTAMP is NaT"),
    (pd.DataFrame({"TIMESTAMP": ["2024-01-01"]}), "TIMESTAMP has dtype object"),
    (frame(**{"bad name": [1, 2, 3]}), "'bad name' is not a field name"),
    (frame(U=np.array([1, 2, 2**64 - 1], dtype=np.uint64)), "row 2: 18446744073709551615 does not fit"),
    ("not a frame", "no table 'not a frame' is known here"),
])
def test_bad_dataframes_are_query_errors_naming_the_column(bad, fragment):
    with pytest.raises(tf.QueryError) as caught:
        tf.Query.from_dict(dataframe_query(bad))
    assert fragment in str(caught.value)
    assert caught.value.diagnostics[0].path.startswith("nodes.src.data")


def test_duplicate_columns_are_refused():
    df = pd.DataFrame([[pd.Timestamp(0), 1, 2]], columns=["TIMESTAMP", "X", "X"])
    with pytest.raises(tf.QueryError, match="'X' appears twice"):
        tf.Query.from_dict(dataframe_query(df))


def test_sources_must_name_source_nodes(source_dir):
    q = tf.Query.load(source_dir / "graphs" / "ohlcv_bars.yaml")
    with pytest.raises(tf.QueryError) as caught:
        q.run(sources={"trade": frame(PRICE=[1.0, 2, 3])})
    assert "no source node 'trade'" in str(caught.value) and "did you mean 'trades'" in str(caught.value)
    assert caught.value.diagnostics[0].path == "sources['trade']"
    with pytest.raises(tf.QueryError, match="no source node 'bars'"):
        q.run(sources={"bars": frame(PRICE=[1.0, 2, 3])})
    # A DataFrame without the fields the query uses is a bind error at the using node.
    with pytest.raises(tf.QueryError, match="unknown field 'PRICE'"):
        q.run(sources={"trades": frame(X=[1, 2, 3])})


@pytest.mark.parametrize("args, error, fragment", [
    ({"threads": 0}, ValueError, "threads must be in 1.."),
    ({"threads": "2"}, TypeError, "threads must be an int"),
    ({"batch_size": 0}, ValueError, "batch_size must be in 1.."),
    ({"start": "yesterday"}, ValueError, "start: not a time: 'yesterday'"),
    ({"end": 1.5}, TypeError, "end: a float is not a time"),
    ({"symbols": ["A", 3]}, TypeError, "symbols must be str"),
    ({"sources": [1]}, TypeError, "sources must be a dict"),
])
def test_bad_run_arguments(args, error, fragment):
    q = tf.Query.from_dict(trades_query(count=5))
    with pytest.raises(error, match=fragment):
        q.run(**args)


def test_bad_params():
    with pytest.raises(TypeError, match="params must be a dict"):
        tf.Query.from_dict(trades_query(), params=[("A", 1)])
    q = {"tickflow": 1, "params": {"MIN": {"type": "int", "default": 1}},
         "nodes": {"t": {"ep": "generate", "count": 3}}}
    with pytest.raises(tf.QueryError, match="MIN"):
        tf.Query.from_dict(q, params={"MIN": "lots"})
    with pytest.raises(tf.QueryError, match="NOPE"):
        tf.Query.from_dict(q, params={"NOPE": 1})


def test_ctrl_c_interrupts_a_run_cleanly():
    q = tf.Query.from_dict(trades_query(count=10**10, extra_nodes={
        "w": {"ep": "where", "in": "trades", "if": "SIZE < 0"}}))
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        q.run(threads=2)
    timer.join()
    assert time.monotonic() - started < 30
    # The engine is usable afterwards.
    assert len(tf.Query.from_dict(trades_query(count=10)).run()) == 10


def test_errors_pickle_whole():
    """Errors travel back from worker processes (tf.distributed) with every attribute."""
    import pickle
    with pytest.raises(tf.QueryError) as raised:
        tf.Query.from_dict({"tickflow": 1, "nodes": {
            "t": {"ep": "generate", "count": 3}, "w": {"ep": "where", "in": "t", "if": "PRICEE > 3"}}})
    copy = pickle.loads(pickle.dumps(raised.value))
    assert str(copy) == str(raised.value)
    assert copy.diagnostics[0].path == "nodes.w.if" and copy.diagnostics[0].snippet
    assert tuple(copy.diagnostics[0]) == tuple(raised.value.diagnostics[0])
    with pytest.raises(tf.RunError) as raised:
        tf.Query.from_dict({"tickflow": 1, "symbols": ["A"], "nodes": {
            "t": {"ep": "ticks", "rows": [{"TIMESTAMP": "2024-01-02 09:30:00", "N": 0}]},
            "d": {"ep": "add_field", "in": "t", "set": {"X": "1 % N"}}}}).run()
    copy = pickle.loads(pickle.dumps(raised.value))
    for attribute in ["message", "node", "symbol", "time", "file", "line", "column"]:
        assert getattr(copy, attribute) == getattr(raised.value, attribute)
    assert str(copy) == str(raised.value) and copy.symbol == "A" and copy.node == "d"
