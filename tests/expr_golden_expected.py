#!/usr/bin/env python3
"""Writes the expression golden cases (tests/golden/expr_*/): graph.yaml, args and an
expected.csv computed here in plain Python, independently of tickflow, following the
rules of docs/expressions.md. Rerun after changing a case and review the diff:

    python3 tests/expr_golden_expected.py
"""
import datetime
import math
import pathlib

GOLDEN = pathlib.Path(__file__).resolve().parent / "golden"
NS = 1_000_000_000
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def t(text):
    """'2024-01-02 09:30:00.25' -> ns since the epoch (UTC)."""
    date, _, clock = text.partition(" ")
    whole, _, frac = clock.partition(".")
    d = datetime.datetime.fromisoformat(f"{date} {whole}").replace(tzinfo=datetime.timezone.utc)
    secs = (d - EPOCH) // datetime.timedelta(seconds=1)
    return secs * NS + int((frac + "000000000")[:9])


def fmt_time(ns):
    secs, frac = divmod(ns, NS)
    d = EPOCH + datetime.timedelta(seconds=secs)
    return d.strftime("%Y-%m-%d %H:%M:%S") + f".{frac:09d}"


def fmt_double(x):
    if math.isnan(x):
        return "nan"
    text = repr(x)
    return text[:-2] if text.endswith(".0") else text


