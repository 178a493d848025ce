"""Walk a target directory and list what it holds, without reading file contents.

Never follows a symlink (links are recorded as links), skips special files with
a warning, prunes ignored directories, and collects names that cannot round-trip
through the transports (invalid UTF-8, line breaks) so the caller can refuse them
in one message.

The walk is bound by one ``lstat`` per file. Where the optional C helper
``lobs._dirstat`` is built (it is whenever a C compiler is present at install), a
directory is listed and stat'ed in C without the GIL, a few directories at a time on
threads; otherwise by ``os.scandir`` on one thread. Both give the same result.
"""

from __future__ import annotations

import gc
import os
import re
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from lobs.errors import NotFoundError, UnsupportedError
from lobs.ignore import IGNORE_FILES, Rules, builtin_excluded, read_ignore_lines


@dataclass(slots=True)
class LocalFile:
    path: str  # target-relative POSIX path
    size: int
    mode: int  # permission bits
    mtime_ns: int
    ctime_ns: int
    ino: int
    link: str | None = None  # symlink target


@dataclass
class ScanResult:
    files: list[LocalFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # special files, with reason
    bad_names: list[str] = field(default_factory=list)

    def by_path(self) -> dict[str, LocalFile]:
        return {f.path: f for f in self.files}


_BAD_NAME = re.compile("[\n\r\udc80-\udcff]")  # line breaks; bytes that were not UTF-8
Listing = list[tuple[str, int, int, int, int, int]]  # name, st_mode, size, mtime_ns, ctime_ns, inode
_S_IFMT, _S_IFREG, _S_IFDIR, _S_IFLNK = 0o170000, stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK


def _bad_name(name: str) -> bool:
    return _BAD_NAME.search(name) is not None


def scan(root: Path, rules: Rules, *, strict_names: bool = True) -> ScanResult:
    """List the tracked files under ``root``, sorted by path (UTF-8 byte order).

    Raises NotFoundError if ``root`` is not a directory,
    UnsupportedError listing every unrepresentable name when ``strict_names`` (else
    they are in ``bad_names``).
    """
    if not root.is_dir():
        raise NotFoundError(f"{root} is not a directory", "check the target's path")
    res = ScanResult()
    gc_was_on = gc.isenabled()
    gc.disable()  # a walk makes a long-lived object per file and no cycles: collecting is pure cost
    try:
        _walk_tree(str(root), rules, res)
    finally:
        if gc_was_on:
            gc.enable()
    if res.bad_names:
        # surrogate escapes do not sort like their bytes; valid UTF-8 sorts by code point
        res.files.sort(key=lambda f: f.path.encode("utf-8", "surrogateescape"))
    else:
        res.files.sort(key=attrgetter("path"))
    if strict_names and res.bad_names:
        shown = ", ".join(repr(n) for n in res.bad_names[:10])
        more = f" and {len(res.bad_names) - 10} more" if len(res.bad_names) > 10 else ""
        raise UnsupportedError(
            f"{len(res.bad_names)} name(s) cannot be stored (invalid UTF-8 or a line break): {shown}{more}",
            "rename them, or exclude them in lobs.yml or .lobsignore",
        )
    return res


def _py_list_dir(path: str) -> Listing:
    """The pure-Python twin of ``lobs._dirstat.list_dir`` (same rows, same errors)."""
    out: Listing = []
    with os.scandir(path) as it:
        for e in it:
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # vanished while we looked
            out.append((e.name, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return out


list_dir: Callable[[str], Listing]
try:
    from lobs._dirstat import list_dir  # type: ignore[no-redef,unused-ignore]

    ACCELERATED = True
except ImportError:  # not built (no compiler at install): same result, slower
    list_dir = _py_list_dir
    ACCELERATED = False

THREADS = 4  # directories listed at once by the C helper (it releases the GIL)

Job = tuple[str, str, Rules]  # (absolute dir, relative dir ending in "/" or "", rules)


def _walk_tree(root: str, rules: Rules, res: ScanResult) -> None:
    """Walk breadth-first, one level of directories at a time (listed in parallel)."""
    level: list[Job] = [(root, "", rules)]
    while level:
        nxt: list[Job] = []
        paths = [j[0] for j in level]
        listings = _threaded_map(_listing, paths) if ACCELERATED and len(level) > 1 else map(_listing, paths)
        for job, listing in zip(level, listings):
            _one_dir(job, listing, res, nxt)
        level = nxt


def _threaded_map(fn: Callable[[str], Listing | OSError], items: list[str]) -> list[Listing | OSError]:
    """``[fn(x) for x in items]`` on THREADS threads (plain threads: concurrent.futures
    costs more to import than a status spends here)."""
    out: list[Listing | OSError | None] = [None] * len(items)
    todo = iter(range(len(items)))
    lock = threading.Lock()
    failed: list[BaseException] = []

    def work() -> None:
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            try:
                out[i] = fn(items[i])
            except BaseException as e:  # noqa: BLE001 - re-raised by the caller's thread
                failed.append(e)
                return

    threads = [threading.Thread(target=work, name="lobs-scan", daemon=True) for _ in range(min(THREADS, len(items)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
    return out  # type: ignore[return-value]  # every slot was filled


def _listing(path: str) -> Listing | OSError:
    try:
        return list_dir(path)
    except (PermissionError, FileNotFoundError) as e:
        return e


def _one_dir(job: Job, listing: Listing | OSError, res: ScanResult, subdirs: list[Job]) -> None:
    """Add one directory's tracked files to ``res`` and its tracked subdirectories to ``subdirs``."""
    abs_dir, rel_dir, rules = job
    if isinstance(listing, PermissionError):
        res.skipped.append(f"{rel_dir or '.'}: permission denied")
        return
    if isinstance(listing, OSError):
        return  # the directory vanished while we looked
    names = [row[0] for row in listing]
    if _BAD_NAME.search("/".join(names)) is not None:
        for row in listing:
            if _bad_name(row[0]):
                res.bad_names.append(rel_dir + row[0] + ("/" if row[1] & _S_IFMT == _S_IFDIR else ""))
        listing = [row for row in listing if not _bad_name(row[0])]
    for ig in IGNORE_FILES:
        if ig in names:
            rules = rules.child(rel_dir, read_ignore_lines(os.path.join(abs_dir, ig)))
    layered, include = bool(rules.layers), rules.include
    files = res.files
    for name, mode, size, mtime_ns, ctime_ns, ino in listing:
        kind = mode & _S_IFMT
        if kind == _S_IFREG:
            if name[0] == "." and builtin_excluded(name, False):
                continue
            rel = rel_dir + name
            if (layered and rules.ignored(rel, False)) or (include is not None and not rules.included(rel)):
                continue
            files.append(LocalFile(rel, size, mode & 0o7777, mtime_ns, ctime_ns, ino))
        elif kind == _S_IFDIR:
            rel = rel_dir + name
            if (name[0] == "." and builtin_excluded(name, True)) or (layered and rules.ignored(rel, True)):
                continue
            subdirs.append((os.path.join(abs_dir, name), rel + "/", rules))
        elif kind == _S_IFLNK:
            rel = rel_dir + name
            if (name[0] == "." and builtin_excluded(name, False)) or (layered and rules.ignored(rel, False)):
                continue
            if include is not None and not rules.included(rel):
                continue
            try:
                target = os.readlink(os.path.join(abs_dir, name))
            except OSError:
                continue
            if _bad_name(target):
                res.bad_names.append(rel + " -> " + repr(target))
                continue
            files.append(LocalFile(rel, len(target.encode("utf-8")), 0o777, mtime_ns, ctime_ns, ino, target))
        else:
            rel = rel_dir + name
            if not (layered and rules.ignored(rel, False)):
                res.skipped.append(f"{rel}: special file skipped")
