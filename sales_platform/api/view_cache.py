"""Answers the dashboard asks for again and again, kept until the table changes.

The data behind /analytics and /trends changes a few times a day (a store's file, the daily
analysis), while a dashboard polls it. When the table can tell cheaply that nothing was
written (SQLite: the database files did not move), an answer is reused until it does, for at
most a minute; otherwise (DynamoDB) for API_CACHE_SECONDS. An answer found out of date is still
served to others while one request computes the new one, so a refresh never makes a crowd of
requests wait, and requests for an answer not computed yet share one computation.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")
MAX_ENTRIES = 512
# A change token misses a write only if two land within one clock tick with the same file
# sizes; the answer is recomputed after this long anyway.
MAX_UNCHANGED_SECONDS = 60.0
# The token is looked at no more often than this: a busy dashboard costs a few stat calls a
# second, and a write shows within a tenth of a second.
TOKEN_CHECK_SECONDS = 0.1


@dataclass
class _Entry(Generic[T]):
    value: T
    computed_at: float
    token: object | None
    refreshing: bool = False


class ViewCache(Generic[T]):
    def __init__(
        self,
        ttl_seconds: float,
        change_token: Callable[[], object | None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._change_token = change_token
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()
        self._pending: dict[Hashable, asyncio.Future[T]] = {}
        self._token: object | None = None
        self._token_checked_at = float("-inf")

    def _current_token(self) -> object | None:
        now = self._clock()
        if now - self._token_checked_at >= TOKEN_CHECK_SECONDS:
            self._token, self._token_checked_at = self._change_token(), now
        return self._token

    def _fresh(self, entry: _Entry[T], token: object | None) -> bool:
        age = self._clock() - entry.computed_at
        if token is not None:
            return token == entry.token and age < MAX_UNCHANGED_SECONDS
        return age < self.ttl_seconds

    async def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value for `key`, computing it in the thread pool when missing or out of
        date. `compute` runs in a worker thread: it may block on the table."""
        if self.ttl_seconds <= 0:
            return await run_in_threadpool(compute)
        token = self._current_token()
        entry = self._entries.get(key)
        if entry is not None:
            if entry.refreshing or self._fresh(entry, token):
                return entry.value
            entry.refreshing = True
            try:
                return self._store(key, await run_in_threadpool(compute), token)
            finally:
                entry.refreshing = False
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = self._store(key, await run_in_threadpool(compute), token)
        except Exception as error:
            future.set_exception(error)
            future.exception()  # nobody else may be waiting; do not warn about it
            raise
        except BaseException:  # cancelled: the waiters are too
            future.cancel()
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._pending[key]

    def _store(self, key: Hashable, value: T, token: object | None) -> T:
        # The token read before computing: a write during the computation makes the next
        # request compute again rather than trust an answer that may have missed it.
        self._entries[key] = _Entry(value, self._clock(), token)
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
        return value