def cell(value, kind):
    if kind == "time":
        return fmt_time(value)
    if kind == "double":
        return fmt_double(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "string":
        if any(c in value for c in ',"\n\r'):
            return '"' + value.replace('"', '""') + '"'
        return value
    return str(value)  # int, duration (ns)


def csv(columns, rows):
    """columns: [(name, kind)]; rows: dicts with TIMESTAMP and every column."""
    lines = [",".join(["TIMESTAMP"] + [n for n, _ in columns])]
    for r in rows:
        lines.append(",".join([fmt_time(r["TIMESTAMP"])] + [cell(r[n], k) for n, k in columns]))
    return "\n".join(lines) + "\n"


def c_mod(a, b):
    """C's %: the sign of the dividend."""
    if isinstance(a, int) and isinstance(b, int):
        r = abs(a) % abs(b)
        return r if a >= 0 else -r
    return math.fmod(a, b)


def round_half_away(x, digits=0):
    scale = 10.0 ** digits
    y = x * scale
    r = math.floor(abs(y) + 0.5) * (1 if y >= 0 else -1)
    return r / scale


def duration_text(ns):
    if ns == 0:
        return "0ns"
    for unit, size in (("d", 86400 * NS), ("h", 3600 * NS), ("m", 60 * NS), ("s", NS),
                       ("ms", 10**6), ("us", 10**3), ("ns", 1)):
        if ns % size == 0:
            return f"{ns // size}{unit}"


def yaml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ticks_node(rows, fields):
    """A `ticks` source node; rows: dicts; fields: [(name, kind)] (order of the schema)."""
    out = ["  src:", "    ep: ticks", "    fields: {" + ", ".join(f"{n}: {k}" for n, k in fields) + "}",
           "    rows:"]
    for r in rows:
        parts = [f"TIMESTAMP: {yaml_str(fmt_time(r['TIMESTAMP']))}"]
        for n, k in fields:
            v = r[n]
            if k == "string":
                parts.append(f"{n}: {yaml_str(v)}")
            elif k == "double":
                parts.append(f"{n}: {fmt_double(v)}")
            else:
                parts.append(f"{n}: {v}")
        out.append("      - {" + ", ".join(parts) + "}")
    return "\n".join(out)


def write_case(name, graph, expected, args=("--format", "csv"), files=None):
    d = GOLDEN / name
    d.mkdir(exist_ok=True)
    (d / "graph.yaml").write_text(graph)
    (d / "expected.csv").write_text(expected)
    (d / "args").write_text("\n".join(args) + "\n")
    for fname, text in (files or {}).items():
        (d / fname).write_text(text)


# ---------------------------------------------------------------- shared data

BASE = t("2024-01-02 09:30:00")
SIZES = [100, 600, 0, 250, 900, 300, 50, 1200, 250, 700, 10, 400, 800, 5, 350, 600, 100, 2000,
         75, 300]
NAMES = ["héllo", "ÉCOLE", "aïdaa", "日本", "", "a,b", "Zürich", "x", "naïve", "ABC",
         "héllo", "q", "日本", "Zürich", "b", "", "x", "ÉCOLE", "a,b", "z"]
TRADES = [{"TIMESTAMP": BASE + i * 250_000_000, "PRICE": 100.5 + 0.75 * i, "SIZE": SIZES[i],
           "NAME": NAMES[i]} for i in range(20)]
TRADE_FIELDS = [("PRICE", "double"), ("SIZE", "int"), ("NAME", "string")]


def header(comment):
    return "".join(f"# {line}\n" for line in comment.splitlines()) + "tickflow: 1\n"


# ---------------------------------------------------------------- add_field chains

def add_field_chain():
    graph = header("add_field: entries in order, later ones reading earlier ones; arithmetic\n"
                   "typing (/ is double, % takes the dividend's sign), if, in, round, max.")
    graph += "nodes:\n" + ticks_node(TRADES, TRADE_FIELDS) + """
  calc:
    ep: add_field
    in: src
    set:
      N: PRICE * SIZE
      M: if(SIZE > 500, N / 2, N)
      Q: SIZE / 4
      R: SIZE % 7 - 3
      S: -SIZE % 7
      F: PRICE % 2.5
      T: round(PRICE * 3, 1)
      BIG: N > 50000 and not (SIZE in (600, 900))
      LBL: "if(M > 30000, 'big', 'small') + '-' + string(SIZE)"
      PM: max(PRICE, SIZE / 10, 3)
      RT: sqrt(SIZE) + abs(50 - SIZE)
output: calc
"""
    cols = TRADE_FIELDS + [("N", "double"), ("M", "double"), ("Q", "double"), ("R", "int"),
                           ("S", "int"), ("F", "double"), ("T", "double"), ("BIG", "bool"),
                           ("LBL", "string"), ("PM", "double"), ("RT", "double")]
    rows = []
    for r in TRADES:
        r = dict(r)
        p, s = r["PRICE"], r["SIZE"]
        r["N"] = p * s
        r["M"] = r["N"] / 2 if s > 500 else r["N"]
        r["Q"] = s / 4
        r["R"] = c_mod(s, 7) - 3
        r["S"] = c_mod(-s, 7)
        r["F"] = math.fmod(p, 2.5)
        r["T"] = round_half_away(p * 3, 1)
        r["BIG"] = r["N"] > 50000 and not (s in (600, 900))
        r["LBL"] = ("big" if r["M"] > 30000 else "small") + "-" + str(s)
        r["PM"] = max(p, s / 10, 3.0)
        r["RT"] = math.sqrt(s) + abs(50 - s)
        rows.append(r)
    write_case("expr_add_field_chain", graph, csv(cols, rows))


# ---------------------------------------------------------------- update_field with where

def update_where():
    graph = header("update_field: `where` is decided on the incoming tick; entries apply in\n"
                   "order (PRICE sees the new SIZE); an int value is accepted for a double field.")
    graph += "nodes:\n" + ticks_node(TRADES, TRADE_FIELDS) + """
  upd:
    ep: update_field
    in: src
    where: SIZE >= 300 and PRICE < 110
    set:
      SIZE: SIZE * 2
      PRICE: SIZE + 1
      NAME: NAME + '*'
  all:
    ep: update_field
    in: upd
    set: {SIZE: "SIZE - SIZE[-1]"}  # quoted: [ ] inside { } are YAML syntax
output: all
"""
    rows, prev = [], 0
    for r in TRADES:
        r = dict(r)
        if r["SIZE"] >= 300 and r["PRICE"] < 110:
            r["SIZE"] = r["SIZE"] * 2
            r["PRICE"] = float(r["SIZE"] + 1)
            r["NAME"] = r["NAME"] + "*"
        updated = r["SIZE"]
        r["SIZE"] = updated - prev
        prev = updated
        rows.append(r)
    write_case("expr_update_where", graph, csv(TRADE_FIELDS, rows))


# ---------------------------------------------------------------- where: pass and fail

def where_ports():
    body = ticks_node(TRADES, TRADE_FIELDS) + """
  w:
    ep: where
    in: src
    if: SIZE > 250 or contains(NAME, 'é')
"""
    keep = [r for r in TRADES if r["SIZE"] > 250 or "é" in r["NAME"]]
    drop = [r for r in TRADES if not (r["SIZE"] > 250 or "é" in r["NAME"])]
    write_case("expr_where_pass", header("where: the default port is pass.") + "nodes:\n" +
               body + "output: w\n", csv(TRADE_FIELDS, keep))
    write_case("expr_where_fail", header("where: the ticks of port fail.") + "nodes:\n" + body +
               "output: w.fail\n", csv(TRADE_FIELDS, drop))


# ---------------------------------------------------------------- lag and lead

def lag_lead():
    graph = header("Lag at the first ticks and lead past the last ones (type defaults); the\n"
                   "golden runner's batch sizes 1 and 7 put batch boundaries between ticks.\n"
                   "CH reads an earlier entry's lead, W a lead in where.")
    graph += "nodes:\n" + ticks_node(TRADES, TRADE_FIELDS) + """
  lags:
    ep: add_field
    in: src
    set:
      PREV: SIZE[-1]
      P2: PRICE[-2]
      DIFF: SIZE - SIZE[-1]
      NEXT: SIZE[+1]
      N2: NAME[+2]
      CH: NEXT[+1] - PREV
      GAP: TIMESTAMP - TIMESTAMP[-1]
  w:
    ep: where
    in: lags
    if: SIZE[+1] > SIZE or SIZE[-1] == 0
output: w
"""
    cols = TRADE_FIELDS + [("PREV", "int"), ("P2", "double"), ("DIFF", "int"), ("NEXT", "int"),
                           ("N2", "string"), ("CH", "int"), ("GAP", "duration")]
    n = len(TRADES)
    size = lambda i: TRADES[i]["SIZE"] if 0 <= i < n else 0
    rows = []
    for i, r in enumerate(TRADES):
        r = dict(r)
        r["PREV"] = size(i - 1)
        r["P2"] = TRADES[i - 2]["PRICE"] if i >= 2 else float("nan")
        r["DIFF"] = r["SIZE"] - size(i - 1)
        r["NEXT"] = size(i + 1)
        r["N2"] = TRADES[i + 2]["NAME"] if i + 2 < n else ""
        next_of_next = size(i + 2) if i + 1 < n else 0  # NEXT on tick i+1, default past the end
        r["CH"] = next_of_next - r["PREV"]
        r["GAP"] = r["TIMESTAMP"] - (TRADES[i - 1]["TIMESTAMP"] if i > 0 else 0)
        if size(i + 1) > r["SIZE"] or size(i - 1) == 0:
            rows.append(r)
    write_case("expr_lag_lead", graph, csv(cols, rows))


# ---------------------------------------------------------------- parameters

PARAM_GRAPH = """params:
  MIN: {type: int, default: 300}
  RATIO: {type: double, default: 0.5}
  TAG: {type: string, default: "t-"}
  STEP: {type: duration, default: 1s}
  T0: {type: time, default: "2024-01-02 09:30:02"}
  LOUD: {type: bool, default: false}
nodes:
""" + ticks_node(TRADES, TRADE_FIELDS) + """
  p:
    ep: add_field
    in: src
    set:
      SCALED: PRICE * $RATIO
      TAGGED: $TAG + NAME
      LATE: TIMESTAMP >= $T0 + $STEP
      SHOUT: if($LOUD, upper(NAME), NAME)
  big:
    ep: where
    in: p
    if: SIZE >= $MIN
output: big
"""


def params_case(name, comment, args, minimum, ratio, tag, step, t0, loud):
    cols = TRADE_FIELDS + [("SCALED", "double"), ("TAGGED", "string"), ("LATE", "bool"),
                           ("SHOUT", "string")]
    rows = []
    for r in TRADES:
        if r["SIZE"] < minimum:
            continue
        r = dict(r)
        r["SCALED"] = r["PRICE"] * ratio
        r["TAGGED"] = tag + r["NAME"]
        r["LATE"] = r["TIMESTAMP"] >= t0 + step
        # upper() changes ASCII letters only
        r["SHOUT"] = "".join(c.upper() if c.isascii() else c for c in r["NAME"]) if loud else r["NAME"]
        rows.append(r)
    write_case(name, header(comment) + PARAM_GRAPH, csv(cols, rows), args)


def params():
    params_case("expr_params_default", "$NAME in expressions with the declared defaults.",
                ("--format", "csv"), 300, 0.5, "t-", NS, t("2024-01-02 09:30:02"), False)
    params_case("expr_params_override", "$NAME in expressions, values given with --param.",
                ("--format", "csv", "--param", "MIN=700", "--param", "RATIO=2",
                 "--param", "TAG=x,", "--param", "STEP=500ms", "--param",
                 "T0=2024-01-02T09:30:03Z", "--param", "LOUD=true"),
                700, 2.0, "x,", NS // 2, t("2024-01-02 09:30:03"), True)


# ---------------------------------------------------------------- ${NAME} in a path, range

def csv_path_and_range():
    data = "TIMESTAMP,PRICE,SIZE\n" + "".join(
        f"{fmt_time(BASE + i * 500_000_000)},{fmt_double(10 + i * 0.5)},{i * 10}\n"
        for i in range(12))
    graph = header("${NAME} in a csv path, and --start/--end (overriding `range`) clipping\n"
                   "what the source emits to [start, end).") + """params:
  DAY: {type: string, default: "missing-day"}
range: {start: "2024-01-02 09:00:00", end: "2024-01-02 10:00:00"}
nodes:
  src:
    ep: csv
    path: trades-${DAY}.csv
    fields: {PRICE: double, SIZE: int}
  v:
    ep: add_field
    in: src
    set:
      V: PRICE * SIZE
      FIRST: SIZE[-1] == 0
output: v
"""
    start, end = t("2024-01-02 09:30:01"), t("2024-01-02 09:30:04")
    rows, prev = [], 0
    for i in range(12):
        ts = BASE + i * 500_000_000
        if not (start <= ts < end):
            continue
        r = {"TIMESTAMP": ts, "PRICE": 10 + i * 0.5, "SIZE": i * 10}
        r["V"] = r["PRICE"] * r["SIZE"]
        r["FIRST"] = prev == 0
        prev = r["SIZE"]
        rows.append(r)
    cols = [("PRICE", "double"), ("SIZE", "int"), ("V", "double"), ("FIRST", "bool")]
    write_case("expr_csv_path_range", graph, csv(cols, rows),
               ("--format", "csv", "--param", "DAY=20240102", "--start", "2024-01-02 09:30:01",
                "--end", "2024-01-02 09:30:04"),
               {"trades-20240102.csv": data})


# ---------------------------------------------------------------- strings

def strings():
    graph = header("String functions on UTF-8 text: len and substr count bytes, upper and\n"
                   "lower change ASCII letters only; escapes in string literals.")
    graph += "nodes:\n" + ticks_node(TRADES[:8], TRADE_FIELDS) + """
  s:
    ep: add_field
    in: src
    set:
      L: len(NAME)
      U: upper(NAME)
      LO: lower(NAME)
      HEAD: substr(NAME, 0, 3)
      TAIL: substr(NAME, -3)
      HAS: contains(NAME, 'ü') or starts_with(NAME, '日') or ends_with(NAME, 'E')
      TICK: NAME + '✓'
      ESC: "'\\\\u00e9|\\\\t|' + string(SIZE) + '|' + string(PRICE)"
      IN: NAME in ('Zürich', '日本')
      LESS: NAME < 'b'
      EMPTY: len(substr(NAME, 2, 0)) == 0 and contains(NAME, '')
"""
    cols = TRADE_FIELDS + [("L", "int"), ("U", "string"), ("LO", "string"), ("HEAD", "string"),
                           ("TAIL", "string"), ("HAS", "bool"), ("TICK", "string"),
                           ("ESC", "string"), ("IN", "bool"), ("LESS", "bool"),
                           ("EMPTY", "bool")]
    ascii_map = lambda s, f: "".join(f(c) if c.isascii() else c for c in s)
    rows = []
    for r in TRADES[:8]:
        r = dict(r)
        b = r["NAME"].encode()
        r["L"] = len(b)
        r["U"] = ascii_map(r["NAME"], str.upper)
        r["LO"] = ascii_map(r["NAME"], str.lower)
        r["HEAD"] = b[:3].decode()
        r["TAIL"] = b[max(0, len(b) - 3):].decode()
        r["HAS"] = "ü" in r["NAME"] or r["NAME"].startswith("日") or r["NAME"].endswith("E")
        r["TICK"] = r["NAME"] + "✓"
        r["ESC"] = "é|\t|" + str(r["SIZE"]) + "|" + fmt_double(r["PRICE"])
        r["IN"] = r["NAME"] in ("Zürich", "日本")
        r["LESS"] = b < b"b"
        r["EMPTY"] = True
        rows.append(r)
    write_case("expr_strings_unicode", graph + "output: s\n", csv(cols, rows))


# ---------------------------------------------------------------- time functions

def times():
    stamps = ["1969-12-31 23:00:00.5", "1970-01-01 00:00:00", "2023-12-31 23:59:59.999999999",
              "2024-01-01 00:00:00", "2024-02-29 12:34:56.789", "2024-02-29 12:44:59",
              "2024-03-01 00:07:30.25"]
    data = [{"TIMESTAMP": t(s), "K": i} for i, s in enumerate(stamps)]
    graph = header("Time functions in UTC, also before 1970 (rounding down), time and duration\n"
                   "arithmetic; durations print as integer nanoseconds.")
    graph += "nodes:\n" + ticks_node(data, [("K", "int")]) + """
  tf:
    ep: add_field
    in: src
    set:
      Y: year(TIMESTAMP)
      MO: month(TIMESTAMP)
      D: day(TIMESTAMP)
      H: hour(TIMESTAMP)
      MI: minute(TIMESTAMP)
      S: second(TIMESTAMP)
      DT: date(TIMESTAMP)
      FT: floor_time(TIMESTAMP, 15m)
      SEC: seconds(TIMESTAMP - date(TIMESTAMP))
      LATER: TIMESTAMP + 90m - 250ms * 2
      SINCE: TIMESTAMP - time('2024-01-01 00:00:00')
      GAP: string(TIMESTAMP - TIMESTAMP[-1])
      NS: nanos(TIMESTAMP) % 1000
      IS24: TIMESTAMP >= time('2024-01-01') and TIMESTAMP < time('2025-01-01')
"""
    cols = [("K", "int"), ("Y", "int"), ("MO", "int"), ("D", "int"), ("H", "int"),
            ("MI", "int"), ("S", "int"), ("DT", "time"), ("FT", "time"), ("SEC", "double"),
            ("LATER", "time"), ("SINCE", "duration"), ("GAP", "string"), ("NS", "int"),
            ("IS24", "bool")]
    rows = []
    for i, r in enumerate(data):
        r = dict(r)
        ts = r["TIMESTAMP"]
        secs = ts // NS  # floor, also before 1970
        d = EPOCH + datetime.timedelta(seconds=secs)
        r.update(Y=d.year, MO=d.month, D=d.day, H=d.hour, MI=d.minute, S=d.second)
        day = 86400 * NS
        r["DT"] = ts // day * day
        r["FT"] = ts // (15 * 60 * NS) * (15 * 60 * NS)
        r["SEC"] = (ts - r["DT"]) / NS
        r["LATER"] = ts + 90 * 60 * NS - 500_000_000
        r["SINCE"] = ts - t("2024-01-01 00:00:00")
        r["GAP"] = duration_text(ts - (data[i - 1]["TIMESTAMP"] if i > 0 else 0))
        r["NS"] = c_mod(ts, 1000)
        r["IS24"] = t("2024-01-01 00:00:00") <= ts < t("2025-01-01 00:00:00")
        rows.append(r)
    write_case("expr_time_functions", graph + "output: tf\n", csv(cols, rows))


if __name__ == "__main__":
    add_field_chain()
    update_where()
    where_ports()
    lag_lead()
    params()
    csv_path_and_range()
    strings()
    times()
    print("wrote the expr_* golden cases under", GOLDEN)
