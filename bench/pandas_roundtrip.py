#!/usr/bin/python3
"""CSV round trip with pandas, the baseline for the engine-foundation benchmark.

    /usr/bin/python3 bench/pandas_roundtrip.py IN.csv OUT.csv [--no-dates]

Default: read_csv parses TIMESTAMP into datetime64[ns] (the same work as tickflow, which parses
every timestamp into ns since the epoch), then to_csv writes it back. pandas prints a
datetime64[ns] column with one format for the whole column, so timestamps come out as
`YYYY-MM-DD HH:MM:SS.nnnnnnnnn`, like tickflow's. Doubles are written with repr (shortest
round trip), so whole numbers print as `502.0` where tickflow prints `502`.

--no-dates: TIMESTAMP stays text (object column) — less work than tickflow does, for reference.
"""
import sys

import pandas as pd


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    if len(args) != 2 or not flags <= {"--no-dates"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    source, target = args
    if "--no-dates" in flags:
        frame = pd.read_csv(source)
    else:
        # ISO timestamps of one fixed format: pandas' fast ISO-8601 path parses them to ns.
        frame = pd.read_csv(source, parse_dates=["TIMESTAMP"])
        if str(frame["TIMESTAMP"].dtype) != "datetime64[ns]":
            raise SystemExit(f"TIMESTAMP was not parsed as datetime64[ns]: {frame['TIMESTAMP'].dtype}")
    frame.to_csv(target, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
