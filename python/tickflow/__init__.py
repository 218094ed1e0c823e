"""tickflow: run tickflow queries from Python; ticks come back as pandas DataFrames.

    import tickflow as tf
    q = tf.Query.load("graphs/ohlcv_bars.yaml", params={"BAR": "5m"})
    bars = q.run(symbols=["AAPL", "MSFT"], threads=2)
    out = q.run(sources={"trades": trades_df})
    bars = tf.distributed.run(q, symbols=universe, client=dask_client)   # on a Dask cluster

See docs/python.md for the tutorial and the API reference.
"""
from ._errors import Diagnostic, Error, QueryError, RunError
from ._query import Query, eps
from ._tickflow import version
from . import distributed  # Dask itself is imported only when distributed.run is called

__all__ = ["Query", "QueryError", "RunError", "Error", "Diagnostic", "eps", "version", "distributed"]
