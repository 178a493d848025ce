"""The local index: (path, size, mtime, ctime, inode) -> content hash.

An unchanged file is never hashed twice: a file whose stat matches its index row
reuses the stored hash. Racy-write guard (as git does): a file modified within
``RACY_NS`` of the moment its row is written gets no stored hash, so a change in
the same timestamp tick is never missed. Stored as marshal frames
(:mod:`lobs.index_file`; loads 100,000 rows in a few tens of milliseconds, several
times faster than SQLite), replaced atomically, so a killed process leaves the old
index or the new one. The index is a cache: a missing, corrupt or foreign file only
means files get hashed again.

Each row also says whether it is *synced*: its file is, byte for byte, the entry of the
snapshot the working tree was last synced to (``meta["synced"]``). When every scanned
file has an unchanged, synced row and the counts agree, the tree is clean without
loading that snapshot's manifest (:meth:`Index.is_clean`, the fast path of status).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Container, Iterator, Mapping
from pathlib import Path

from lobs import index_file
from lobs.clean_marker import clean_marker_path
from lobs.hashing import hash_bytes, hash_file
from lobs.index_file import FLAGS_AT, HAS_SHA, HAS_XXH, SYNCED
from lobs.model import Entry
from lobs.scan import LocalFile

RACY_NS = 2_000_000_000
_DIGEST = {"sha256": (33, 65, HAS_SHA), "xxh128": (65, 81, HAS_XXH)}  # slice and flag per algorithm


def _row(key: bytes, flags: int, sha: bytes, xxh: bytes) -> bytes:
    return key + bytes((flags,)) + sha + xxh


class Index:
    """One target's index. Not thread-safe; use from the thread that opened it."""

    def __init__(self, db_path: Path | None) -> None:
        self.path = db_path
        self._rows: dict[str, bytes] = {}
        self.meta: dict[str, str] = {}
        self._changed = False
        if db_path is not None:
            self._rows, self.meta, current = index_file.load(db_path)  # a corrupt index is only a cache
            self._changed = not current and bool(self._rows)  # an older format: rewrite

    def lookup(self, f: LocalFile, algo: str) -> str | None:
        row, key = self._rows.get(f.path), f.key
        lo, hi, flag = _DIGEST[algo]
        if row is None or not row.startswith(key) or not row[FLAGS_AT] & flag:
            return None
        return row[lo:hi].hex()

    def stat_key(self, path: str) -> bytes | None:
        """The stat key (:attr:`LocalFile.key`) that ``path``'s row was recorded with, if any."""
        row = self._rows.get(path)
        return row[:FLAGS_AT] if row is not None else None

    def record(self, f: LocalFile, algo: str, digest: str, now_ns: int | None = None) -> None:
        now_ns = now_ns if now_ns is not None else time.time_ns()
        key = f.key
        old = self._rows.get(f.path)
        keep = old is not None and old.startswith(key)  # the other algorithm's digest stays valid
        flags = old[FLAGS_AT] & (HAS_SHA | HAS_XXH) if keep and old else 0
        sha, xxh = (old[33:65], old[65:81]) if keep and old else (bytes(32), bytes(16))
        lo, hi, flag = _DIGEST[algo]
        if now_ns - f.mtime_ns < RACY_NS:
            flags &= ~flag  # modified just now: a change in the same tick could be missed
        else:
            flags |= flag
            raw = bytes.fromhex(digest)
            if len(raw) != hi - lo:
                return  # not a digest of this algorithm: remember nothing
            sha, xxh = (raw, xxh) if lo == 33 else (sha, raw)
        row = _row(key, flags, sha, xxh)
        if old != row:
            self._rows[f.path] = row
            self._changed = True

    def forget_missing(self, keep: Container[str]) -> None:
        """Drop the rows of paths not in ``keep`` (a set or a mapping's keys)."""
        gone = [p for p in self._rows if p not in keep]
        for p in gone:
            del self._rows[p]
        self._changed = self._changed or bool(gone)

    def mark_synced(self, snap_id: str, algo: str, entries: Mapping[str, Entry], files: Mapping[str, LocalFile]) -> None:
        """Record that the working tree was just synced to ``snap_id``: flag every row whose
        hash is that snapshot's for its path (links get a row of their own); clear the rest."""
        lo, hi, flag = _DIGEST[algo]
        rows = self._rows
        for path, row in rows.items():  # values change, keys do not: safe while iterating
            e = entries.get(path)
            synced = e is not None and e.link is None and bool(row[FLAGS_AT] & flag) and row[lo:hi].hex() == e.hash
            if bool(row[FLAGS_AT] & SYNCED) != synced:
                rows[path] = row[:FLAGS_AT] + bytes(((row[FLAGS_AT] & ~SYNCED) | (SYNCED if synced else 0),)) + row[33:]
        for path, e in entries.items():
            f = files.get(path)
            if e.link is not None and f is not None and f.link == e.link:
                raw = bytes.fromhex(e.hash)
                sha, xxh = (raw, bytes(16)) if lo == 33 else (bytes(32), raw)
                rows[path] = _row(f.key, SYNCED | flag, sha, xxh)
        self.meta = {"synced": snap_id, "algo": algo}
        self._changed = True

    def is_clean(self, files: list[LocalFile], snap_id: str, count: int) -> bool:
        """True when ``files`` are exactly the synced snapshot's, unchanged since (by stat)."""
        if self.meta.get("synced") != snap_id or len(files) != count:
            return False
        rows = self._rows
        for f in files:
            row = rows.get(f.path)
            if row is None or not row[FLAGS_AT] & SYNCED or not row.startswith(f.key):
                return False
        return True

    def save(self) -> None:
        if self.path is None or not self._changed:
            return
        with contextlib.suppress(OSError):
            clean_marker_path(self.path).unlink()  # rows change: the marker is recomputed from them
        index_file.save(self.path, self.meta, self._rows)
        self._changed = False


