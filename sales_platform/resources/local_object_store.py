"""The bucket as a folder on disk, for a laptop and for tests."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from sales_platform.resources.object_store import ObjectInfo, ObjectNotFound, ObjectStore

# Writes land here first and are renamed into place, so a reader never sees half a file.
# Listing skips it; it sits on the same filesystem so the rename is atomic.
_STAGING = ".staging"


class LocalObjectStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.description = f"folder {self.root}"

    def ping(self) -> None:
        # Listing a missing folder yields nothing, which would look healthy.
        if not self.root.is_dir():
            raise FileNotFoundError(f"the bucket folder {self.root} does not exist")

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or "\\" in key or any(
            part in ("", ".", "..") for part in key.rstrip("/").split("/")
        ):
            raise ValueError(f"not a valid object key: {key!r}")
        if key.split("/", 1)[0] == _STAGING:
            raise ValueError(f"{_STAGING}/ is reserved")
        return self.root / key

    def _info(self, key: str, path: Path | str) -> ObjectInfo:
        stat = os.stat(path)
        return ObjectInfo(
            key=key,
            size=stat.st_size,
            last_modified=dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.timezone.utc),
            version=f"{stat.st_mtime_ns:x}-{stat.st_size:x}-{stat.st_ino:x}",
        )

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        # Walk only the deepest folder the prefix names instead of the whole bucket.
        folder_part = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / folder_part if folder_part else self.root
        if not start.is_dir():
            return
        for key, path in self._walk(start, folder_part, prefix):
            if key.startswith(prefix):
                try:
                    yield self._info(key, path)
                except FileNotFoundError:  # moved away between listing and stat
                    continue

    def _walk(self, directory: Path, base: str, prefix: str) -> Iterator[tuple[str, str]]:
        """(key, path) of every file below `directory`, in key order.

        os.walk yields a folder's files before its subfolders, which is not key order:
        `a/b/c` sorts before `a/c`. Sorting a subfolder as `name/` among the file names puts
        its keys exactly where they belong, since a file name never contains `/`. Subfolders
        that cannot hold a key with the prefix are not entered.
        """
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except FileNotFoundError:  # removed while walking
            return
        ranked = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if not (directory == self.root and entry.name == _STAGING):
                    ranked.append((entry.name + "/", entry))
            elif entry.is_file():
                ranked.append((entry.name, entry))
        for name, entry in sorted(ranked, key=lambda pair: pair[0]):
            key = f"{base}/{name}" if base else name
            if name.endswith("/"):
                if key.startswith(prefix) or prefix.startswith(key):
                    yield from self._walk(Path(entry.path), key.rstrip("/"), prefix)
            else:
                yield key, entry.path  # a plain string: a Path per file costs more than the stat

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            return self._info(key, path) if path.is_file() else None
        except FileNotFoundError:
            return None

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectNotFound(key) from None

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        yield path

    def _staging_file(self) -> Path:
        staging = self.root / _STAGING
        staging.mkdir(parents=True, exist_ok=True)
        return staging / uuid.uuid4().hex

    def _publish(self, key: str, staged: Path) -> ObjectInfo:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        return self._info(key, target)

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> ObjectInfo:
        self._path(key)  # refuse a bad key before writing anything
        staged = self._staging_file()
        try:
            with open(staged, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            return self._publish(key, staged)
        finally:
            staged.unlink(missing_ok=True)

    def write_file(self, key: str, path: Path, content_type: str | None = None) -> ObjectInfo:
        self._path(key)
        staged = self._staging_file()
        try:
            shutil.copyfile(path, staged)
            return self._publish(key, staged)
        finally:
            staged.unlink(missing_ok=True)

    def copy(self, source: str, destination: str) -> None:
        source_path = self._path(source)
        if not source_path.is_file():
            raise ObjectNotFound(source)
        self.write_file(destination, source_path)

    def move(self, source: str, destination: str) -> None:
        source_path = self._path(source)
        if not source_path.is_file():
            raise ObjectNotFound(source)
        target = self._path(destination)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source_path, target)  # one rename: atomic on one filesystem

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
