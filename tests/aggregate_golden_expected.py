#!/usr/bin/env python3
"""Writes the aggregate golden cases (tests/golden/agg_*/): graph.yaml, args and an
expected.csv computed here, independently of tickflow, from the rules of docs/aggregate.md.
Sums, means, percentiles and vwap are computed with exact rational arithmetic and rounded
once; the data uses prices that are multiples of 1/4, so that these exact values are what a
correct double implementation must print. Rerun after changing a case and review the diff:

    python3 tests/aggregate_golden_expected.py
"""
import datetime
import math
import pathlib
from fractions import Fraction

GOLDEN = pathlib.Path(__file__).resolve().parent / "golden"
NS = 1_000_000_000
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
NAN = float("nan")
DEFAULTS = {"int": 0, "double": NAN, "string": "", "time": 0, "bool": False}


def t(text):
    """'2024-01-02 09:30:00.25' -> ns since the epoch (UTC)."""
    date, _, clock = text.partition(" ")
    whole, _, frac = clock.partition(".")
    d = datetime.datetime.fromisoformat(f"{date} {whole}").replace(tzinfo=datetime.timezone.utc)
    return (d - EPOCH) // datetime.timedelta(seconds=1) * NS + int((frac + "000000000")[:9])


def fmt_time(ns):
    secs, frac = divmod(ns, NS)
    return (EPOCH + datetime.timedelta(seconds=secs)).strftime("%Y-%m-%d %H:%M:%S") + f".{frac:09d}"


def cell(value, kind):
    if kind == "time":
        return fmt_time(value)
    if kind == "double":
        if math.isnan(value):
            return "nan"
        text = repr(float(value))
        return text[:-2] if text.endswith(".0") else text
    if kind == "string":
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\r') else value
    return str(value)


# ---------------------------------------------------------------- the aggregation functions

def welford_var(xs, ddof):
    """Guard for the test data: the value Welford's update gives in doubles must be the
    exactly rounded variance, or the case would test rounding luck."""
    n, mean, m2 = 0, 0.0, 0.0
    for x in xs:
        n += 1
        d = x - mean
        mean += d / n
        m2 += d * (x - mean)
    return m2 / (n - ddof)


def exact_var(xs, ddof=1):
    """The variance dividing by n - ddof: 1 the sample variance, 0 the population one."""
    fs = [Fraction(x) for x in xs]
    mean = sum(fs) / len(fs)
    var = sum((x - mean) ** 2 for x in fs) / (len(fs) - ddof)
    assert float(var) == welford_var(xs, ddof), f"choose other data: {xs}"
    return var


def percentile(xs, p):
    if not xs:
        return NAN
    s = sorted(Fraction(x) for x in xs)
    h = Fraction(p) * (len(s) - 1)
    lo = math.floor(h)
    value = s[lo] + (h - lo) * (s[lo + 1] - s[lo]) if lo + 1 < len(s) else s[lo]
    return float(value)


def apply(fn, args, ticks, kinds):
    """fn over `ticks` (dicts with T and fields); kinds: field -> type."""
    values = [tk[args[0]] for tk in ticks] if args else []
    n = len(ticks)
    if fn == "count":
        return n
    if fn == "sum":
        return sum(values) if kinds[args[0]] == "int" else float(sum(map(Fraction, values), Fraction(0)))
    if fn == "mean":
        return float(sum(map(Fraction, values)) / n) if n else NAN
    if fn in ("var", "std"):
        if n < 2:
            return NAN
        var = exact_var(values)
        return float(var) if fn == "var" else math.sqrt(float(var))
    if fn in ("var_pop", "std_pop"):
        if n < 1:
            return NAN
        var = exact_var(values, ddof=0)
        return float(var) if fn == "var_pop" else math.sqrt(float(var))
    if fn in ("min", "max"):
        return (min if fn == "min" else max)(values) if n else DEFAULTS[kinds[args[0]]]
    if fn in ("first", "last"):
        return values[0 if fn == "first" else -1] if n else DEFAULTS[kinds[args[0]]]
    if fn == "vwap":
        if not n:
            return NAN
        value = sum(Fraction(tk[args[0]]) * tk[args[1]] for tk in ticks)
        return float(value / sum(Fraction(tk[args[1]]) for tk in ticks))
    if fn == "median":
        return percentile(values, 0.5)
    if fn == "percentile":
        return percentile(values, args[1])
    if fn == "distinct_count":
        return len(set(values))
    if fn == "first_time":
        return ticks[0]["T"] if n else 0
    if fn == "last_time":
        return ticks[-1]["T"] if n else 0
    raise ValueError(fn)