def hash_link(algo: str, target: str) -> str:
    return hash_bytes(algo, target.encode("utf-8"))


def split_known(
    files: list[LocalFile], index: Index, algo: str, prior: Mapping[str, Entry] | None = None
) -> tuple[dict[str, str], list[LocalFile]]:
    """(path -> hash for what the index or a link target answers, files still to hash).

    A hash equal to the one ``prior`` (say, the last synced manifest) has for that path is
    given as that same string object: a million unchanged files then hold one hex string
    each, not two.
    """
    out: dict[str, str] = {}
    todo: list[LocalFile] = []
    rows = index._rows
    lo, hi, flag = _DIGEST[algo]
    same = _same_as(prior)
    for f in files:
        if f.link is not None:
            out[f.path] = hash_link(algo, f.link)
            continue
        row = rows.get(f.path)
        if row is not None and row[FLAGS_AT] & flag and row.startswith(f.key):
            out[f.path] = same(f.path, row[lo:hi].hex())
            continue
        todo.append(f)
    return out, todo


def _same_as(prior: Mapping[str, Entry] | None) -> Callable[[str, str], str]:
    """path, digest -> that digest, as ``prior``'s string object when they are equal."""
    if not prior:
        return lambda _path, digest: digest
    get = prior.get

    def same(path: str, digest: str) -> str:
        e = get(path)
        return e.hash if e is not None and e.hash == digest else digest

    return same


def hash_files(
    root: Path,
    todo: list[LocalFile],
    index: Index,
    algo: str,
    *,
    jobs: int = 0,
    on_hashed: Callable[[LocalFile, int], None] | None = None,
    prior: Mapping[str, Entry] | None = None,
) -> dict[str, str]:
    """Hash ``todo`` on all cores (hashlib and xxhash release the GIL), recording each in ``index``.

    A file that vanishes while being hashed is left out of the result. ``prior``: as
    for :func:`split_known`.
    """
    out: dict[str, str] = {}
    if not todo:
        return out
    now_ns = time.time_ns()
    same = _same_as(prior)

    def work(f: LocalFile) -> tuple[LocalFile, str | None]:
        try:
            digest, _ = hash_file(algo, os.path.join(root, f.path))
        except FileNotFoundError:
            return f, None
        return f, digest

    from concurrent.futures import ThreadPoolExecutor  # here: a clean status never hashes

    from lobs.parallel import bounded_map

    workers = jobs if jobs > 0 else (os.cpu_count() or 2)
    # Big files first so that the pool ends evenly; small files in batches, so that a
    # million files make a few thousand tasks (a task costs more than hashing 100 bytes).
    ordered = sorted(todo, key=lambda f: -f.size)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done in bounded_map(pool, lambda batch: [work(f) for f in batch], _batches(ordered), workers * 2):
            for f, digest in done:
                if digest is None:
                    continue
                out[f.path] = same(f.path, digest)
                index.record(f, algo, digest, now_ns)
                if on_hashed:
                    on_hashed(f, f.size)
    return out


BATCH_FILES = 256
BATCH_BYTES = 8 << 20


def _batches(files: list[LocalFile]) -> Iterator[list[LocalFile]]:
    """Consecutive runs of at most BATCH_FILES files or BATCH_BYTES bytes (a big file alone)."""
    batch: list[LocalFile] = []
    size = 0
    for f in files:
        if batch and (len(batch) >= BATCH_FILES or size + f.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(f)
        size += f.size
    if batch:
        yield batch


def resolve_hashes(
    root: Path,
    files: list[LocalFile],
    index: Index,
    algo: str,
    *,
    jobs: int = 0,
    on_hashed: Callable[[LocalFile, int], None] | None = None,
) -> dict[str, str]:
    """Return path -> hash for every file, hashing only what the index lacks.

    Records new hashes in ``index`` (the caller saves it).
    """
    out, todo = split_known(files, index, algo)
    out.update(hash_files(root, todo, index, algo, jobs=jobs, on_hashed=on_hashed))
    return out
