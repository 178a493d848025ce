"""The local index: (path, size, mtime, ctime, inode) -> content hash.

An unchanged file is never hashed twice: a file whose stat matches its index row
reuses the stored hash. Racy-write guard (as git does): a file modified within
``RACY_NS`` of the moment its row is written gets no stored hash, so a change in
the same timestamp tick is never missed. Stored as one file of marshal frames of
65,536 rows each (loads 100,000 rows in a few tens of milliseconds, several times
faster than SQLite; written and read a frame at a time), replaced atomically, so a killed process leaves the old index or the new one. The index is a
cache: a missing, corrupt or foreign file only means files get hashed again.

Each row also says whether it is *synced*: its file is, byte for byte, the entry of the
snapshot the working tree was last synced to (``meta["synced"]``). When every scanned
file has an unchanged, synced row and the counts agree, the tree is clean without
loading that snapshot's manifest (:meth:`Index.is_clean`, the fast path of status).
"""

from __future__ import annotations

import contextlib
import itertools
import marshal
import os
import struct
import time
from collections.abc import Callable, Container, Iterator, Mapping
from pathlib import Path
from typing import IO

from lobs.clean_marker import clean_marker_path
from lobs.frames import CHUNK, read_frame, write_frame
from lobs.fsutil import atomic_writer
from lobs.hashing import hash_bytes, hash_file
from lobs.model import Entry
from lobs.scan import LocalFile

RACY_NS = 2_000_000_000
MAGIC = b"lobs.index/4\n"
_MAGIC_V3 = b"lobs.index/3\n"  # the same rows, in one marshal blob (saving a million rows copied 120 MB at once)
_MAGIC_V2 = b"lobs.index/2\n"  # rows were tuples (size, mtime, ctime, ino, sha, xxh, synced)
CHUNK_ROWS = CHUNK  # /4: frames (lobs.frames): (meta, row count), then the rows in chunks

# A row is 81 bytes: the stat key (size, mtime_ns, ctime_ns, inode), a flags byte, the
# sha256 digest and the xxh128 digest (raw, zeros when absent). The stat key is
# LocalFile.key (scan.pack_stat), kept packed from the walk on. Bytes, not tuples of
# ints and hex strings: a million rows take ~200 MB rather than ~500 MB, and load faster.
_ROW = struct.Struct("<qqqQB32s16s")
_FLAGS = 32  # offset of the flags byte
SYNCED, HAS_SHA, HAS_XXH = 1, 2, 4
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
            current = False
            try:
                with open(db_path, "rb") as f:
                    current = f.read(len(MAGIC)) == MAGIC
                    if current:  # a corrupt index is only a cache: else start over
                        self._rows, self.meta = _load_frames(f)
                    else:
                        f.seek(0)
                        self._rows, self.meta = _load(f.read())
            except OSError:
                pass
            self._changed = not current and bool(self._rows)  # an older format: rewrite

    def lookup(self, f: LocalFile, algo: str) -> str | None:
        row, key = self._rows.get(f.path), f.key
        lo, hi, flag = _DIGEST[algo]
        if row is None or not row.startswith(key) or not row[_FLAGS] & flag:
            return None
        return row[lo:hi].hex()

    def stat_key(self, path: str) -> bytes | None:
        """The stat key (:attr:`LocalFile.key`) that ``path``'s row was recorded with, if any."""
        row = self._rows.get(path)
        return row[:_FLAGS] if row is not None else None

    def record(self, f: LocalFile, algo: str, digest: str, now_ns: int | None = None) -> None:
        now_ns = now_ns if now_ns is not None else time.time_ns()
        key = f.key
        old = self._rows.get(f.path)
        keep = old is not None and old.startswith(key)  # the other algorithm's digest stays valid
        flags = old[_FLAGS] & (HAS_SHA | HAS_XXH) if keep and old else 0
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
            synced = e is not None and e.link is None and bool(row[_FLAGS] & flag) and row[lo:hi].hex() == e.hash
            if bool(row[_FLAGS] & SYNCED) != synced:
                rows[path] = row[:_FLAGS] + bytes(((row[_FLAGS] & ~SYNCED) | (SYNCED if synced else 0),)) + row[33:]
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
            if row is None or not row[_FLAGS] & SYNCED or not row.startswith(f.key):
                return False
        return True

    def save(self) -> None:
        if self.path is None or not self._changed:
            return
        with contextlib.suppress(OSError):
            clean_marker_path(self.path).unlink()  # rows change: the marker is recomputed from them
        rows = self._rows
        with atomic_writer(self.path) as f:
            f.write(MAGIC)
            write_frame(f, (self.meta, len(rows)))
            it = iter(rows.items())
            while chunk := dict(itertools.islice(it, CHUNK_ROWS)):  # a few MB at a time, never the whole index
                write_frame(f, chunk)
        self._changed = False


def _load_frames(f: IO[bytes]) -> tuple[dict[str, bytes], dict[str, str]]:
    """Rows and meta of a /4 index, read a frame at a time; empty if anything is off."""
    try:
        head = read_frame(f)
        if not (isinstance(head, tuple) and len(head) == 2 and isinstance(head[0], dict) and isinstance(head[1], int)):
            return {}, {}
        meta, count = head
        rows: dict[str, bytes] = {}
        while len(rows) < count:
            chunk = read_frame(f)
            if not isinstance(chunk, dict) or not chunk or not _rows_ok(chunk):
                return {}, {}
            rows.update(chunk)
        if len(rows) != count or f.read(1):
            return {}, {}
        return rows, meta
    except (EOFError, ValueError, TypeError, OSError):
        return {}, {}


def _rows_ok(rows: dict[object, object]) -> bool:
    return set(map(type, rows)) == {str} and set(map(type, rows.values())) == {bytes} and set(map(len, rows.values())) == {_ROW.size}  # type: ignore[arg-type]


def _load(data: bytes) -> tuple[dict[str, bytes], dict[str, str]]:
    """Rows and meta of an index file of an older format; empty for anything unreadable."""
    for magic in (_MAGIC_V3, _MAGIC_V2):
        if data.startswith(magic):
            try:
                meta, rows = marshal.loads(memoryview(data)[len(magic) :])
            except (EOFError, ValueError, TypeError):
                return {}, {}
            if not isinstance(rows, dict) or not isinstance(meta, dict):
                return {}, {}
            if magic == _MAGIC_V2:
                try:
                    rows = {p: _from_v2(r) for p, r in rows.items()}
                except (TypeError, ValueError, struct.error, IndexError):
                    return {}, {}
            elif rows and not _rows_ok(rows):
                return {}, {}
            return rows, meta
    return {}, {}


def _from_v2(r: tuple[int, int, int, int, str | None, str | None, bool]) -> bytes:
    flags = (SYNCED if r[6] else 0) | (HAS_SHA if r[4] else 0) | (HAS_XXH if r[5] else 0)
    sha = bytes.fromhex(r[4]) if r[4] else bytes(32)
    xxh = bytes.fromhex(r[5]) if r[5] else bytes(16)
    return _ROW.pack(r[0], r[1], r[2], r[3], flags, sha, xxh)


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
        if row is not None and row[_FLAGS] & flag and row.startswith(f.key):
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
