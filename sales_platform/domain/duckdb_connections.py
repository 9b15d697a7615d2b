"""One DuckDB database per process, and a fresh connection to it for every use.

Opening a DuckDB database costs about 15 ms, as much as validating a store's day; a connection
to an open one costs well under one. Each connection keeps its own settings (the time zone) and
its own temporary tables, so one use never sees another's.
"""

from __future__ import annotations

import threading

import duckdb

_lock = threading.Lock()
_database: duckdb.DuckDBPyConnection | None = None


def connection() -> duckdb.DuckDBPyConnection:
    global _database
    with _lock:
        if _database is None:
            # Reading a file keeps its records in order, so problems are reported by row.
            _database = duckdb.connect(config={"preserve_insertion_order": True})
        return _database.cursor()
