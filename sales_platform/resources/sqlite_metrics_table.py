"""The metrics table in one SQLite file, for a laptop and for tests.

The Dagster daemon, its run workers and the API open the same file from several processes and
threads. WAL mode lets readers carry on while one writer commits, a busy timeout makes a
second writer wait instead of failing, and each call opens its own short-lived connection, so
no connection is ever shared between threads or inherited across a fork.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from sales_platform.resources.metrics_table import Item, MetricsTable
from sales_platform.resources.table_values import from_stored, to_storable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    PK TEXT NOT NULL,
    SK TEXT NOT NULL,
    GSI1PK TEXT,
    GSI1SK TEXT,
    data TEXT NOT NULL,  -- the whole item as JSON, numbers in their exact decimal text
    PRIMARY KEY (PK, SK)
);
-- Partial, like DynamoDB's sparse index: items without GSI1 keys are not in it.
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (GSI1PK, GSI1SK) WHERE GSI1PK IS NOT NULL;
"""

_UPSERT = """
INSERT INTO items (PK, SK, GSI1PK, GSI1SK, data) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (PK, SK) DO UPDATE SET
    GSI1PK = excluded.GSI1PK, GSI1SK = excluded.GSI1SK, data = excluded.data
"""


def _to_json(value: Any) -> str:
    # json.dumps turns Decimal into float text or refuses it; writing the Decimal's own text
    # keeps 0.10 as 0.10. Values have been through to_storable, so no float, NaN or set.
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(key)}:{_to_json(inner)}" for key, inner in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_to_json(inner) for inner in value) + "]"
    raise TypeError(f"cannot store {type(value).__name__}")


def _from_json(text: str) -> Item:
    return from_stored(json.loads(text, parse_float=Decimal))


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with `prefix`, or None when
    there is none (empty prefix).

    `SK >= prefix AND SK < prefix_end(prefix)` selects exactly the prefix, unlike LIKE, for
    which `%` and `_` in a SKU are wildcards, and unlike `prefix || '\\uffff'`, which misses
    characters beyond the Basic Multilingual Plane. SQLite compares TEXT bytewise in UTF-8,
    which is code point order, the same order Python and DynamoDB use.
    """
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code <= 0x10FFFF:
            if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be stored; the next character is
                code = 0xE000
            return "".join(chars) + chr(code)
    return None


class SqliteMetricsTable(MetricsTable):
    def __init__(self, path: Path, busy_timeout_seconds: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout_seconds = busy_timeout_seconds
        self.description = f"sqlite {self.path}"
        self._wal_path = self.path.with_name(self.path.name + "-wal")
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; writes open their own, explicitly.
        return sqlite3.connect(self.path, timeout=self.busy_timeout_seconds, isolation_level=None)

    def _ensure_schema(self) -> None:
        with self._schema_lock:
            if self._schema_ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(self._open()) as connection:
                # Persistent in the file, so setting it once serves every later connection.
                self._enable_wal(connection)
                connection.executescript(_SCHEMA)
            self._schema_ready = True

    def _enable_wal(self, connection: sqlite3.Connection) -> None:
        # Switching a new file to WAL answers "database is locked" at once, without waiting
        # for the busy timeout, while another process (a run worker, the API) does the same.
        deadline = time.monotonic() + self.busy_timeout_seconds
        while True:
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self._ensure_schema()
        with contextlib.closing(self._open()) as connection:
            yield connection

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as connection:
            # IMMEDIATE takes the write lock up front (waiting up to the busy timeout). A
            # deferred transaction that reads first can fail at once with SQLITE_BUSY when
            # another writer commits in between, and the busy timeout does not help there.
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                # Some errors end the transaction inside SQLite already; a second ROLLBACK
                # would then raise and hide the error that matters.
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _select(self, sql: str, parameters: Iterable[Any]) -> list[Item]:
        with self._connection() as connection:
            return [_from_json(row[0]) for row in connection.execute(sql, tuple(parameters))]

    @staticmethod
    def _rows(items: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        # Every item is checked before the transaction starts, so one bad item writes nothing.
        rows = []
        for item in items:
            stored = to_storable(item)
            rows.append((stored["PK"], stored["SK"], stored.get("GSI1PK"), stored.get("GSI1SK"), _to_json(stored)))
        return rows

    def change_token(self) -> object | None:
        # Every commit appends to the write-ahead log and every checkpoint rewrites the file,
        # so their sizes and modification times move with each write: two stat calls, no query.
        token: list[tuple[int, int, int] | None] = []
        for path in (self.path, self._wal_path):
            try:
                stat = path.stat()
            except FileNotFoundError:
                token.append(None)
            else:
                token.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
        return tuple(token)

    def put_items(self, items: Iterable[Mapping[str, Any]]) -> int:
        rows = self._rows(items)
        if rows:
            with self._transaction() as connection:
                connection.executemany(_UPSERT, rows)
        return len(rows)

    def get_item(self, pk: str, sk: str) -> Item | None:
        found = self._select("SELECT data FROM items WHERE PK = ? AND SK = ?", (pk, sk))
        return found[0] if found else None

    @staticmethod
    def _range(column: str, prefix: str) -> tuple[str, list[str]]:
        end = prefix_end(prefix)
        if end is None:
            return "", []
        return f" AND {column} >= ? AND {column} < ?", [prefix, end]

    def query(self, pk: str, sk_prefix: str = "") -> list[Item]:
        condition, bounds = self._range("SK", sk_prefix)
        return self._select(f"SELECT data FROM items WHERE PK = ?{condition} ORDER BY SK", [pk, *bounds])

    def query_sort_keys(self, pk: str, sk_prefix: str = "") -> list[str]:
        condition, bounds = self._range("SK", sk_prefix)
        with self._connection() as connection:
            rows = connection.execute(f"SELECT SK FROM items WHERE PK = ?{condition} ORDER BY SK", [pk, *bounds])
            return [row[0] for row in rows]

    def query_index(self, gsi1pk: str, gsi1sk_prefix: str = "") -> list[Item]:
        condition, bounds = self._range("GSI1SK", gsi1sk_prefix)
        return self._select(
            f"SELECT data FROM items WHERE GSI1PK = ?{condition} ORDER BY GSI1SK, PK, SK", [gsi1pk, *bounds]
        )

    def delete_items(self, keys: Iterable[tuple[str, str]]) -> int:
        keys = [(pk, sk) for pk, sk in keys]
        if keys:
            with self._transaction() as connection:
                connection.executemany("DELETE FROM items WHERE PK = ? AND SK = ?", keys)
        return len(keys)

    def replace_items(self, pk: str, sk_prefix: str, items: Iterable[Mapping[str, Any]]) -> int:
        """As the base class, but in one transaction: a reader sees the old set or the new one,
        and two reruns of the same partition cannot interleave into a mix of both."""
        items = list(items)
        for item in items:
            if item["PK"] != pk or not item["SK"].startswith(sk_prefix):
                raise ValueError(f"item {item['PK']}/{item['SK']} is outside {pk}/{sk_prefix}*")
        rows = self._rows(items)
        condition, bounds = self._range("SK", sk_prefix)
        with self._transaction() as connection:
            found = connection.execute(f"SELECT SK FROM items WHERE PK = ?{condition}", [pk, *bounds])
            existing = {row[0] for row in found}
            connection.executemany(_UPSERT, rows)
            stale = existing - {row[1] for row in rows}
            connection.executemany("DELETE FROM items WHERE PK = ? AND SK = ?", [(pk, sk) for sk in stale])
        return len(rows)
