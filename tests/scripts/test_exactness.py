#!/usr/bin/env python3
"""rolling_stats and aggregate's sliding windows against exact rational arithmetic.

Streams whose level moves (regimes at levels from 1e-6 to 1e12 of either sign, with
relative noise from 0 -- a constant stretch -- to 1e6 -- values of both signs around 0),
spikes and NaNs, in several groups with irregular timestamps. Every output row is checked,
for every window and stat, against an exact model: a double is an integer multiple of
2^-1074, so the sums of x, |x| and x^2 over a window are exact Python integers, and the
exact mean and variance are quotients of integers (Python divides big integers with
correct rounding). The bounds are those of docs/rolling_stats.md and docs/aggregate.md:
sum within 1e-9 of the sum of |x|, mean within 1e-9 of the mean of |x|, var and std within
1e-9 relative (0 exactly for a constant window); count, min, max, first and last exact; a
NaN in the window makes sum, mean, var, std, min and max NaN.

The windows of rolling_stats are computed here from the input alone. For aggregate's
time windows, whose exit ticks carry no input tick, each output row's window is the last
N ticks of its group up to the newest tick L it shows (N = count(), L = last(ID)); N is
checked against the window's definition first, then the statistics of those ticks.
"""
import argparse
import bisect
import math
import pathlib
import random
import subprocess
import sys
import tempfile

from script_checks import check, summary

TOLERANCE = 1e-9
SCALE_BITS = 1074  # every finite double times 2^1074 is an integer
NAN = float("nan")
STATS = ["count", "sum", "mean", "var", "std", "min", "max", "first", "last"]
TICK_WINDOWS = [1, 2, 7, 100, 1000]
TIME_WINDOWS = [("3ms", 3_000_000), ("1s", 1_000_000_000)]

worst = {}  # largest error seen per stat, in units of its bound's scale


def scaled(x):
    """x * 2^1074 as an exact integer."""
    mantissa, exponent = math.frexp(x)
    m = int(mantissa * (1 << 53))
    shift = exponent - 53 + SCALE_BITS
    return m << shift if shift >= 0 else m >> -shift  # shift >= 0 for every finite double


class Prefix:
    """Exact prefix sums of one group's values: x, |x|, x^2, and the count of NaNs."""

    def __init__(self, values):
        self.values = values
        self.s1, self.sabs, self.s2, self.nans = [0], [0], [0], [0]
        for x in values:
            if math.isnan(x):
                self.s1.append(self.s1[-1])
                self.sabs.append(self.sabs[-1])
                self.s2.append(self.s2[-1])
                self.nans.append(self.nans[-1] + 1)
            else:
                v = scaled(x)
                self.s1.append(self.s1[-1] + v)
                self.sabs.append(self.sabs[-1] + abs(v))
                self.s2.append(self.s2[-1] + v * v)
                self.nans.append(self.nans[-1])

    def expected(self, begin, end):
        """Exact statistics of positions [begin, end): (value, scale of the bound)."""
        n = end - begin
        window = self.values[begin:end]
        if n == 0:
            return {"count": (0, 0), "sum": (0.0, 0)}
        has_nan = self.nans[end] != self.nans[begin]
        out = {"count": (n, 0), "first": (window[0], 0), "last": (window[-1], 0)}
        if has_nan:
            for stat in ["sum", "mean", "var", "std", "min", "max"]:
                out[stat] = (NAN, 0)
            return out
        s1 = self.s1[end] - self.s1[begin]
        sabs = self.sabs[end] - self.sabs[begin]
        s2 = self.s2[end] - self.s2[begin]
        unit = 1 << SCALE_BITS
        out["sum"] = (s1 / unit, sabs / unit)
        out["mean"] = (s1 / (n * unit), sabs / (n * unit))
        out["min"] = (min(window), 0)
        out["max"] = (max(window), 0)
        if n >= 2:
            numerator = n * s2 - s1 * s1  # n^2 * M2 * unit^2, exact and >= 0
            var = numerator / (n * (n - 1) * unit * unit)
            out["var"] = (var, var)
            out["std"] = (math.sqrt(var), math.sqrt(var))
        else:
            out["var"] = out["std"] = (NAN, 0)
        return out


def agrees(name, got, want, scale):
    """True when got is want (exactly, NaN included) or within TOLERANCE * scale."""
    if math.isnan(want):
        return math.isnan(got)
    if got == want:
        return True
    if scale == 0 or math.isnan(got) or math.isinf(got):
        return False
    error = abs(got - want) / scale
    worst[name] = max(worst.get(name, 0.0), error)
    return error <= TOLERANCE


