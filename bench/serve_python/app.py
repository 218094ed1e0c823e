"""The founding design of the statistics service, in Python, as the peer of `tickflow serve`
in bench/serve.sh: FastAPI + uvicorn (Debian's python3-fastapi, python3-uvicorn), per symbol
a base-10 power tree with Chan merges (never subtracting), a per-symbol asyncio lock, and the
merged result per k cached until the next push. Same endpoints, shapes and limits as SPEC §12.

    /usr/bin/python3 -m uvicorn app:app --app-dir bench/serve_python --host 127.0.0.1 --port 8001
"""
import asyncio
import math
import os
from collections import deque
from typing import List

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Extra, validator

MAX_K = int(os.environ.get("SERVE_MAX_K", "8"))
MAX_SYMBOLS = int(os.environ.get("SERVE_MAX_SYMBOLS", "10"))


def merge(a, b):
    """Chan et al.: (count, mean, m2, min, max) of two disjoint sets."""
    if a is None:
        return b
    na, ma, m2a, lo_a, hi_a = a
    nb, mb, m2b, lo_b, hi_b = b
    n = na + nb
    delta = mb - ma
    share = nb / n
    return (n, ma + delta * share, m2a + m2b + delta * delta * na * share,
            lo_a if lo_a < lo_b else lo_b, hi_a if hi_a > hi_b else hi_b)


def aggregate(values):
    n = len(values)
    mean = math.fsum(values) / n
    return (n, mean, math.fsum((x - mean) ** 2 for x in values), min(values), max(values))


class PowerTree:
    """The last 10^max_k values and, per level j, aggregates of complete aligned blocks of 10^j."""

    def __init__(self, max_k):
        self.capacity = 10 ** max_k
        self.values = deque(maxlen=self.capacity)
        self.size = 0
        self.levels = [None] + [deque(maxlen=self.capacity // 10 ** j + 1) for j in range(1, max_k + 1)]
        self.open = [None] * (max_k + 1)  # open[j]: merged complete level-(j-1) blocks of level j
        self.open_count = [0] * (max_k + 1)

    def append(self, batch):
        values, levels = self.values, self.levels
        for x in batch:
            values.append(x)
            self.size += 1
            if self.size % 10 == 0:
                block = aggregate(list(values)[-10:]) if len(values) < 10 else aggregate(
                    [values[-i] for i in range(10, 0, -1)])
                self._complete(1, block)

    def _complete(self, level, block):
        self.levels[level].append(block)
        if level + 1 >= len(self.levels):
            return
        self.open[level + 1] = merge(self.open[level + 1], block)
        self.open_count[level + 1] += 1
        if self.open_count[level + 1] == 10:
            done, self.open[level + 1], self.open_count[level + 1] = self.open[level + 1], None, 0
            self._complete(level + 1, done)

    def _block(self, level, index):
        ring = self.levels[level]
        first = self.size // 10 ** level - len(ring)
        if index < first:
            return None
        return ring[index - first]

    def last(self, window):
        n = self.size
        window = min(window, n, self.capacity)
        position, result = n - window, None
        oldest = n - len(self.values)
        while position < n:
            level, size = 0, 1
            while level + 1 < len(self.levels):
                bigger = size * 10
                if position % bigger or position + bigger > n:
                    break
                level, size = level + 1, bigger
            block = self._block(level, position // size) if level else None
            if block is None:
                x = self.values[position - oldest]
                block, size = (1, x, 0.0, x, x), 1
            result = merge(result, block)
            position += size
        return result


class Symbol:
    def __init__(self):
        self.lock = asyncio.Lock()
        self.tree = PowerTree(MAX_K)
        self.cache = {}


class Batch(BaseModel):
    symbol: str
    values: List[float]

    class Config:
        extra = Extra.forbid

    @validator("values", each_item=True)
    def finite(cls, v):
        if not math.isfinite(v):
            raise ValueError("not a finite number")
        return v


app = FastAPI(title="founding design (Python)")
symbols = {}


@app.post("/add_batch/")
async def add_batch(batch: Batch):
    if not batch.values or len(batch.values) > 10000:
        raise HTTPException(422, "batch must hold 1..10000 values")
    if not batch.symbol or len(batch.symbol.encode()) > 64:
        raise HTTPException(422, "symbol must be 1..64 bytes")
    symbol = symbols.get(batch.symbol)
    if symbol is None:
        if len(symbols) >= MAX_SYMBOLS:
            raise HTTPException(422, "too many symbols")
        symbol = symbols[batch.symbol] = Symbol()
    async with symbol.lock:
        symbol.tree.append(batch.values)
        symbol.cache.clear()
        count = min(symbol.tree.size, symbol.tree.capacity)
    return {"symbol": batch.symbol, "added": len(batch.values), "count": count}


@app.get("/stats/")
async def stats(symbol: str, k: int):
    if not 1 <= k <= MAX_K:
        raise HTTPException(422, f"k outside 1..{MAX_K}")
    entry = symbols.get(symbol)
    if entry is None:
        raise HTTPException(404, "symbol never pushed")
    async with entry.lock:
        cached = entry.cache.get(k)
        if cached is None:
            n, mean, m2, lo, hi = entry.tree.last(10 ** k)
            cached = entry.cache[k] = {
                "symbol": symbol, "k": k, "count": n, "min": lo, "max": hi,
                "last": entry.tree.values[-1], "avg": mean,
                "var": m2 / (n - 1) if n > 1 else None}
    return JSONResponse(cached)
