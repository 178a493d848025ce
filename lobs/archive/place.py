"""Move a verified staging folder into the destination folder.

A missing or empty destination receives the staged tree by rename. A
non-empty one is only written with ``force``, and then only at the paths the
archive holds: nothing else is deleted or replaced. Every path is checked
before the first rename (no parent may be a symlink or a file, no folder may
be in the way), so a refusal leaves the destination untouched; each file then
lands with an atomic rename, never through a symlink.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lobs.archive.importer import Item
from lobs.errors import ConflictError, IntegrityError
from lobs.fsutil import fsync_dir
from lobs.pull import safe_parent


def check_destination(dest: Path, force: bool) -> bool:
    """Return True if ``dest`` is missing or empty. Raises ConflictError otherwise unless ``force``."""
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return True
    if stat.S_ISLNK(st.st_mode):
        raise ConflictError(f"{dest} is a symlink", "import into a real folder")
    if not stat.S_ISDIR(st.st_mode):
        raise ConflictError(f"{dest} exists and is not a folder", "choose another -o DIR")
    if not any(os.scandir(dest)):
        return True
    if not force:
        raise ConflictError(
            f"{dest} is not empty", "import into a new folder, or pass --force to write the archive's paths into it"
        )
    return False


def _preflight(dest: Path, items: list[Item]) -> None:
    for it in items:
        parts = it.path.split("/")
        cur = dest
        for part in parts[:-1]:
            cur = cur / part
            try:
                st = os.lstat(cur)
            except FileNotFoundError:
                break
            if stat.S_ISLNK(st.st_mode):
                raise IntegrityError(f"refusing to write {it.path}: {cur} is a symlink", "remove the link or import elsewhere")
            if not stat.S_ISDIR(st.st_mode):
                raise ConflictError(f"cannot write {it.path}: {cur} is a file", "move it away first")
        try:
            st = os.lstat(dest / it.path)
        except FileNotFoundError:
            continue
        is_dir = stat.S_ISDIR(st.st_mode)
        if it.kind != "dir" and is_dir:
            raise ConflictError(f"cannot write {it.path}: a folder is in the way", "move it away first")
        if it.kind == "dir" and not is_dir:
            raise ConflictError(f"cannot create folder {it.path}: a file is in the way", "move it away first")


def place(staging: Path, dest: Path, items: list[Item], *, empty: bool) -> None:
    """Move ``items`` from ``staging`` into ``dest``. Raises ConflictError/IntegrityError before any move."""
    os.chmod(staging, 0o777 & ~_umask())
    if empty:
        if not dest.exists():
            os.rename(staging, dest)
            fsync_dir(dest.parent)
            return
        for child in sorted(os.listdir(staging)):
            os.rename(staging / child, dest / child)
        fsync_dir(dest)
        return
    _preflight(dest, items)
    touched: set[Path] = set()
    for it in sorted(items, key=lambda i: i.path.encode("utf-8", "surrogateescape")):
        if it.kind == "dir":
            safe_parent(dest, it.path + "/x")
            continue
        parent = safe_parent(dest, it.path)
        os.replace(staging / it.path, dest / it.path)
        touched.add(parent)
    for d in touched:
        fsync_dir(d)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