def regime_values(rng, n, nan_rate):
    """n values in regimes of random length, level and relative noise, with spikes."""
    values = []
    while len(values) < n:
        length = rng.choice([1, 3, 20, 90, 400, 1500])
        level = rng.choice([-1.0, 1.0]) * 10 ** rng.uniform(-6, 12)
        noise = rng.choice([0.0, 1e-15, 1e-9, 1e-4, 1e-2, 1.0, 1e6])
        for _ in range(length):
            r = rng.random()
            if r < 0.004:
                values.append(rng.choice([-1.0, 1.0]) * 10 ** rng.uniform(-6, 12))
            elif r < 0.004 + nan_rate:
                values.append(NAN)
            else:
                values.append(level + level * noise * rng.gauss(0.0, 1.0))
    return values[:n]


def make_ticks(rng, groups, per_group, nan_rate):
    """Interleaved ticks of several groups: (time ns, group, id, value), time-ordered."""
    streams = {g: regime_values(rng, per_group, nan_rate) for g in groups}
    cursor = {g: 0 for g in groups}
    ticks, time = [], 0
    while any(cursor[g] < per_group for g in groups):
        g = rng.choice([g for g in groups if cursor[g] < per_group])
        time += rng.choice([0, 0, 1_000, 100_000, 1_000_000, 2_000_000, 50_000_000])
        ticks.append((time, g, len(ticks), streams[g][cursor[g]]))
        cursor[g] += 1
    return ticks


def level_shift_ticks():
    """The level shifts of the report: 1e9 + N(0, 1), then 1 + 0.01 N(0, 1), then -1e6 + N(0, 1)."""
    rng = random.Random(1)
    values = [1e9 + rng.gauss(0, 1) for _ in range(1000)]
    values += [1 + 0.01 * rng.gauss(0, 1) for _ in range(1000)]
    values += [-1e6 + rng.gauss(0, 1) for _ in range(1000)]
    return [(i * 1_000_000, "A", i, x) for i, x in enumerate(values)]


def write_input(path, ticks):
    lines = ["TIMESTAMP,SYM,ID,X"] + [f"{t},{g},{i},{x!r}" for t, g, i, x in ticks]
    path.write_text("\n".join(lines) + "\n")


SOURCE = "  src: {ep: csv, path: input.csv, time_format: ns, fields: {SYM: string, ID: int, X: double}}\n"


def run(tmp, name, node):
    graph = tmp / f"{name}.yaml"
    graph.write_text("tickflow: 1\nnodes:\n" + SOURCE + node)
    r = subprocess.run([TICKFLOW, "run", graph.name, "--no-progress"], cwd=tmp, capture_output=True,
                       timeout=300)
    check(f"{name}: runs", r.returncode == 0, r.stderr.decode())
    lines = r.stdout.decode().splitlines() if r.returncode == 0 else []
    header = lines[0].split(",") if lines else []
    return [dict(zip(header, line.split(","))) for line in lines[1:]]


def parse_time(text):
    """ns since midnight of '1970-01-01 HH:MM:SS.fffffffff'."""
    clock = text.split(" ")[1]
    hms, fraction = clock.split(".")
    h, m, s = (int(p) for p in hms.split(":"))
    return ((h * 60 + m) * 60 + s) * 1_000_000_000 + int(fraction.ljust(9, "0"))


def by_group(ticks):
    """Per group: its values (Prefix), times and ids in order, and each id's position."""
    groups = {}
    for t, g, i, x in ticks:
        entry = groups.setdefault(g, {"values": [], "times": [], "ids": []})
        entry["values"].append(x)
        entry["times"].append(t)
        entry["ids"].append(i)
    position = {}
    for entry in groups.values():
        entry["prefix"] = Prefix(entry["values"])
        for p, i in enumerate(entry["ids"]):
            position[i] = p
    return groups, position


def compare_row(label, row, columns, want, failures):
    for stat, column in columns.items():
        if stat not in want:
            continue
        value, scale = want[stat]
        got = float(row[column]) if stat != "count" else int(row[column])
        ok = got == value if stat == "count" else agrees(stat, got, value, scale)
        if not ok:
            failures.append(f"{label} {column}: got {row[column]}, exact {value!r}")