def result_kind(fn, args, kinds):
    if fn in ("count", "distinct_count"):
        return "int"
    if fn in ("first_time", "last_time"):
        return "time"
    if fn in ("sum", "min", "max", "first", "last"):
        return kinds[args[0]]
    return "double"


# ---------------------------------------------------------------- buckets and windows

def key_of(tick, group_by):
    return tuple(tick[g] for g in group_by)


def first_seen(ticks, group_by):
    """group key -> index of its first tick; without group_by the single group exists from the start."""
    seen = {} if group_by else {(): -1}
    for i, tk in enumerate(ticks):
        seen.setdefault(key_of(tk, group_by), i)
    return seen


def bucket_rows(ticks, spec, kinds):
    """[(stamp, [tick indices])] for the bucketed modes."""
    bucket = spec.get("bucket")
    rng = spec.get("range")
    start_stamp = spec.get("bucket_time") == "start"
    if bucket is None:
        if not ticks and not rng:
            return []
        stamp = (rng[0] if start_stamp else rng[1]) if rng else (ticks[0]["T"] if start_stamp else ticks[-1]["T"])
        return [(stamp, list(range(len(ticks))))]
    if isinstance(bucket, int):  # time bucket, ns
        origin = rng[0] if rng else ticks[0]["T"] // (86400 * NS) * (86400 * NS)
        index = lambda tm: (tm - origin) // bucket
        if rng:
            last = (rng[1] - origin + bucket - 1) // bucket - 1
            ks = range(0, last + 1)
        else:
            ks = range(index(ticks[0]["T"]), index(ticks[-1]["T"]) + 1) if ticks else []
        out = []
        for k in ks:
            members = [i for i, tk in enumerate(ticks) if index(tk["T"]) == k]
            if not members and not spec.get("emit_empty", True):
                continue
            end = origin + (k + 1) * bucket
            stamp = origin + k * bucket if start_stamp else (min(end, rng[1]) if rng else end)
            out.append((stamp, members, end))
        return out
    chunks, current = [], []
    for i, tk in enumerate(ticks):
        if "ticks" in bucket:
            current.append(i)
            if len(current) == bucket["ticks"]:
                chunks.append(current)
                current = []
        else:
            hit = bucket["when"](tk)
            if bucket["boundary"] == "new":
                if hit and current:
                    chunks.append(current)
                    current = []
                current.append(i)
            else:
                current.append(i)
                if hit:
                    chunks.append(current)
                    current = []
    closed = len(chunks)  # chunks[closed:] is the bucket still open at the end
    if current:
        chunks.append(current)
    if spec.get("bucket_time") == "close":
        # OneTick's stamps: a condition bucket closed by the tick starting the next one
        # (boundary new) takes that tick's time; the bucket still open at the end (or a
        # partial ticks bucket) takes the range end.
        out = []
        for k, c in enumerate(chunks):
            if k >= closed:
                stamp = rng[1] if rng else ticks[c[-1]]["T"]
            elif "when" in bucket and bucket["boundary"] == "new":
                stamp = ticks[chunks[k + 1][0]]["T"]
            else:
                stamp = ticks[c[-1]]["T"]
            out.append((stamp, c))
        return out
    return [(ticks[c[0]]["T"] if start_stamp else ticks[c[-1]]["T"], c) for c in chunks]


