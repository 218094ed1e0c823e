"""Exceptions of the tickflow package and the located diagnostics they carry."""


class Error(Exception):
    """Base class of tickflow's own exceptions."""


class Diagnostic(tuple):
    """One load-time problem: a tuple ``(file, line, column, message)``.

    Also has ``path``: for a query built from a dict, the key path of the offending key or
    value (``"nodes.big.if"``; ``file`` and ``line`` are then None and ``column`` is the
    1-based position inside that value's text, when the problem is inside an expression),
    ``snippet`` (the caret lines under an expression) and ``text`` (the CLI's form).
    """

    def __new__(cls, file, line, column, message, path=None, snippet=(), text=None):
        self = super().__new__(cls, (file, line, column, message))
        self.path = path
        self.snippet = list(snippet)
        self.text = text if text is not None else message
        return self

    file = property(lambda self: self[0])
    line = property(lambda self: self[1])
    column = property(lambda self: self[2])
    message = property(lambda self: self[3])

    def __str__(self):
        return self.text

    def __repr__(self):
        return "Diagnostic(%r)" % self.text

    def __reduce__(self):  # pickled whole (errors travel back from worker processes)
        return (Diagnostic, (*self, self.path, self.snippet, self.text))


class QueryError(Error, ValueError):
    """A query that cannot be loaded or bound. ``diagnostics``: every problem found."""

    def __init__(self, diagnostics):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    def __reduce__(self):
        return (QueryError, (self.diagnostics,))


class RunError(Error, RuntimeError):
    """A query that failed while ticks flowed.

    ``node`` (id), ``symbol`` (None in a run without symbols), ``time`` (the offending
    tick's TIMESTAMP as a pandas Timestamp, or None), ``file``/``line``/``column`` of bad
    input data when known, ``message`` and the CLI's full text as ``str(error)``.
    """

    def __init__(self, message, node=None, symbol=None, time=None, file=None, line=None,
                 column=None, text=None):
        self.message = message
        self.node = node
        self.symbol = symbol
        self.time = time
        self.file = file
        self.line = line
        self.column = column
        super().__init__(text or message)

    def __reduce__(self):
        return (RunError, (self.message, self.node, self.symbol, self.time, self.file, self.line,
                           self.column, str(self)))


def _query_error(items):
    return QueryError([Diagnostic(i["file"], i["line"], i["column"], i["message"], i["path"],
                                  i["snippet"], i["text"]) for i in items])


def _run_error(info):
    time = info["time"]
    if time is not None:
        import pandas as pd
        time = pd.Timestamp(time, unit="ns")
    return RunError(info["message"], info["node"], info["symbol"], time, info["file"],
                    info["line"], info["column"], info["text"])