def check_rolling(tmp, name, ticks, base, tick_windows, time_windows):
    windows = [str(w) for w in tick_windows] + [t for t, _ in time_windows]
    node = (f"  roll: {{ep: rolling_stats, in: src, field: X, windows: {tick_windows}, "
            f"stats: [{', '.join(STATS)}], group_by: [SYM], base: {base}")
    if time_windows:
        node += f", time_windows: [{', '.join(t for t, _ in time_windows)}]"
    rows = run(tmp, name, node + "}\n")
    check(f"{name}: one output row per input tick", len(rows) == len(ticks), f"{len(rows)} rows")
    groups, position = by_group(ticks)
    failures = []
    for (t, g, i, _), row in zip(ticks, rows):
        entry, end = groups[g], position[i] + 1
        for w, suffix in zip(tick_windows + [d for _, d in time_windows], windows):
            if suffix[-1].isdigit():
                begin = max(0, end - w)
            else:
                begin = bisect.bisect_right(entry["times"], t - w, 0, end)
            columns = {stat: f"X_{stat.upper()}_{suffix}" for stat in STATS}
            compare_row(f"row of tick {i} ({g})", row, columns,
                        entry["prefix"].expected(begin, end), failures)
    check(f"{name}: every row of every window and stat exact within the bounds ({len(rows)} rows)",
          not failures, "\n".join(failures[:20]) + f"\n({len(failures)} mismatches)")


def check_aggregate(tmp, name, ticks, window, duration):
    node = (f"  agg: {{ep: aggregate, in: src, running: true, window: {window}, group_by: [SYM], "
            "aggs: {N: count(), L: last(ID), S: sum(X), M: mean(X), V: var(X), SD: std(X)}}\n")
    rows = run(tmp, name, node)
    if not check(f"{name}: output", len(rows) >= len(ticks), f"{len(rows)} rows"):
        return
    groups, position = by_group(ticks)
    columns = {"count": "N", "sum": "S", "mean": "M", "var": "V", "std": "SD"}
    failures = []
    for row in rows:
        entry, n = groups[row["SYM"]], int(row["N"])
        if n == 0:
            compare_row("empty window", row, columns, entry["prefix"].expected(0, 0), failures)
            continue
        end = position[int(row["L"])] + 1
        if duration is None:
            expected_n = min(window_ticks(window), end)
        else:
            t = parse_time(row["TIMESTAMP"])
            expected_n = end - bisect.bisect_right(entry["times"], t - duration, 0, end)
        if n != expected_n:
            failures.append(f"row at {row['TIMESTAMP']} ({row['SYM']}): count {n}, expected {expected_n}")
            continue
        compare_row(f"row at {row['TIMESTAMP']} ({row['SYM']}, newest tick {row['L']})", row, columns,
                    entry["prefix"].expected(end - n, end), failures)
    check(f"{name}: every row exact within the bounds ({len(rows)} rows)", not failures,
          "\n".join(failures[:20]) + f"\n({len(failures)} mismatches)")


def window_ticks(window):
    return int(window.split(":")[1].strip(" }"))


def main():
    global TICKFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir")
    parser.add_argument("--build-dir")
    TICKFLOW = str(pathlib.Path(parser.parse_args().tickflow).resolve())

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        # The report's stream: one symbol, level 1e9, then 1, then -1e6.
        shift = level_shift_ticks()
        write_input(tmp / "input.csv", shift)
        check_rolling(tmp, "level shift, rolling_stats", shift, 10, [10, 100], [])
        check_aggregate(tmp, "level shift, aggregate {ticks: 100}", shift, "{ticks: 100}", None)

        # Regimes, spikes and NaNs in three groups.
        ticks = make_ticks(random.Random(24), ["A", "B", "C"], 2500, 0.001)
        write_input(tmp / "input.csv", ticks)
        for base in [2, 10, 7]:
            check_rolling(tmp, f"regimes, rolling_stats base {base}", ticks, base, TICK_WINDOWS,
                          TIME_WINDOWS if base != 7 else [])
        check_aggregate(tmp, "regimes, aggregate {ticks: 100}", ticks, "{ticks: 100}", None)
        check_aggregate(tmp, "regimes, aggregate {ticks: 7}", ticks, "{ticks: 7}", None)
        check_aggregate(tmp, "regimes, aggregate 3ms", ticks, "3ms", 3_000_000)
        check_aggregate(tmp, "regimes, aggregate 1s", ticks, "1s", 1_000_000_000)

    print("largest errors in units of the bound's scale: " +
          ", ".join(f"{k} {v:.2e}" for k, v in sorted(worst.items())))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
