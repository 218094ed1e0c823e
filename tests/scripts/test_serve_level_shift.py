#!/usr/bin/env python3
"""SPEC §18 over HTTP: a symbol whose values move from ~1e9 to ~1 (and back) keeps avg within
1e-9 of the mean of |x| and var within 1e-9 relative of the exact variance, checked against
rational arithmetic for every k after every batch around the shifts."""
import argparse
import random
import sys
from fractions import Fraction

from script_checks import check, summary
from serve_support import Server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir")
    parser.add_argument("--build-dir")
    opts = parser.parse_args()
    rnd = random.Random(3)
    history = []
    worst_var = worst_avg = 0.0
    with Server(opts.tickflow, ["--threads", "2", "--max-k", "4"]) as server:
        for level, spread, batches in ((1e9, 1.0, 15), (1.0, 1e-4, 15), (1e9, 1e-3, 15), (1e-3, 1e-9, 15)):
            for _ in range(batches):
                values = [level + rnd.uniform(-spread, spread) for _ in range(1000)]
                status, _ = server.json("POST", "/add_batch/", {"symbol": "SHIFT", "values": values})
                history.extend(values)
                for k in (1, 2, 3, 4):
                    status, got = server.json("GET", f"/stats/?symbol=SHIFT&k={k}")
                    window = [Fraction(v) for v in history[-10 ** k:]]
                    n = len(window)
                    mean = sum(window) / n
                    var = sum((x - mean) ** 2 for x in window) / (n - 1)
                    mean_abs = sum(abs(x) for x in window) / n
                    worst_avg = max(worst_avg, float(abs(Fraction(got["avg"]) - mean) / mean_abs))
                    worst_var = max(worst_var, float(abs(Fraction(got["var"]) - var) / var))
        server.stop()
    check("level shifts: avg within 1e-9 of mean |x|", worst_avg <= 1e-9, f"worst {worst_avg:.3g}")
    check("level shifts: var within 1e-9 relative", worst_var <= 1e-9, f"worst {worst_var:.3g}")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
