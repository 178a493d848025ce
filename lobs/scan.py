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
import queue
import re
import stat
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

import xxhash

from lobs.errors import NotFoundError, UnsupportedError
from lobs.ignore import IGNORE_FILES, Rules, builtin_excluded, read_ignore_lines

_M64 = (1 << 64) - 1
KEY = struct.Struct("<QQQQ")  # size, mtime_ns, ctime_ns, inode, each modulo 2**64 (as the C helper packs them)
_SIGNED = struct.Struct("<qqqQ")


def pack_stat(size: int, mtime_ns: int, ctime_ns: int, ino: int) -> bytes:
    """The 32-byte stat key of :class:`LocalFile` (the index's rows start with it)."""
    return KEY.pack(size & _M64, mtime_ns & _M64, ctime_ns & _M64, ino & _M64)


@dataclass(slots=True)
class LocalFile:
    """One file or symlink as scanned. The stat is kept packed (``key``), not as four
    ints: a million files hold one small bytes object each instead of four ints (~100
    bytes less a file), and the index compares the key as it is."""

    path: str  # target-relative POSIX path
    key: bytes  # pack_stat(size, mtime_ns, ctime_ns, ino)
    mode: int  # permission bits
    link: str | None = None  # symlink target

    @classmethod
    def from_stat(cls, path: str, st: os.stat_result, link: str | None = None) -> LocalFile:
        return cls(path, pack_stat(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino), stat.S_IMODE(st.st_mode), link)

    @property
    def size(self) -> int:
        return _SIGNED.unpack_from(self.key)[0]  # type: ignore[no-any-return]

    @property
    def mtime_ns(self) -> int:
        return _SIGNED.unpack_from(self.key)[1]  # type: ignore[no-any-return]

    @property
    def ctime_ns(self) -> int:
        return _SIGNED.unpack_from(self.key)[2]  # type: ignore[no-any-return]

    @property
    def ino(self) -> int:
        return _SIGNED.unpack_from(self.key)[3]  # type: ignore[no-any-return]


