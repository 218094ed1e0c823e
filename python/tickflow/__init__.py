"""tickflow: run tickflow queries from Python; ticks come back as pandas DataFrames.

    import tickflow as tf
    q = tf.Query.load("graphs/ohlcv_bars.yaml", params={"BAR": "5m"})
    bars = q.run(symbols=["AAPL", "MSFT"], threads=2)
    out = q.run(sources={"trades": trades_df})

See docs/python.md for the tutorial and the API reference.
"""
from ._errors import Diagnostic, Error, QueryError, RunError
from ._query import Query, eps
from ._tickflow import version

__all__ = ["Query", "QueryError", "RunError", "Error", "Diagnostic", "eps", "version"]
