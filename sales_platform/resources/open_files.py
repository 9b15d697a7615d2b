"""Which files a process on this machine still holds open for writing, read from /proc (Linux).

A store script that writes straight into a local inbox and pauses mid-file leaves a file that
looks finished: its size and time stop changing. Its writer still holds it open, though, and
/proc shows every open file of every process this user may look at (all of them as root). This
is what `fuser` does; on systems without /proc nothing is found, and the settle time alone
decides. A writer on another machine (a network share) or under another user is not seen.
"""

from __future__ import annotations

import os
from collections.abc import Collection

_PROC = "/proc"


def _writes(pid: str, fd: str) -> bool:
    try:
        with open(f"{_PROC}/{pid}/fdinfo/{fd}") as info:
            for line in info:
                if line.startswith("flags:"):
                    return int(line.split()[1], 8) & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)
    except (OSError, ValueError, IndexError):
        pass
    return False


def held_for_writing(files: Collection[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (device, inode) pairs among `files` that some process has open for writing."""
    if not files:
        return set()
    try:
        pids = [name for name in os.listdir(_PROC) if name.isdigit()]
    except OSError:
        return set()
    found: set[tuple[int, int]] = set()
    for pid in pids:
        folder = f"{_PROC}/{pid}/fd"
        try:
            descriptors = os.listdir(folder)
        except OSError:  # gone, or another user's
            continue
        for fd in descriptors:
            try:
                status = os.stat(f"{folder}/{fd}")  # the open file itself, even when it has no name
            except OSError:
                continue
            identity = (status.st_dev, status.st_ino)
            if identity in files and identity not in found and _writes(pid, fd):
                found.add(identity)
                if len(found) == len(files):
                    return found
    return found
