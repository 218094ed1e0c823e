#!/usr/bin/python3
"""pandas baseline of the expression benchmark (bench/expressions.sh):

    /usr/bin/python3 bench/expr_pandas.py DATA_DIR

Reads the PRICE and SIZE columns expr_bench wrote (raw float64 / int64 arrays), then times
N = PRICE * SIZE, M = if(SIZE > 500, N / 2, N) and the filter N > 1000 (median of 5 runs).
"""
import statistics
import sys
import time

import numpy as np
import pandas as pd


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    data = sys.argv[1]
    frame = pd.DataFrame({"PRICE": np.fromfile(f"{data}/price.f64", dtype=np.float64),
                          "SIZE": np.fromfile(f"{data}/size.i64", dtype=np.int64)})
    times = []
    for _ in range(5):
        df = frame.copy()
        start = time.perf_counter()
        df["N"] = df["PRICE"] * df["SIZE"]
        df["M"] = np.where(df["SIZE"] > 500, df["N"] / 2, df["N"])
        passed = df[df["N"] > 1000]
        times.append(time.perf_counter() - start)
    ticks = len(frame)
    print(f"pandas_ns_per_tick {statistics.median(times) * 1e9 / ticks:.2f} "
          f"(passed {len(passed)}, pandas {pd.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