@dataclass
class ScanResult:
    files: list[LocalFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # special files, with reason
    bad_names: list[str] = field(default_factory=list)
    # (relative folder, digest of its names and packed stats) for every folder walked
    folders: list[tuple[str, bytes]] = field(default_factory=list)
    signature: str = ""  # see :func:`scan`
    signature_only: bool = False  # walk for the signature, list no files


_BAD_NAME = re.compile("[\n\r\udc80-\udcff]")  # line breaks; bytes that were not UTF-8
Rows = list[tuple[str, int, bytes]]  # name, st_mode, stat key (pack_stat)
Listing = tuple[Rows, bytes]  # the rows, and their stats packed as STAT_ROW, in row order
STAT_ROW = struct.Struct("<QQQQI")  # the stat key's four numbers, then the mode
_MODE = struct.Struct("<I")
_PERMS: dict[int, int] = {}  # permission bits -> one shared int (a million files, a handful of modes)
_S_IFMT, _S_IFREG, _S_IFDIR, _S_IFLNK = 0o170000, stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK


def _bad_name(name: str) -> bool:
    return _BAD_NAME.search(name) is not None


def scan(root: Path, rules: Rules, *, strict_names: bool = True, files: bool = True) -> ScanResult:
    """List the tracked files under ``root``, sorted by path (UTF-8 byte order).

    ``files=False`` walks the same folders and gives the same ``signature`` and
    ``skipped`` but lists no files (a clean status needs only the signature); link
    targets are not read then. Raises NotFoundError if ``root`` is not a directory,
    UnsupportedError listing every unrepresentable name that would be tracked when
    ``strict_names`` (else they are in ``bad_names``).
    """
    if not root.is_dir():
        raise NotFoundError(f"{root} is not a directory", "check the target's path")
    res = ScanResult(signature_only=not files)
    gc_was_on = gc.isenabled()
    gc.disable()  # a walk makes a long-lived object per file and no cycles: collecting is pure cost
    try:
        _walk_tree(str(root), rules, res)
    finally:
        if gc_was_on:
            gc.enable()
    res.signature = _signature(rules, res.folders)
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
    out: Rows = []
    with os.scandir(path) as it:
        for e in it:
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # vanished while we looked
            out.append((e.name, st.st_mode, pack_stat(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)))
    return out, b"".join([key + _MODE.pack(mode) for _, mode, key in out])


list_dir: Callable[[str], Listing]
try:
    from lobs._dirstat import list_dir  # type: ignore[no-redef,unused-ignore]

    ACCELERATED = True
except ImportError:  # not built (no compiler at install): same result, slower
    list_dir = _py_list_dir
    ACCELERATED = False

THREADS = 4  # directories listed at once by the C helper (it releases the GIL)
AHEAD = 16  # listings waiting to be processed, at most (listing outruns processing; each holds a row per entry)

Job = tuple[str, str, Rules]  # (absolute dir, relative dir ending in "/" or "", rules)


def _walk_tree(root: str, rules: Rules, res: ScanResult) -> None:
    """Walk breadth-first, one level of directories at a time; with the C helper, a level's
    folders are listed on threads and each is processed here as soon as it is listed."""
    level: list[Job] = [(root, "", rules)]
    while level:
        nxt: list[Job] = []
        if ACCELERATED and len(level) > 1:
            for i, listing in _listed_as_ready([j[0] for j in level]):
                _one_dir(level[i], listing, res, nxt)
        else:
            for job in level:
                _one_dir(job, _listing(job[0]), res, nxt)
        level = nxt


def _listed_as_ready(paths: list[str]) -> Iterator[tuple[int, Listing | OSError]]:
    """(index, listing) of every path, listed on THREADS threads, in the order they finish,
    at most AHEAD of them waiting (plain threads: concurrent.futures costs more to import
    than a status spends here)."""
    todo = iter(range(len(paths)))
    lock = threading.Lock()
    ahead = threading.Semaphore(AHEAD)
    done: queue.SimpleQueue[tuple[int, Listing | OSError] | BaseException] = queue.SimpleQueue()

    def work() -> None:
        while True:
            ahead.acquire()
            with lock:
                i = next(todo, None)
            if i is None:
                return
            try:
                done.put((i, _listing(paths[i])))
            except BaseException as e:  # noqa: BLE001 - re-raised by the walking thread
                done.put(e)
                return

    threads = [threading.Thread(target=work, name="lobs-scan", daemon=True) for _ in range(min(THREADS, len(paths)))]
    for t in threads:
        t.start()
    try:
        for _ in range(len(paths)):
            item = done.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            ahead.release()
    finally:
        with lock:
            for _ in todo:  # stop the others (on an error, or Ctrl-C in this thread)
                pass
        for _ in threads:
            ahead.release()  # none waits for a slot that never comes
        for t in threads:
            t.join()


def _signature(rules: Rules, folders: list[tuple[str, bytes]]) -> str:
    """A fingerprint of everything the walk looked at: the root rules from lobs.yml, then
    per folder (in path order) its names and every entry's size, mtime, ctime, inode and
    mode, ignored entries included. Equal signatures mean an equal result: .gitignore and
    .lobsignore files are entries too, and any edit of a file or link changes its ctime."""
    h = xxhash.xxh3_128(repr(rules.source).encode("utf-8", "surrogateescape"))
    for rel_dir, digest in sorted(folders):
        h.update(rel_dir.encode("utf-8", "surrogateescape") + b"\0" + digest)
    return h.hexdigest()


def _listing(path: str) -> Listing | OSError:
    try:
        return list_dir(path)
    except (PermissionError, FileNotFoundError, NotADirectoryError) as e:
        return e  # denied, or gone (or no longer a folder) since its parent was listed


def _one_dir(job: Job, listed: Listing | OSError, res: ScanResult, subdirs: list[Job]) -> None:
    """Add one directory's tracked files to ``res`` and its tracked subdirectories to ``subdirs``."""
    abs_dir, rel_dir, rules = job
    if isinstance(listed, PermissionError):
        res.skipped.append(f"{rel_dir or '.'}: permission denied")
        res.folders.append((rel_dir, b"unreadable"))
        return
    if isinstance(listed, OSError):
        return  # the directory vanished (or was replaced by a file) while we looked
    listing, stats = listed
    names = [row[0] for row in listing]
    joined = "/".join(names)  # "/" is the one character no name holds
    res.folders.append((rel_dir, xxhash.xxh3_128_digest(joined.encode("utf-8", "surrogateescape") + b"\0" + stats)))
    # unrepresentable names are refused only where they would be tracked (excluding them is the way out)
    bad = {n for n in names if _bad_name(n)} if _BAD_NAME.search(joined) is not None else set()
    for ig in IGNORE_FILES:
        if ig in names:
            rules = rules.child(rel_dir, read_ignore_lines(os.path.join(abs_dir, ig)))
    layered, include = bool(rules.layers), rules.include
    files, skip_files, perms = res.files, res.signature_only and not bad, _PERMS
    for name, mode, key in listing:
        kind = mode & _S_IFMT
        if kind == _S_IFREG and skip_files:
            continue
        is_dir = kind == _S_IFDIR
        if name[0] == "." and builtin_excluded(name, is_dir):
            continue
        rel = rel_dir + name
        if layered and rules.ignored(rel, is_dir):
            continue
        if is_dir:
            if bad and name in bad:
                res.bad_names.append(rel + "/")
            else:
                subdirs.append((os.path.join(abs_dir, name), rel + "/", rules))
            continue
        if include is not None and not rules.included(rel):
            continue
        if bad and name in bad:
            res.bad_names.append(rel)
        elif kind == _S_IFREG:
            if not res.signature_only:
                perm = mode & 0o7777
                files.append(LocalFile(rel, key, perms.setdefault(perm, perm)))  # one int object per mode
        elif kind == _S_IFLNK:
            if not res.signature_only:
                _add_link(abs_dir, name, rel, key, res)
        else:
            res.skipped.append(f"{rel}: special file skipped")


def _add_link(abs_dir: str, name: str, rel: str, key: bytes, res: ScanResult) -> None:
    try:
        target = os.readlink(os.path.join(abs_dir, name))
    except OSError:
        return
    if _bad_name(target):
        res.bad_names.append(rel + " -> " + repr(target))
    else:
        size = len(target.encode("utf-8"))
        if KEY.unpack_from(key)[0] != size:  # (lstat's size is the target's length in bytes)
            key = KEY.pack(size, *KEY.unpack_from(key)[1:])
        res.files.append(LocalFile(rel, key, 0o777, target))
