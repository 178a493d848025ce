"""The local index: (path, size, mtime, ctime, inode) -> content hash.

An unchanged file is never hashed twice: a file whose stat matches its index row
reuses the stored hash. Racy-write guard (as git does): a file modified within
``RACY_NS`` of the moment its row is written gets no stored hash, so a change in
the same timestamp tick is never missed. Stored in SQLite, written in one
transaction, so a killed process leaves the old index or the new one.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lobs.hashing import hash_bytes, hash_file
from lobs.scan import LocalFile

RACY_NS = 2_000_000_000
SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, ino INTEGER,
  sha256 TEXT, xxh128 TEXT
) WITHOUT ROWID;
"""

Row = tuple[int, int, int, int, "str | None", "str | None"]


class Index:
    """One target's index. Not thread-safe; use from the thread that opened it."""

    def __init__(self, db_path: Path | None) -> None:
        self.path = db_path
        self._rows: dict[str, Row] = {}
        self._dirty: dict[str, Row] = {}
        self._gone: set[str] = set()
        if db_path is not None and db_path.exists():
            try:
                with sqlite3.connect(db_path) as con:
                    for r in con.execute("SELECT path,size,mtime_ns,ctime_ns,ino,sha256,xxh128 FROM files"):
                        self._rows[r[0]] = (r[1], r[2], r[3], r[4], r[5], r[6])
            except sqlite3.DatabaseError:
                self._rows = {}  # a corrupt index is only a cache: start over

    def lookup(self, f: LocalFile, algo: str) -> str | None:
        row = self._dirty.get(f.path) or self._rows.get(f.path)
        if row is None or row[:4] != (f.size, f.mtime_ns, f.ctime_ns, f.ino):
            return None
        return row[4] if algo == "sha256" else row[5]

    def record(self, f: LocalFile, algo: str, digest: str, now_ns: int | None = None) -> None:
        now_ns = now_ns if now_ns is not None else time.time_ns()
        if now_ns - f.mtime_ns < RACY_NS:
            digest_kept: str | None = None
        else:
            digest_kept = digest
        old = self._dirty.get(f.path) or self._rows.get(f.path)
        same_stat = old is not None and old[:4] == (f.size, f.mtime_ns, f.ctime_ns, f.ino)
        sha = digest_kept if algo == "sha256" else (old[4] if same_stat and old else None)
        xxh = digest_kept if algo == "xxh128" else (old[5] if same_stat and old else None)
        row: Row = (f.size, f.mtime_ns, f.ctime_ns, f.ino, sha, xxh)
        if self._rows.get(f.path) != row:
            self._dirty[f.path] = row
        self._gone.discard(f.path)

    def forget_missing(self, present: Iterable[str]) -> None:
        keep = set(present)
        self._gone |= {p for p in self._rows if p not in keep}
        for p in list(self._dirty):
            if p not in keep:
                del self._dirty[p]

    def save(self) -> None:
        if self.path is None or (not self._dirty and not self._gone):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(SCHEMA)
            with con:
                con.executemany(
                    "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?)",
                    [(p, *r) for p, r in self._dirty.items()],
                )
                con.executemany("DELETE FROM files WHERE path=?", [(p,) for p in self._gone])
        finally:
            con.close()
        self._rows.update(self._dirty)
        for p in self._gone:
            self._rows.pop(p, None)
        self._dirty.clear()
        self._gone.clear()


def hash_link(algo: str, target: str) -> str:
    return hash_bytes(algo, target.encode("utf-8"))


def resolve_hashes(
    root: Path,
    files: list[LocalFile],
    index: Index,
    algo: str,
    *,
    jobs: int = 0,
    on_hashed: Callable[[LocalFile, int], None] | None = None,
) -> dict[str, str]:
    """Return path -> hash for every file, hashing (in parallel) only what the index lacks.

    Records new hashes in ``index`` (the caller saves it). A file that vanishes
    while being hashed is left out of the result.
    """
    out: dict[str, str] = {}
    todo: list[LocalFile] = []
    for f in files:
        if f.link is not None:
            out[f.path] = hash_link(algo, f.link)
            continue
        known = index.lookup(f, algo)
        if known is not None:
            out[f.path] = known
        else:
            todo.append(f)
    if not todo:
        return out
    now_ns = time.time_ns()

    def work(f: LocalFile) -> tuple[LocalFile, str | None]:
        try:
            digest, _ = hash_file(algo, os.path.join(root, f.path))
        except FileNotFoundError:
            return f, None
        return f, digest

    workers = jobs if jobs > 0 else (os.cpu_count() or 2)
    # Big files first so that the pool ends evenly.
    todo.sort(key=lambda f: -f.size)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for f, digest in pool.map(work, todo):
            if digest is None:
                continue
            out[f.path] = digest
            index.record(f, algo, digest, now_ns)
            if on_hashed:
                on_hashed(f, f.size)
    return out
