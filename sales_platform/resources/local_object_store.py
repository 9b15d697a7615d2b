"""The bucket as a folder on disk, for a laptop and for tests.

Nothing is read, copied or written through a symbolic link inside the folder: a link is listed
as what it is (`ObjectInfo.is_link`) and refused when anyone tries to read it, so a link to a
file outside the bucket (/etc/passwd, say) can never be ingested, copied into rejected/ or
downloaded. Paths are walked one folder at a time with O_NOFOLLOW, so a link swapped in for a
folder is not followed either.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import shutil
import stat
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from sales_platform.domain.identifiers import is_object_key
from sales_platform.resources.object_store import ObjectInfo, ObjectIsLink, ObjectNotFound, ObjectStore
from sales_platform.resources.open_files import held_for_writing

# Writes land here first and are renamed into place, so a reader never sees half a file.
# Listing skips it; it sits on the same filesystem so the rename is atomic.
_STAGING = ".staging"
# A staged file nobody holds locked and untouched this long was left by a process that died.
_ABANDONED_AFTER_SECONDS = 60
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
# O_NONBLOCK: opening a FIFO someone left in the folder must not wait for a writer.
_REGULAR_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
_LINK_ERRORS = (errno.ELOOP, errno.EMLINK)


def _close_quietly(descriptor: int) -> None:
    with contextlib.suppress(OSError):
        os.close(descriptor)


class LocalObjectStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.description = f"folder {self.root}"

    def ping(self) -> None:
        # Listing a missing folder yields nothing, which would look healthy.
        if not self.root.is_dir():
            raise FileNotFoundError(f"the bucket folder {self.root} does not exist")

    def _path(self, key: str) -> Path:
        if not is_object_key(key):
            raise ValueError(f"not a valid object key: {key!r}")
        if key.split("/", 1)[0] == _STAGING:
            raise ValueError(f"{_STAGING}/ is reserved")
        return self.root / key

    # ------------------------------------------------------------------ paths without links

    def _folder(self, key: str, folders: list[str], create: bool = False) -> int:
        """A descriptor of the folder `folders` names below the root, reached without following
        any link; raises ObjectIsLink for a link on the way, ObjectNotFound for a missing one."""
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(self.root, _DIRECTORY)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        try:
            for name in folders:
                try:
                    inner = os.open(name, _DIRECTORY, dir_fd=descriptor)
                except FileNotFoundError:
                    if not create:
                        raise ObjectNotFound(key) from None
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, dir_fd=descriptor)
                    inner = os.open(name, _DIRECTORY, dir_fd=descriptor)
                except OSError as error:
                    if error.errno in _LINK_ERRORS or (
                        error.errno == errno.ENOTDIR and self._is_link(descriptor, name)
                    ):
                        raise ObjectIsLink(key) from None
                    if error.errno == errno.ENOTDIR:
                        raise ObjectNotFound(key) from None
                    raise
                os.close(descriptor)
                descriptor = inner
            return descriptor
        except BaseException:
            os.close(descriptor)
            raise

    @staticmethod
    def _is_link(folder: int, name: str) -> bool:
        try:
            return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
        except FileNotFoundError:
            return False

    def _parent(self, key: str, create: bool = False) -> tuple[int, str]:
        *folders, name = self._path(key).relative_to(self.root).parts
        return self._folder(key, folders, create), name

    def _open_regular(self, key: str) -> int:
        """A descriptor of the object's bytes; ObjectIsLink or ObjectNotFound otherwise."""
        folder, name = self._parent(key)
        try:
            try:
                descriptor = os.open(name, _REGULAR_FILE, dir_fd=folder)
            except FileNotFoundError:
                raise ObjectNotFound(key) from None
            except OSError as error:
                if error.errno in _LINK_ERRORS:
                    raise ObjectIsLink(key) from None
                if error.errno in (errno.EISDIR, errno.ENXIO):
                    raise ObjectNotFound(key) from None
                raise
        finally:
            os.close(folder)
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # a folder, a FIFO, a device
            os.close(descriptor)
            raise ObjectNotFound(key)
        os.set_blocking(descriptor, True)
        return descriptor

    # ------------------------------------------------------------------ reading

    def _info(self, key: str, status: os.stat_result, is_link: bool = False) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=status.st_size,
            last_modified=dt.datetime.fromtimestamp(status.st_mtime, tz=dt.UTC),
            version=f"{status.st_mtime_ns:x}-{status.st_size:x}-{status.st_ino:x}",
            is_link=is_link,
        )

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        # Walk only the deepest folder the prefix names instead of the whole bucket.
        folder_part = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        folders = folder_part.split("/") if folder_part else []
        if any(name in ("", ".", "..") for name in folders):
            return
        try:
            descriptor = self._folder(prefix, folders)
        except ObjectNotFound:
            return  # nothing below a missing folder, and nothing is listed through a link
        os.close(descriptor)
        start = self.root / folder_part if folder_part else self.root
        for key, path, is_link in self._walk(start, folder_part, prefix):
            if key.startswith(prefix):
                try:
                    yield self._info(key, os.stat(path, follow_symlinks=False), is_link)
                except FileNotFoundError:  # moved away between listing and stat
                    continue

    def _walk(self, directory: Path, base: str, prefix: str) -> Iterator[tuple[str, str, bool]]:
        """(key, path, is_link) of every file and link below `directory`, in key order.

        os.walk yields a folder's files before its subfolders, which is not key order:
        `a/b/c` sorts before `a/c`. Sorting a subfolder as `name/` among the file names puts
        its keys exactly where they belong, since a file name never contains `/`. Subfolders
        that cannot hold a key with the prefix are not entered, and links are never entered.
        """
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except FileNotFoundError:  # removed while walking
            return
        ranked = []
        for entry in entries:
            if entry.is_symlink():
                ranked.append((entry.name, entry))
            elif entry.is_dir(follow_symlinks=False):
                if not (directory == self.root and entry.name == _STAGING):
                    ranked.append((entry.name + "/", entry))
            elif entry.is_file(follow_symlinks=False):
                ranked.append((entry.name, entry))
        for name, entry in sorted(ranked, key=lambda pair: pair[0]):
            key = f"{base}/{name}" if base else name
            if name.endswith("/"):
                if key.startswith(prefix) or prefix.startswith(key):
                    yield from self._walk(Path(entry.path), key.rstrip("/"), prefix)
            else:
                # A plain string: a Path per file costs more than the stat.
                yield key, entry.path, entry.is_symlink()

    def open_for_writing(self, keys: Iterable[str]) -> set[str]:
        # Only identities are compared and nothing is read, so a plain stat of the name will do:
        # a folder swapped for a link meanwhile can at worst make a file wait a look longer.
        files: dict[tuple[int, int], str] = {}
        root = str(self.root)
        for key in keys:
            try:
                status = os.stat(f"{root}/{key}", follow_symlinks=False)
            except (OSError, ValueError):
                continue
            if stat.S_ISREG(status.st_mode):
                files[(status.st_dev, status.st_ino)] = key
        return {files[identity] for identity in held_for_writing(files)}

    def head(self, key: str) -> ObjectInfo | None:
        try:
            folder, name = self._parent(key)
        except (ObjectNotFound, ObjectIsLink):
            return None
        try:
            status = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            return None
        finally:
            os.close(folder)
        if stat.S_ISLNK(status.st_mode):
            return self._info(key, status, is_link=True)
        return self._info(key, status) if stat.S_ISREG(status.st_mode) else None

    def read_bytes(self, key: str) -> bytes:
        with open(self._open_regular(key), "rb") as handle:
            return handle.read()

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        descriptor = self._open_regular(key)
        try:
            path = self._path(key)
            opened, named = os.fstat(descriptor), os.stat(path)
            # The reader opens the file by name: make sure the name leads to the file that was
            # reached without links (a link swapped in meanwhile would lead elsewhere).
            if (opened.st_dev, opened.st_ino) != (named.st_dev, named.st_ino):
                raise ObjectIsLink(key)
            yield path
        finally:
            os.close(descriptor)

    # ------------------------------------------------------------------ writing

    def _staging_folder(self) -> int:
        (self.root / _STAGING).mkdir(parents=True, exist_ok=True)
        return self._folder(_STAGING, [_STAGING])

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """A file to write the object's bytes into, published in one rename when the block ends
        and discarded if it raises.

        Where the filesystem allows, the file has no name until it is published, so a process
        killed while writing (an API in the middle of a 150 MB upload) leaves nothing behind:
        the kernel frees it. Elsewhere it is named in the staging folder and locked while
        written, and `remove_abandoned_writes` removes what a dead writer left there.
        """
        self._path(key)  # refuse a bad key before writing anything
        folder = self._staging_folder()
        named: str | None = None
        try:
            try:
                descriptor = os.open(".", os.O_WRONLY | os.O_TMPFILE, 0o644, dir_fd=folder)
            except (AttributeError, OSError):  # no O_TMPFILE here (macOS), or not on this filesystem
                named = uuid.uuid4().hex
                descriptor = os.open(named, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=folder)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            with open(descriptor, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
                if named is None:
                    named = uuid.uuid4().hex
                    os.link(f"/proc/self/fd/{descriptor}", named, dst_dir_fd=folder, follow_symlinks=True)
                self._publish(key, folder, named)
                named = None
        finally:
            if named is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(named, dir_fd=folder)
            os.close(folder)

    def _publish(self, key: str, staging: int, staged: str) -> None:
        # A link at the key itself is replaced, not written through: rename never follows one.
        target, name = self._parent(key, create=True)
        try:
            os.replace(staged, name, src_dir_fd=staging, dst_dir_fd=target)
        finally:
            os.close(target)

    def remove_abandoned_writes(self) -> int:
        """Remove staged files their writer left behind when it died; returns how many. A file
        still being written is locked by its writer and stays."""
        try:
            folder = self._folder(_STAGING, [_STAGING])
        except (ObjectNotFound, ObjectIsLink):
            return 0
        removed = 0
        try:
            for name in os.listdir(folder):
                try:
                    descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
                except OSError:
                    continue
                try:
                    if time.time() - os.fstat(descriptor).st_mtime < _ABANDONED_AFTER_SECONDS:
                        continue  # perhaps created a moment ago and not locked yet
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    os.unlink(name, dir_fd=folder)
                    removed += 1
                except OSError:
                    continue  # locked: its writer is alive
                finally:
                    os.close(descriptor)
        finally:
            os.close(folder)
        return removed

    def _info_of(self, key: str) -> ObjectInfo:
        info = self.head(key)
        if info is None:
            raise ObjectNotFound(key)
        return info

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> ObjectInfo:
        with self.writer(key) as handle:
            handle.write(data)
        return self._info_of(key)

    def write_file(self, key: str, path: Path, content_type: str | None = None) -> ObjectInfo:
        with open(path, "rb") as source, self.writer(key) as handle:
            shutil.copyfileobj(source, handle, 1 << 20)
        return self._info_of(key)

    def copy(self, source: str, destination: str) -> None:
        with open(self._open_regular(source), "rb") as original, self.writer(destination) as handle:
            shutil.copyfileobj(original, handle, 1 << 20)

    def move(self, source: str, destination: str) -> None:
        folder, name = self._parent(source)
        try:
            status = os.stat(name, dir_fd=folder, follow_symlinks=False)
            if stat.S_ISLNK(status.st_mode):
                raise ObjectIsLink(source)
            if not stat.S_ISREG(status.st_mode):
                raise ObjectNotFound(source)
            target, target_name = self._parent(destination, create=True)
            try:
                os.replace(name, target_name, src_dir_fd=folder, dst_dir_fd=target)  # one rename: atomic
            finally:
                os.close(target)
        except FileNotFoundError:
            raise ObjectNotFound(source) from None
        finally:
            os.close(folder)

    def move_link(self, source: str, destination: str) -> None:
        folder, name = self._parent(source)
        try:
            try:
                status = os.stat(name, dir_fd=folder, follow_symlinks=False)
            except FileNotFoundError:
                raise ObjectNotFound(source) from None
            if not stat.S_ISLNK(status.st_mode):
                raise ObjectNotFound(source)
            target, target_name = self._parent(destination, create=True)
            try:
                os.replace(
                    name, target_name, src_dir_fd=folder, dst_dir_fd=target
                )  # renames the link, never its target
            finally:
                os.close(target)
        finally:
            os.close(folder)

    def delete(self, key: str) -> None:
        try:
            folder, name = self._parent(key)
        except ObjectNotFound:
            return
        try:
            # A link itself may go (it is not followed); the folder must be reached without one.
            os.unlink(name, dir_fd=folder)
        except FileNotFoundError:
            pass
        finally:
            os.close(folder)
