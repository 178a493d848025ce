"""One lobs process per target: an advisory lock that dies with its holder.

Uses ``flock`` on a lock file: the kernel releases it when the process exits,
however it exits (SIGKILL included), so a lock left by a dead process is taken
over automatically. The file records the holder's pid for the error message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from lobs.errors import LockedError


@contextlib.contextmanager
def target_lock(path: Path, what: str) -> Iterator[None]:
    """Hold the lock at ``path`` for the block. Raises LockedError if another process has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            raise LockedError(
                f"another lobs process (pid {holder}) is working on {what}",
                "wait for it to finish; a lock of a process that died is released by itself",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