def run_aggregate(ticks, spec, kinds):
    group_by = spec.get("group_by", [])
    aggs = spec["aggs"]  # [(OUT, fn, args)]
    emit_empty = spec.get("emit_empty", True)
    seen = first_seen(ticks, group_by)
    order = sorted(seen, key=lambda k: seen[k])
    columns = [(g, kinds[g]) for g in group_by] + [(o, result_kind(f, a, kinds)) for o, f, a in aggs]
    rows = []

    def row(stamp, key, members):
        r = {"TIMESTAMP": stamp}
        r.update(dict(zip(group_by, key)))
        for out, fn, args in aggs:
            r[out] = apply(fn, args, [ticks[i] for i in members], kinds)
        rows.append(r)

    if not spec.get("running"):
        for entry in bucket_rows(ticks, spec, kinds):
            stamp, members = entry[0], entry[1]
            # Groups seen so far: first tick before the bucket's end (time) or in/before it.
            limit_index = max(members) if members else -1
            for key in order:
                if isinstance(spec.get("bucket"), int):
                    visible = seen[key] < 0 or ticks[seen[key]]["T"] < entry[2]
                else:
                    visible = seen[key] <= limit_index or seen[key] < 0
                mine = [i for i in members if key_of(ticks[i], group_by) == key]
                if visible and (emit_empty or mine):
                    row(stamp, key, mine)
        return columns, rows

    window = spec.get("window")
    events = []  # (time, kind 0 arrival / 1 exit, order, key, members)
    for i, tk in enumerate(ticks):
        key = key_of(tk, group_by)
        same = [j for j in range(i + 1) if key_of(ticks[j], group_by) == key]
        if window is None:
            members = same
        elif isinstance(window, dict):
            members = same[-window["ticks"]:]
        else:
            members = [j for j in same if ticks[j]["T"] > tk["T"] - window]
        events.append((tk["T"], 0, i, key, members))
    if isinstance(window, int):
        rng = spec.get("range")
        exits = {}
        for i, tk in enumerate(ticks):
            key = key_of(tk, group_by)
            x = tk["T"] + window
            if rng and x >= rng[1]:
                continue
            if any(key_of(o, group_by) == key and o["T"] == x for o in ticks):
                continue  # an arrival of the group at that time shows the window already
            exits.setdefault((x, key), i)
        for (x, key), i in exits.items():
            members = [j for j, o in enumerate(ticks)
                       if key_of(o, group_by) == key and x - window < o["T"] <= x]
            events.append((x, 1, i, key, members))
    for time, _, _, key, members in sorted(events, key=lambda e: (e[0], e[1], e[2])):
        row(time, key, members)
    return columns, rows


# ---------------------------------------------------------------- cases

def yaml_value(v, kind):
    if kind == "string":
        return v
    if kind == "double":
        return repr(float(v))
    return str(v)


def write_case(name, comment, ticks, kinds, spec, node_yaml, range_text=None, derived=None):
    """derived: {argument expression: (kind, function of a tick)}, the values of the
    aggregation arguments that are expressions; the model reads them like fields."""
    d = GOLDEN / name
    d.mkdir(parents=True, exist_ok=True)
    fields = [f for f in kinds]
    lines = [f"# {line}" if line else "#" for line in comment.strip().splitlines()]
    lines += ["# Expected output: tests/aggregate_golden_expected.py.", "tickflow: 1"]
    if range_text:
        lines.append(f'range: {{start: "{range_text[0]}", end: "{range_text[1]}"}}')
    lines += ["nodes:", "  src:", "    ep: ticks", "    fields: {" +
              ", ".join(f"{f}: {k}" for f, k in kinds.items()) + "}", "    rows:"]
    for tk in ticks:
        cells = [f'TIMESTAMP: "{fmt_time(tk["T"])}"'] + [f"{f}: {yaml_value(tk[f], kinds[f])}" for f in fields]
        lines.append("      - {" + ", ".join(cells) + "}")
    lines += ["  agg:", "    ep: aggregate", "    in: src"]
    lines += ["    " + line for line in node_yaml.strip().splitlines()]
    (d / "graph.yaml").write_text("\n".join(lines) + "\n")
    (d / "args").write_text("--format\ncsv\n")
    if derived:
        ticks = [dict(tk, **{text: f(tk) for text, (_, f) in derived.items()}) for tk in ticks]
        kinds = dict(kinds, **{text: kind for text, (kind, _) in derived.items()})
    columns, rows = run_aggregate(ticks, spec, kinds)
    out = [",".join(["TIMESTAMP"] + [c for c, _ in columns])]
    for r in rows:
        out.append(",".join([fmt_time(r["TIMESTAMP"])] + [cell(r[c], k) for c, k in columns]))
    (d / "expected.csv").write_text("\n".join(out) + "\n")


