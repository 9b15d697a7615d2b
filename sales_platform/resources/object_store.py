"""The bucket interface: one set of operations over a local folder or an S3 bucket.

Keys are plain strings such as `uploads/store_0001_2025-11-27.json`, identical in both
backends, so every layout rule lives above this interface and not in a backend.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


class ObjectNotFound(KeyError):
    """The key does not exist in the bucket."""

    def __str__(self) -> str:  # KeyError quotes its argument; the key alone reads better
        return f"no object at {self.args[0]}"


class ObjectIsLink(ObjectNotFound):
    """The key names a symbolic link (a local folder bucket), which is never read: its target
    may be anywhere on the machine. To whoever reads, it is as good as missing."""

    def __str__(self) -> str:
        return f"{self.args[0]} is, or lies in a folder that is, a symbolic link, which the bucket never follows"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: dt.datetime  # timezone-aware, UTC
    # Changes whenever the object is written again, even with the same bytes, so that a
    # re-upload is seen as a new version (S3: ETag and LastModified; local: mtime and size).
    version: str
    # A symbolic link in a local folder bucket: listed so it can be refused with a reason, never
    # read (size and time are the link's own). S3 has no links.
    is_link: bool = False

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def arrival(self) -> tuple[dt.datetime, str]:
        """Sorts files oldest first, the key breaking a tie of times."""
        return self.last_modified, self.key


class ObjectStore(abc.ABC):
    """A bucket. Implementations must make `write_*` atomic: a reader sees the old object or
    the whole new one, never part of it."""

    description: str

    @abc.abstractmethod
    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, in key order, fetched page by page."""

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """The object's info, or None when it does not exist."""

    @abc.abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The object's content; raises ObjectNotFound."""

    @abc.abstractmethod
    def local_copy(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A context manager yielding a local file path holding the object's bytes, for readers
        that need a real file (DuckDB, pyarrow). Raises ObjectNotFound."""

    @abc.abstractmethod
    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> ObjectInfo:
        """Create or replace the object atomically."""

    @abc.abstractmethod
    def write_file(self, key: str, path: Path, content_type: str | None = None) -> ObjectInfo:
        """Create or replace the object from a local file, atomically, without loading it whole."""

    @abc.abstractmethod
    def copy(self, source: str, destination: str) -> None:
        """Copy an object within the bucket; raises ObjectNotFound."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""

    def move(self, source: str, destination: str) -> None:
        """Copy then delete: the object exists at one of the two keys at every moment."""
        self.copy(source, destination)
        self.delete(source)

    def move_link(self, source: str, destination: str) -> None:
        """Move a symbolic link itself (never what it points at) to another key, so that a link
        found in the inbox can be set aside with its refusal. Only a folder bucket has links."""
        raise ObjectNotFound(source)

    def open_for_writing(self, keys: Iterable[str]) -> set[str]:
        """The keys among `keys` that a process still holds open for writing: a local file being
        written in place, paused or not. S3 shows an object only once it is whole: none."""
        return set()

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def ping(self) -> None:
        """Raise if the bucket cannot be reached (or listed)."""
        next(iter(self.list(".health-check/")), None)

    def presigned_url(
        self, method: str, key: str, expires_in: int, content_disposition: str | None = None
    ) -> str | None:
        """A URL that lets anyone holding it PUT (`method` "PUT") or GET the object until it
        expires, a GET answered with `content_disposition`; None when the backend cannot sign
        URLs itself (a local folder: the API signs its own)."""
        return None
