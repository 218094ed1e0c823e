"""Every tickflow type both ways: DataFrame columns into the engine and back out."""
import numpy as np
import pandas as pd
import pytest

import tickflow as tf


def roundtrip(frame, **run_args):
    q = tf.Query.from_dict({"tickflow": 1, "nodes": {"src": {"ep": "dataframe", "data": frame}}})
    return q.run(**run_args)


def sample_frame():
    return pd.DataFrame({
        "TIMESTAMP": pd.to_datetime(["2024-01-02 09:30:00", "2024-01-02 09:30:00.000000001",
                                     "2024-01-02 09:30:01.5"]),
        "I": np.array([1, -(2**63), 2**63 - 1], dtype=np.int64),
        "D": [1.5, float("nan"), -float("inf")],
        "B": [True, False, True],
        "S": ["a", "", "ünïcødé, \"quoted\""],
        "T": pd.to_datetime(["1970-01-01", "2262-04-11 23:47:16.854775807", "1677-09-21 00:12:43.145224193"]),
        "DUR": pd.to_timedelta([0, -1, 86400 * 10**9], unit="ns"),
    })


def test_every_type_round_trips_exactly():
    frame = sample_frame()
    out = roundtrip(frame)
    assert list(out.columns) == list(frame.columns)
    assert [str(t) for t in out.dtypes] == ["datetime64[ns]", "int64", "float64", "bool", "object",
                                             "datetime64[ns]", "timedelta64[ns]"]
    pd.testing.assert_frame_equal(out, frame)
    assert all(type(s) is str for s in out["S"])


def test_engine_types_reach_pandas_types():
    q = tf.Query.from_dict({"tickflow": 1, "nodes": {
        "t": {"ep": "ticks", "rows": [{"TIMESTAMP": "2024-01-02 09:30:00", "X": 3}]},
        "f": {"ep": "add_field", "in": "t", "set": {
            "I": "X * 2", "D": "X / 2", "B": "X > 1", "S": "string(X) + 'x'",
            "T": "TIMESTAMP + 1s", "DUR": "TIMESTAMP - time('2024-01-02 09:00:00')"}}}})
    out = q.run()
    assert out.dtypes.astype(str).tolist() == ["datetime64[ns]", "int64", "int64", "float64", "bool",
                                               "object", "datetime64[ns]", "timedelta64[ns]"]
    row = out.iloc[0]
    assert row["I"] == 6 and row["D"] == 1.5 and row["B"] == True and row["S"] == "3x"  # noqa: E712
    assert row["T"] == pd.Timestamp("2024-01-02 09:30:01")
    assert row["DUR"] == pd.Timedelta(minutes=30)


def test_timestamp_is_a_column_not_the_index():
    out = roundtrip(sample_frame())
    assert out.columns[0] == "TIMESTAMP"
    assert isinstance(out.index, pd.RangeIndex)


def test_narrow_and_unsigned_ints_and_float32_widen():
    frame = pd.DataFrame({"TIMESTAMP": pd.to_datetime([1, 2], unit="s"),
                          "A": np.array([1, -2], dtype=np.int8),
                          "B": np.array([7, 2**32 - 1], dtype=np.uint32),
                          "C": np.array([0.5, 1.25], dtype=np.float32),
                          "N": pd.array([1, 2], dtype="Int64")})
    out = roundtrip(frame)
    assert out.dtypes.astype(str).tolist() == ["datetime64[ns]", "int64", "int64", "float64", "int64"]
    assert out["B"].tolist() == [7, 2**32 - 1]
    assert out["C"].tolist() == [0.5, 1.25]


def test_tz_aware_times_become_utc():
    times = pd.date_range("2024-01-02 09:30", periods=3, freq="s", tz="America/New_York")
    frame = pd.DataFrame({"TIMESTAMP": times, "WHEN": times, "X": [1, 2, 3]})
    out = roundtrip(frame)
    assert out["TIMESTAMP"].iloc[0] == pd.Timestamp("2024-01-02 14:30:00")
    assert out["WHEN"].iloc[2] == pd.Timestamp("2024-01-02 14:30:02")
    assert out["TIMESTAMP"].dt.tz is None


def test_datetime_index_gives_the_times():
    index = pd.DatetimeIndex(pd.to_datetime(["2024-01-02 10:00", "2024-01-02 10:01"]), name="when")
    frame = pd.DataFrame({"PRICE": [1.0, 2.0]}, index=index)
    out = roundtrip(frame)
    assert list(out.columns) == ["TIMESTAMP", "PRICE"]
    assert out["TIMESTAMP"].tolist() == list(index)


def test_categorical_and_string_dtypes_are_text():
    frame = pd.DataFrame({"TIMESTAMP": pd.to_datetime([1, 2, 3], unit="s"),
                          "C": pd.Categorical(["x", "y", "x"]),
                          "S": pd.array(["p", "q", "r"], dtype="string")})
    out = roundtrip(frame)
    assert out["C"].tolist() == ["x", "y", "x"] and out["S"].tolist() == ["p", "q", "r"]
    assert out["C"].dtype == object


def test_empty_frame_keeps_the_schema():
    frame = sample_frame().iloc[0:0]
    out = roundtrip(frame)
    assert len(out) == 0
    assert out.dtypes.astype(str).tolist()[:4] == ["datetime64[ns]", "int64", "float64", "bool"]


def test_large_frame_numbers_survive():
    n = 200_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"TIMESTAMP": pd.to_datetime(np.arange(n) * 1000, unit="ns"),
                          "X": rng.normal(size=n), "K": rng.integers(0, 10**12, size=n)})
    out = roundtrip(frame, batch_size=1000)
    assert np.array_equal(out["X"].to_numpy(), frame["X"].to_numpy())
    assert np.array_equal(out["K"].to_numpy(), frame["K"].to_numpy())
