"""The metrics table interface: DynamoDB's single-table design, also served by SQLite.

Items are dicts carrying `PK` and `SK` (and optionally `GSI1PK`/`GSI1SK`) next to their
attributes. Numbers come back as `int` when integral and `Decimal` otherwise in both
backends, so money stays exact on its way through.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from typing import Any

Item = dict[str, Any]
KEY_ATTRIBUTES = ("PK", "SK")
INDEX_ATTRIBUTES = ("GSI1PK", "GSI1SK")


class MetricsTable(abc.ABC):
    description: str

    @abc.abstractmethod
    def put_items(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Create or replace each item by (PK, SK); returns how many were written."""

    @abc.abstractmethod
    def get_item(self, pk: str, sk: str) -> Item | None:
        """One item by its full key."""

    @abc.abstractmethod
    def query(self, pk: str, sk_prefix: str = "") -> list[Item]:
        """All items of a partition key whose SK starts with `sk_prefix`, in SK order, all pages."""

    @abc.abstractmethod
    def query_index(self, gsi1pk: str, gsi1sk_prefix: str = "") -> list[Item]:
        """All items of a GSI1 partition whose GSI1SK starts with the prefix, in GSI1SK order."""

    def query_sort_keys(self, pk: str, sk_prefix: str = "") -> list[str]:
        """Only the SKs of `query(pk, sk_prefix)`, in order: enough to know which days exist
        without reading whole items. Backends override it to fetch the keys alone."""
        return [item["SK"] for item in self.query(pk, sk_prefix)]

    @abc.abstractmethod
    def delete_items(self, keys: Iterable[tuple[str, str]]) -> int:
        """Remove items by (PK, SK); missing ones are ignored; returns how many were asked."""

    def replace_items(self, pk: str, sk_prefix: str, items: Iterable[Mapping[str, Any]]) -> int:
        """Make the items under (pk, sk_prefix) exactly `items`: a rerun that yields fewer items
        than the last one leaves none of the old ones behind."""
        items = list(items)
        for item in items:
            if item["PK"] != pk or not item["SK"].startswith(sk_prefix):
                raise ValueError(f"item {item['PK']}/{item['SK']} is outside {pk}/{sk_prefix}*")
        keep = {item["SK"] for item in items}
        stale = [(pk, old["SK"]) for old in self.query(pk, sk_prefix) if old["SK"] not in keep]
        written = self.put_items(items)
        self.delete_items(stale)
        return written

    def change_token(self) -> object | None:
        """A value that changes whenever anything is written to the table, by any process, or
        None when that cannot be known cheaply (readers then fall back to a time limit)."""
        return None

    def ping(self) -> None:
        """Raise if the table cannot be reached."""
        self.get_item("HEALTH#CHECK", "HEALTH#CHECK")
