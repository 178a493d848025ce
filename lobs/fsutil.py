"""Atomic file writes and small file-system helpers.

Every file lobs writes goes through here: content lands in a temp file in the
destination's own folder (``.lobs-tmp-*``) and is renamed over the final name
only when complete, so a reader or a crash sees the old file or the new one,
never half of either.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

TMP_PREFIX = ".lobs-tmp-"


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable. Best effort on file systems that refuse it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(dest: Path, mode: int | None = None, *, durable: bool = True) -> Iterator[IO[bytes]]:
    """Yield a binary file; on clean exit it replaces ``dest`` atomically.

    On any exception the temp file is removed and ``dest`` is untouched.
    ``mode`` sets the permission bits of the new file (default 0o644 & ~umask).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _open_temp(str(dest.parent))
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(dest: Path, data: bytes, mode: int | None = None) -> None:
    with atomic_writer(dest, mode) as f:
        f.write(data)


_counter = itertools.count()


def _temp_name(folder: str) -> str:
    """A fresh temp name in ``folder`` (cheaper than mkstemp's random names; O_EXCL keeps it safe)."""
    return os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{next(_counter)}")


def _open_temp(folder: str) -> tuple[int, str]:
    while True:
        tmp = _temp_name(folder)
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | CLOEXEC, 0o666 & ~_umask()), tmp
        except FileExistsError:
            continue


def atomic_copy(src: Path | str, dest: Path | str) -> None:
    """Copy ``src`` to ``dest`` atomically, with the kernel doing the copy where it can.

    The parent folder of ``dest`` must exist. Raises OSError; on failure ``dest`` is untouched.
    """
    fd, tmp = _open_temp(os.path.dirname(dest))
    try:
        try:
            with open(src, "rb") as fin:
                _copy_fd(fin.fileno(), fd)
        finally:
            os.close(fd)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def open_read(path: Path | str) -> int:
    """A raw descriptor for reading ``path`` (no file object). Raises OSError."""
    return os.open(path, os.O_RDONLY | CLOEXEC)


def open_scratch(path: Path | str) -> int:
    """A raw descriptor writing ``path`` from empty (created or truncated; not atomic: for
    scratch files that are renamed or handed on only once complete). Raises OSError."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | CLOEXEC, 0o666)


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def plain_copy(src: Path | str, dest: Path | str) -> None:
    """Copy ``src`` over ``dest`` (created or truncated; for scratch files, not atomic),
    with the kernel doing the copy where it can. Cheaper than ``shutil.copyfile``, which
    stats both files twice and builds file objects. Raises OSError (FileNotFoundError
    when ``src`` is missing, before ``dest`` is touched)."""
    fin = open_read(src)
    try:
        fout = open_scratch(dest)
        try:
            _copy_fd(fin, fout)
        finally:
            os.close(fout)
    finally:
        os.close(fin)


def _copy_fd(fin: int, fout: int) -> None:
    size = os.fstat(fin).st_size
    copied = 0
    try:
        while copied < size or size == 0:
            n = os.copy_file_range(fin, fout, 1 << 30)
            if n == 0:
                break
            copied += n
        return
    except (AttributeError, OSError):
        pass  # no copy_file_range here (or across these file systems): copy by hand
    os.lseek(fin, copied, os.SEEK_SET)
    while chunk := os.read(fin, 1 << 20):
        write_all(fout, chunk)


_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        current = os.umask(0)
        os.umask(current)
        _UMASK = current
    return _UMASK


def remove_dead_temps(folder: Path) -> int:
    """Delete ``.lobs-tmp-*`` files in ``folder`` left by lobs processes that no longer run
    (a SIGKILL between creating a temp file and renaming it). Temps of live processes,
    this one included, are kept. Never raises; returns how many were removed."""
    removed = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        if not name.startswith(TMP_PREFIX):
            continue
        pid_text = name[len(TMP_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or pid_alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))
            removed += 1
    return removed


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True
