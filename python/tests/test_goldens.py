"""The golden tests' expected outputs (tests/golden/<case>/expected.csv, made by `tickflow run`)
reproduced through Python: every success case whose command-line arguments map onto
q.run(...) arguments, under two thread counts and batch sizes. Values are compared exactly
after parsing the CSV text with the DataFrame column's type."""
import csv
import pathlib

import numpy as np
import pandas as pd
import pytest

import tickflow as tf

GOLDEN = pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden"


def run_arguments(case):
    """q.run keyword arguments and Query.load params for the case's `args`, or None when an
    argument has no Python counterpart."""
    args = []
    if (case / "args").exists():
        args = [a for a in (case / "args").read_text().splitlines() if a.strip()]
    run, params = {}, {}
    i = 0
    while i < len(args):
        flag = args[i]
        value = args[i + 1] if i + 1 < len(args) else None
        if flag == "--format" and value == "csv":
            i += 2
        elif flag == "--param":
            name, _, text = value.partition("=")
            params[name] = text
            i += 2
        elif flag in ("--start", "--end"):
            run[flag[2:]] = value
            i += 2
        elif flag in ("--tz", "--output-tz"):
            run[flag[2:].replace("-", "_")] = value
            i += 2
        elif flag == "--symbols":
            run["symbols"] = value.split(",")
            i += 2
        elif flag == "--merge-symbols":
            run["merge_symbols"] = True
            i += 1
        else:
            return None
    return run, params


def cases():
    found = []
    for case in sorted(GOLDEN.iterdir()):
        if not (case / "expected.csv").exists() or (case / "expected_exit").exists():
            continue
        if run_arguments(case) is None:
            continue
        found.append(case)
    return found


def parse(text, dtype):
    if dtype.kind == "M":
        return pd.Timestamp(text).value  # with or without an offset (output_tz)
    if dtype.kind == "m":
        return int(text)
    if dtype.kind == "i":
        return int(text)
    if dtype.kind == "f":
        return float(text)
    if dtype.kind == "b":
        return {"true": True, "false": False}[text]
    return text


def value_of(series, row):
    value = series.iloc[row]
    if series.dtype.kind == "M":
        return value.value  # the instant in ns, also for a tz-aware column (output_tz)
    if series.dtype.kind == "m":
        return series.to_numpy()[row].astype(np.int64)
    return value


def same(expected, actual, kind):
    if kind == "f":
        return (np.isnan(expected) and np.isnan(actual)) or expected == actual
    return expected == actual


ALL_CASES = cases()


def test_most_golden_cases_are_covered():
    assert len(ALL_CASES) >= 40


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_golden_case_through_python(case):
    run, params = run_arguments(case)
    with open(case / "expected.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    q = tf.Query.load(case / "graph.yaml", params=params)
    for threads, batch_size in [(1, 4096), (2, 7)]:
        out = q.run(threads=threads, batch_size=batch_size, **run)
        assert list(out.columns) == header, case.name
        assert len(out) == len(body), case.name
        for c, name in enumerate(header):
            series = out[name]
            for r, row in enumerate(body):
                expected = parse(row[c], series.dtype)
                actual = value_of(series, r)
                assert same(expected, actual, series.dtype.kind), \
                    f"{case.name}: row {r} column {name}: expected {row[c]!r}, got {actual!r}"
