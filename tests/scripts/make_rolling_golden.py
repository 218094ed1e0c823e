#!/usr/bin/env python3
"""Writes the rolling_stats golden cases (tests/golden/rolling_*) from an exact model.

    tests/scripts/make_rolling_golden.py            # rewrite graph.yaml, expected.csv, args

The expected values are computed here with fractions (exact), independently of tickflow,
then rounded once to the nearest double and printed in shortest round-trip form, as
tickflow prints doubles. Values are multiples of 60 so that the inputs are exact; the
outputs still exercise rounding (variances and standard deviations are not integers).
Not a test itself (no test_ prefix): rerun it only when a case changes.
"""
import math
import os
from fractions import Fraction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAN = float("nan")
ALL_STATS = ["count", "sum", "mean", "var", "std", "min", "max", "first", "last"]


def fmt(value):
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "nan"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def stat(values, name):
    n = len(values)
    exact = [Fraction(v) for v in values]
    mean = sum(exact) / n
    var = sum((x - mean) ** 2 for x in exact) / (n - 1) if n >= 2 else None
    if name == "count":
        return n
    if name == "sum":
        return float(sum(exact))
    if name == "mean":
        return float(mean)
    if name == "var":
        return NAN if var is None else float(var)
    if name == "std":
        # sqrt of the correctly rounded variance, correctly rounded (what IEEE sqrt gives)
        return NAN if var is None else math.sqrt(float(var))
    if name in ("var_pop", "std_pop"):
        population = sum((x - mean) ** 2 for x in exact) / n
        return float(population) if name == "var_pop" else math.sqrt(float(population))
    if name == "min":
        return float(min(exact))
    if name == "max":
        return float(max(exact))
    if name == "first":
        return float(exact[0])
    return float(exact[-1])


def time_text(ms):
    seconds, millis = divmod(ms, 1000)
    return f"2024-01-02 09:30:{seconds:02d}.{millis:03d}"


def write_case(name, comment, rows, field, key, windows, time_windows, stats, extra_yaml=""):
    """rows: (ms since 09:30:00, key value or None, field value)."""
    case = os.path.join(ROOT, "golden", name)
    os.makedirs(case, exist_ok=True)
    lines = [f"# {comment}", "# Expected output: tests/scripts/make_rolling_golden.py (exact fractions).",
             "tickflow: 1", "nodes:", "  src:", "    ep: ticks", "    rows:"]
    for ms, k, v in rows:
        key_part = f", {key}: {k}" if key else ""
        lines.append(f'      - {{TIMESTAMP: "{time_text(ms)}"{key_part}, {field}: {v}}}')
    lines += ["  roll:", "    ep: rolling_stats", "    in: src", f"    field: {field}"]
    if windows:
        lines.append(f"    windows: [{', '.join(str(w) for w in windows)}]")
    if time_windows:
        lines.append(f"    time_windows: [{', '.join(t for t, _ in time_windows)}]")
    if stats:
        lines.append(f"    stats: [{', '.join(stats)}]")
    if key:
        lines.append(f"    group_by: [{key}]")
    lines += [extra_yaml] if extra_yaml else []
    with open(os.path.join(case, "graph.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")

    used_stats = stats or ["min", "max", "last", "mean", "var"]
    header = ["TIMESTAMP"] + ([key] if key else []) + [field]
    suffixes = [str(w) for w in windows] + [t for t, _ in time_windows]
    header += [f"{field}_{s.upper()}_{w}" for w in suffixes for s in used_stats]
    out = [",".join(header)]
    for i, (ms, k, v) in enumerate(rows):
        mine = [(rms, rv) for rms, rk, rv in rows[: i + 1] if rk == k]
        cells = [time_text(ms) + "000000"] + ([k] if key else []) + [fmt(v)]
        for w in windows:
            values = [rv for _, rv in mine[-w:]]
            cells += [fmt(stat(values, s)) for s in used_stats]
        for _, d_ms in time_windows:
            values = [rv for rms, rv in mine if rms > ms - d_ms]
            cells += [fmt(stat(values, s)) for s in used_stats]
        out.append(",".join(cells))
    with open(os.path.join(case, "expected.csv"), "w") as f:
        f.write("\n".join(out) + "\n")
    with open(os.path.join(case, "args"), "w") as f:
        f.write("--format\ncsv\n")


def main():
    symbols = ["A", "B", "A", "A", "C", "B", "A", "B", "A", "C", "A", "B"]
    values = [120, 60, 300, -60, 600, 180, 0, 240, 600, 660, 180, 120]
    rows = [(1000 * (i + 1), s, v) for i, (s, v) in enumerate(zip(symbols, values))]
    write_case("rolling_stats_group_by",
               "rolling_stats with group_by: windows of 2 and 3 ticks per SYM, every stat.",
               rows, "PX", "SYM", [2, 3], [], ALL_STATS)

    # Every 3 consecutive values of a SYM sum to a multiple of 3 (exact means), so the
    # sample variances of windows of 2 and 3 ticks are exact and the population ones
    # derived from them are correctly rounded.
    symbols = ["A", "B", "A", "A", "B", "B", "A", "A", "B", "A"]
    values = [60, 120, 180, 360, 240, 60, 120, 0, 180, 480]
    rows = [(1000 * (i + 1), s, v) for i, (s, v) in enumerate(zip(symbols, values))]
    write_case("rolling_stats_population",
               "rolling_stats population var_pop and std_pop (divide by n; 0 for one tick) "
               "beside the sample var and std, windows of 2 and 3 ticks per SYM.",
               rows, "PX", "SYM", [2, 3], [], ["count", "var", "var_pop", "std", "std_pop"])

    times = [0, 400, 900, 1000, 1500, 2500, 2600, 2600, 4000, 7000, 7100, 7900]
    prices = [120.0, 180.0, 60.0, 240.0, 300.0, 120.0, 60.0, 720.0, 600.0, 0.0, 60.0, 180.0]
    rows = [(t, None, p) for t, p in zip(times, prices)]
    write_case("rolling_stats_time_window",
               "rolling_stats with a tick window and a 1s time window ((t - 1s, t]; equal "
               "timestamps both count), default stats.",
               rows, "PRICE", None, [4], [("1s", 1000)], [])


if __name__ == "__main__":
    main()