def make_ticks(day, rows, names):
    return [dict({"T": t(f"{day} {r[0]}")}, **dict(zip(names, r[1:]))) for r in rows]


DAY = "2024-01-02"
OHLCV = [("OPEN", "first", ["PRICE"]), ("HIGH", "max", ["PRICE"]), ("LOW", "min", ["PRICE"]),
         ("CLOSE", "last", ["PRICE"]), ("VOLUME", "sum", ["SIZE"]),
         ("VWAP", "vwap", ["PRICE", "SIZE"]), ("TRADES", "count", [])]
OHLCV_YAML = """aggs:
  OPEN: first(PRICE)
  HIGH: max(PRICE)
  LOW: min(PRICE)
  CLOSE: last(PRICE)
  VOLUME: sum(SIZE)
  VWAP: vwap(PRICE, SIZE)
  TRADES: count()"""


def main():
    trades = make_ticks(DAY, [
        ("09:30:05", "A", 10.5, 100), ("09:30:20", "B", 20.25, 200), ("09:30:40", "A", 10.75, 300),
        ("09:30:59.999999999", "A", 10.25, 100), ("09:31:00", "B", 20.5, 100),
        ("09:31:30", "A", 10.0, 200), ("09:31:45", "B", 20.0, 300),
        ("09:33:10", "A", 11.0, 100), ("09:33:50", "A", 11.5, 400)], ["SYMBOL", "PRICE", "SIZE"])
    tkinds = {"SYMBOL": "string", "PRICE": "double", "SIZE": "int"}
    rng = (t(f"{DAY} 09:30:00"), t(f"{DAY} 09:35:00"))
    write_case("agg_ohlcv_bars_group_by", """
1-minute OHLCV bars with VWAP per SYMBOL (an ordinary field: the run has no symbols).
A tick at 09:30:59.999999999 is in the 09:30 bucket, one at 09:31:00 in the next ([start, end)).
The 09:32 and 09:34 buckets are empty: one tick per group seen so far, count 0, defaults.""",
               trades, tkinds, {"bucket": 60 * NS, "range": rng, "group_by": ["SYMBOL"], "aggs": OHLCV},
               "bucket: 1m\ngroup_by: [SYMBOL]\n" + OHLCV_YAML, ("2024-01-02 09:30:00", "2024-01-02 09:35:00"))

    sample = make_ticks(DAY, [
        ("09:29:10", 10.0, 5, "N"), ("09:29:20", 12.0, 3, "Q"), ("09:29:50", 14.0, 7, "N"),
        ("09:31:00", 9.5, 2, "P"), ("09:31:59", 10.5, 4, "P"), ("09:33:30", 8.25, 1, "Z")],
        ["PX", "Q", "EX"])
    skinds = {"PX": "double", "Q": "int", "EX": "string"}
    all_aggs = [("N", "count", []), ("QTY", "sum", ["Q"]), ("PXSUM", "sum", ["PX"]),
                ("AVG", "mean", ["PX"]), ("VAR", "var", ["PX"]), ("SD", "std", ["PX"]),
                ("LO", "min", ["Q"]), ("HI", "max", ["PX"]), ("FIRST_EX", "first", ["EX"]),
                ("LAST_EX", "last", ["EX"]), ("T0", "first_time", []), ("T1", "last_time", []),
                ("NEX", "distinct_count", ["EX"])]
    all_yaml = """aggs:
  N: count()
  QTY: sum(Q)
  PXSUM: sum(PX)
  AVG: mean(PX)
  VAR: var(PX)
  SD: std(PX)
  LO: min(Q)
  HI: max(PX)
  FIRST_EX: first(EX)
  LAST_EX: last(EX)
  T0: first_time()
  T1: last_time()
  NEX: distinct_count(EX)"""
    write_case("agg_time_empty_buckets", """
Every function over 1-minute buckets of a range with empty buckets at the start (09:28), in
the middle (09:30, 09:32) and at the end (09:34, cut short by the range end at 09:34:30,
which stamps it). Empty buckets: count 0, sums 0, int min 0, double NaN, string "", time 0.""",
               sample, skinds, {"bucket": 60 * NS, "range": (t(f"{DAY} 09:28:00"), t(f"{DAY} 09:34:30")),
                                "aggs": all_aggs},
               "bucket: 1m\n" + all_yaml, ("2024-01-02 09:28:00", "2024-01-02 09:34:30"))

    write_case("agg_emit_empty_false_start", """
45-second buckets without a range are aligned to midnight UTC of the first tick's day
(09:28:30 is a multiple of 45s); emit_empty: false skips the empty 09:30:00 bucket and
bucket_time: start stamps each bucket with its start.""",
               sample, skinds, {"bucket": 45 * NS, "emit_empty": False, "bucket_time": "start",
                                "aggs": all_aggs[:4] + all_aggs[10:12]},
               "bucket: 45s\nemit_empty: false\nbucket_time: start\n" +
               "\n".join(all_yaml.splitlines()[:5] + all_yaml.splitlines()[11:13]))

    syms = make_ticks(DAY, [
        ("09:30:01", "A", 10.0, 100), ("09:30:02", "B", 20.0, 200), ("09:30:02", "A", 10.5, 300),
        ("09:30:04", "C", 30.0, 50), ("09:30:05", "A", 11.0, 100), ("09:30:07", "B", 21.0, 400),
        ("09:30:07", "B", 21.5, 100), ("09:30:09", "A", 11.25, 200)], ["SYM", "PX", "QTY"])
    ykinds = {"SYM": "string", "PX": "double", "QTY": "int"}
    write_case("agg_tick_buckets", """
Buckets of 3 ticks of the stream (all groups together), stamped with their last tick's
time; the last bucket holds the 2 ticks left. Each bucket emits every group seen so far
(C appears in the second bucket), count 0 for a group without ticks in it.""",
               syms, ykinds, {"bucket": {"ticks": 3}, "group_by": ["SYM"],
                              "aggs": [("N", "count", []), ("TOTAL", "sum", ["QTY"]),
                                       ("FIRST", "first", ["PX"]), ("LAST", "last", ["PX"])]},
               "bucket: {ticks: 3}\ngroup_by: [SYM]\naggs:\n  N: count()\n  TOTAL: sum(QTY)\n"
               "  FIRST: first(PX)\n  LAST: last(PX)")

    xs = make_ticks(DAY, [("09:30:00", 5.0), ("09:30:00", 1.0), ("09:30:01", 4.0), ("09:30:02", 2.0),
                          ("09:30:03", 8.0), ("09:30:03", 8.0), ("09:30:05", 6.5), ("09:30:06", 1.25),
                          ("09:30:08", 3.0), ("09:30:09", 7.0)], ["X"])
    write_case("agg_tick_buckets_start_median", """
Buckets of 4 ticks stamped with their first tick's time (bucket_time: start); median and
percentiles interpolate linearly between the closest ranks (rank p * (n - 1)); the last
bucket has 2 ticks.""",
               xs, {"X": "double"},
               {"bucket": {"ticks": 4}, "bucket_time": "start",
                "aggs": [("N", "count", []), ("MED", "median", ["X"]), ("P25", "percentile", ["X", 0.25]),
                         ("P75", "percentile", ["X", 0.75]), ("ND", "distinct_count", ["X"]),
                         ("LO", "min", ["X"]), ("HI", "max", ["X"])]},
               "bucket: {ticks: 4}\nbucket_time: start\naggs:\n  N: count()\n  MED: median(X)\n"
               "  P25: percentile(X, 0.25)\n  P75: percentile(X, 0.75)\n  ND: distinct_count(X)\n"
               "  LO: min(X)\n  HI: max(X)")

    blocks = make_ticks(DAY, [
        ("09:30:00", 600, 1.0), ("09:30:01", 100, 2.0), ("09:30:02", 200, 3.0), ("09:30:03", 500, 4.0),
        ("09:30:04", 100, 5.0), ("09:30:04", 700, 6.0), ("09:30:06", 300, 7.0), ("09:30:07", 900, 8.0)],
        ["QTY", "PX"])
    bkinds = {"QTY": "int", "PX": "double"}
    caggs = [("N", "count", []), ("TOTAL", "sum", ["QTY"]), ("FIRST", "first", ["PX"]),
             ("LAST", "last", ["PX"]), ("T0", "first_time", []), ("T1", "last_time", [])]
    cyaml = ("aggs:\n  N: count()\n  TOTAL: sum(QTY)\n  FIRST: first(PX)\n  LAST: last(PX)\n"
             "  T0: first_time()\n  T1: last_time()")
    for policy in ("new", "previous"):
        what = ("starts a new bucket (the first tick does too, without an empty bucket before it)"
                if policy == "new" else
                "closes the current bucket and belongs to it (the last tick does too: no empty\n"
                "bucket after it)")
        write_case(f"agg_condition_{policy}", f"""
Condition buckets, boundary_tick: {policy}: a tick with QTY >= 500 {what}.
Buckets are stamped with their last tick's time.""",
                   blocks, bkinds, {"bucket": {"when": lambda tk: tk["QTY"] >= 500, "boundary": policy},
                                    "aggs": caggs},
                   f'bucket: {{when: "QTY >= 500", boundary_tick: {policy}}}\n' + cyaml)

    spread = [("N", "count", []), ("VAR", "var", ["X"]), ("VARP", "var_pop", ["X"]),
              ("SD", "std", ["X"]), ("SDP", "std_pop", ["X"])]
    spread_yaml = ("aggs:\n  N: count()\n  VAR: var(X)\n  VARP: var_pop(X)\n  SD: std(X)\n"
                   "  SDP: std_pop(X)")
    spread_x = make_ticks(DAY, [("09:30:00", 1.0), ("09:30:01", 3.0), ("09:30:01", 5.0),
                                ("09:30:02", 2.0), ("09:30:04", 2.0), ("09:30:04", 8.0),
                                ("09:30:05", 4.0), ("09:30:07", 10.0), ("09:30:08", 7.0),
                                ("09:30:09", 6.0)], ["X"])
    write_case("agg_population_var_std", """
Sample (var, std: divide by n - 1) and population (var_pop, std_pop: divide by n, OneTick's
default biased STDDEV) statistics over buckets of 3 ticks; the last bucket has one tick:
its sample statistics are NaN, its population ones 0.""",
               spread_x, {"X": "double"}, {"bucket": {"ticks": 3}, "aggs": spread},
               "bucket: {ticks: 3}\n" + spread_yaml)
    # Every 3 consecutive values sum to a multiple of 3: the window means are exact.
    rolling_x = [dict(tk, X=x) for tk, x in zip(spread_x, [3.0, 1.0, 5.0, 6.0, 4.0, 2.0, 9.0,
                                                             7.0, 8.0, 3.0])]
    write_case("agg_population_sliding", """
Population and sample statistics over a sliding window of the last 3 ticks (the first tick
alone: population 0, sample NaN).""",
               rolling_x, {"X": "double"}, {"running": True, "window": {"ticks": 3}, "aggs": spread},
               "running: true\nwindow: {ticks: 3}\n" + spread_yaml)

    close_range = (t(f"{DAY} 09:30:00"), t(f"{DAY} 09:31:00"))
    write_case("agg_condition_close_stamps", """
bucket_time: close (OneTick's stamps) on condition buckets, boundary_tick: new: a bucket is
stamped with the tick that closed it (the QTY >= 500 tick starting the next bucket), and the
bucket still open when the input ends with the range end (09:31:00).""",
               blocks, bkinds, {"bucket": {"when": lambda tk: tk["QTY"] >= 500, "boundary": "new"},
                                "bucket_time": "close", "range": close_range, "aggs": caggs},
               'bucket: {when: "QTY >= 500"}\nbucket_time: close\n' + cyaml,
               ("2024-01-02 09:30:00", "2024-01-02 09:31:00"))
    write_case("agg_ticks_close_stamps", """
bucket_time: close on buckets of 3 ticks: a full bucket is stamped with its last tick, the
partial last one (2 ticks) with the range end (09:31:00), as OneTick does.""",
               syms, ykinds, {"bucket": {"ticks": 3}, "bucket_time": "close", "range": close_range,
                              "aggs": [("N", "count", []), ("TOTAL", "sum", ["QTY"])]},
               "bucket: {ticks: 3}\nbucket_time: close\naggs:\n  N: count()\n  TOTAL: sum(QTY)",
               ("2024-01-02 09:30:00", "2024-01-02 09:31:00"))

    write_case("agg_running_cumulative", """
running: true without a window: after every tick, its group's aggregates over all its ticks
so far (a running total per SYM).""",
               syms, ykinds, {"running": True, "group_by": ["SYM"],
                              "aggs": [("N", "count", []), ("TOTAL", "sum", ["QTY"]),
                                       ("AVG", "mean", ["PX"]), ("HI", "max", ["PX"]),
                                       ("MED", "median", ["PX"])]},
               "running: true\ngroup_by: [SYM]\naggs:\n  N: count()\n  TOTAL: sum(QTY)\n"
               "  AVG: mean(PX)\n  HI: max(PX)\n  MED: median(PX)")

    flow = make_ticks(DAY, [
        ("09:30:00", "A", 1), ("09:30:01", "B", 2), ("09:30:01", "A", 3), ("09:30:03", "A", 4),
        ("09:30:04", "B", 5), ("09:30:10", "C", 6), ("09:30:10", "A", 7), ("09:30:10", "C", 8),
        ("09:30:16.5", "A", 9), ("09:30:18", "B", 10)], ["SYM", "QTY"])
    write_case("agg_sliding_time_exits", """
A 3-second sliding window per SYM (ticks with TIMESTAMP in (t - 3s, t]). Each tick emits;
a tick at t also leaves at t + 3s, which emits a tick for its group at t + 3s after the
input ticks of that time, unless a tick of the group arrives at exactly t + 3s (A at
09:30:03, B at 09:30:04). Exits at one time come in the order the leaving ticks arrived
(C before A at 09:30:13; C's two ticks leave together: one output). Exits at or after the
range end (B's tick at 09:30:18 leaves at 09:30:21) are not emitted.""",
               flow, {"SYM": "string", "QTY": "int"},
               {"running": True, "window": 3 * NS, "group_by": ["SYM"],
                "range": (t(f"{DAY} 09:30:00"), t(f"{DAY} 09:30:20")),
                "aggs": [("N", "count", []), ("TOTAL", "sum", ["QTY"]), ("LO", "min", ["QTY"]),
                         ("FIRST", "first", ["QTY"]), ("T0", "first_time", [])]},
               "running: true\nwindow: 3s\ngroup_by: [SYM]\naggs:\n  N: count()\n  TOTAL: sum(QTY)\n"
               "  LO: min(QTY)\n  FIRST: first(QTY)\n  T0: first_time()",
               ("2024-01-02 09:30:00", "2024-01-02 09:30:20"))

    write_case("agg_sliding_ticks", """
A sliding window of the last 3 ticks of each SYM, emitted on every tick (a tick leaves the
window exactly when a new tick of its group arrives, so there are no exit ticks).""",
               syms, ykinds, {"running": True, "window": {"ticks": 3}, "group_by": ["SYM"],
                              "aggs": [("N", "count", []), ("TOTAL", "sum", ["QTY"]),
                                       ("LO", "min", ["PX"]), ("HI", "max", ["PX"]),
                                       ("FIRST", "first", ["PX"]), ("LAST", "last", ["PX"]),
                                       ("MED", "median", ["PX"])]},
               "running: true\nwindow: {ticks: 3}\ngroup_by: [SYM]\naggs:\n  N: count()\n"
               "  TOTAL: sum(QTY)\n  LO: min(PX)\n  HI: max(PX)\n  FIRST: first(PX)\n"
               "  LAST: last(PX)\n  MED: median(PX)")

    state = 12345
    many = []
    for i in range(150):
        state = (state * 1103515245 + 12345) % 2**31
        desk = state % 5
        sym = "S" + str((state >> 8) % 9)
        px = 100 + ((state >> 4) % 64) / 4
        many.append({"T": t(f"{DAY} 09:30:00") + i * 200_000_000, "DESK": desk, "SYM": sym,
                     "PX": px, "QTY": 1 + (state >> 12) % 50})
    write_case("agg_group_by_many_keys", """
group_by two fields of different types (DESK int, SYM string): 150 ticks in about 40
groups, 10-second buckets over a range; groups appear in order of first appearance.""",
               many, {"DESK": "int", "SYM": "string", "PX": "double", "QTY": "int"},
               {"bucket": 10 * NS, "group_by": ["DESK", "SYM"],
                "range": (t(f"{DAY} 09:30:00"), t(f"{DAY} 09:30:40")),
                "aggs": [("N", "count", []), ("TOTAL", "sum", ["QTY"]), ("LAST", "last", ["PX"]),
                         ("VWAP", "vwap", ["PX", "QTY"])]},
               "bucket: 10s\ngroup_by: [DESK, SYM]\naggs:\n  N: count()\n  TOTAL: sum(QTY)\n"
               "  LAST: last(PX)\n  VWAP: vwap(PX, QTY)",
               ("2024-01-02 09:30:00", "2024-01-02 09:30:40"))

    write_case("agg_whole_run", """
No bucket: one bucket for the whole run, stamped with the range end; median and vwap per SYM.""",
               syms, ykinds, {"range": (t(f"{DAY} 09:30:00"), t(f"{DAY} 09:31:00")), "group_by": ["SYM"],
                              "aggs": [("N", "count", []), ("VWAP", "vwap", ["PX", "QTY"]),
                                       ("MED", "median", ["PX"]), ("LO", "min", ["PX"])]},
               "group_by: [SYM]\naggs:\n  N: count()\n  VWAP: vwap(PX, QTY)\n  MED: median(PX)\n"
               "  LO: min(PX)",
               ("2024-01-02 09:30:00", "2024-01-02 09:31:00"))
    write_case("agg_expression_args", """
Aggregation arguments are expressions: notional sum(PX * QTY), vwap with sizes scaled,
min/max of an expression, a count of ticks meeting a condition, percentile of a scaled
price, last(TIMESTAMP); 5-second buckets per SYM, mixed with bare-field arguments.""",
               syms, ykinds,
               {"bucket": 5 * NS, "group_by": ["SYM"],
                "aggs": [("N", "count", []), ("NOTIONAL", "sum", ["PX * QTY"]),
                         ("VWAP", "vwap", ["PX", "QTY * 100"]), ("LOTS", "sum", ["QTY * 2"]),
                         ("OFF", "max", ["PX - 10"]), ("BIG", "sum", ["if(QTY >= 200, 1, 0)"]),
                         ("P90", "percentile", ["PX * 2", 0.9]), ("LASTT", "last", ["TIMESTAMP"]),
                         ("FIRST", "first", ["PX"])]},
               "bucket: 5s\ngroup_by: [SYM]\naggs:\n  N: count()\n  NOTIONAL: sum(PX * QTY)\n"
               "  VWAP: vwap(PX, QTY * 100)\n  LOTS: sum(QTY * 2)\n  OFF: max(PX - 10)\n"
               "  BIG: sum(if(QTY >= 200, 1, 0))\n  P90: percentile(PX * 2, 0.9)\n"
               "  LASTT: last(TIMESTAMP)\n  FIRST: first(PX)",
               derived={"PX * QTY": ("double", lambda tk: tk["PX"] * tk["QTY"]),
                        "QTY * 100": ("int", lambda tk: tk["QTY"] * 100),
                        "QTY * 2": ("int", lambda tk: tk["QTY"] * 2),
                        "PX - 10": ("double", lambda tk: tk["PX"] - 10),
                        "if(QTY >= 200, 1, 0)": ("int", lambda tk: 1 if tk["QTY"] >= 200 else 0),
                        "PX * 2": ("double", lambda tk: tk["PX"] * 2),
                        "TIMESTAMP": ("time", lambda tk: tk["T"])})
    print("wrote the agg_* golden cases")


if __name__ == "__main__":
    main()
