"""Answers the dashboard asks for again and again, kept for API_CACHE_SECONDS.

The data behind /analytics and /trends changes a few times a day (a store's file, the daily
analysis), while a dashboard polls it. An answer older than the limit is still served while
one request reads the table again, so a refresh never makes a crowd of requests wait, and
requests for an answer not yet computed share one computation.
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


@dataclass
class _Entry(Generic[T]):
    value: T
    expires_at: float
    refreshing: bool = False


class ViewCache(Generic[T]):
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()
        self._pending: dict[Hashable, asyncio.Future[T]] = {}

    async def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value for `key`, computing it in the thread pool when missing or stale.
        `compute` runs in a worker thread: it may block on the table."""
        if self.ttl_seconds <= 0:
            return await run_in_threadpool(compute)
        entry = self._entries.get(key)
        if entry is not None:
            if entry.expires_at > self._clock() or entry.refreshing:
                return entry.value
            entry.refreshing = True
            try:
                return self._store(key, await run_in_threadpool(compute))
            finally:
                entry.refreshing = False
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = self._store(key, await run_in_threadpool(compute))
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

    def _store(self, key: Hashable, value: T) -> T:
        self._entries[key] = _Entry(value, self._clock() + self.ttl_seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
        return value
