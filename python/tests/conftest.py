"""Shared helpers of the Python package tests. Run through ctest (PYTHONPATH = build/python), or
by hand: PYTHONPATH=build/python /usr/bin/python3 -m pytest python/tests"""
import pathlib

import pytest

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def source_dir():
    return SOURCE_DIR


def trades_query(count=200, symbols=None, extra_nodes=None, output=None):
    """A query dict: `generate` trades, then extra nodes."""
    q = {"tickflow": 1, "nodes": {"trades": {"ep": "generate", "kind": "trades",
                                             "count": count, "seed": 7}}}
    if symbols:
        q["symbols"] = symbols
    q["nodes"].update(extra_nodes or {})
    if output:
        q["output"] = output
    return q
