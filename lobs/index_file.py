"""The index file on disk (:class:`lobs.index.Index` holds the rows in memory).

``lobs.index/4``: the magic line, then frames (:mod:`lobs.frames`): ``(meta, row
count)``, then the rows in chunks of 65,536, so that neither saving nor loading a
million rows makes one 120 MB blob. The older ``/3`` (one marshal blob of the same
rows) and ``/2`` (a tuple per row) are read and converted. A row is 81 bytes: the stat
key (size, mtime_ns, ctime_ns, inode: ``LocalFile.key``), a flags byte, the sha256
digest and the xxh128 digest (raw, zeros when absent). Bytes, not tuples of ints and
hex strings: a million rows take ~200 MB rather than ~500 MB, and load faster.

Anything unreadable loads as no rows: the index is only a cache.
"""

from __future__ import annotations

import itertools
import marshal
import struct
from pathlib import Path
from typing import IO

from lobs.frames import CHUNK, read_frame, write_frame
from lobs.fsutil import atomic_writer

MAGIC = b"lobs.index/4\n"
_MAGIC_V3 = b"lobs.index/3\n"
_MAGIC_V2 = b"lobs.index/2\n"  # rows were tuples (size, mtime, ctime, ino, sha, xxh, synced)
CHUNK_ROWS = CHUNK
_ROW = struct.Struct("<qqqQB32s16s")
FLAGS_AT = 32  # offset of the flags byte
SYNCED, HAS_SHA, HAS_XXH = 1, 2, 4

Rows = dict[str, bytes]


def load(path: Path) -> tuple[Rows, dict[str, str], bool]:
    """(rows, meta, whether the file is of the current format); empty if missing or bad."""
    try:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) == MAGIC:
                rows, meta = _load_frames(f)
                return rows, meta, True
            f.seek(0)
            rows, meta = _load(f.read())
            return rows, meta, False
    except OSError:
        return {}, {}, False


def save(path: Path, meta: dict[str, str], rows: Rows) -> None:
    """Replace the file atomically (a killed process leaves the old index or the new one)."""
    with atomic_writer(path) as f:
        f.write(MAGIC)
        write_frame(f, (meta, len(rows)))
        it = iter(rows.items())
        while chunk := dict(itertools.islice(it, CHUNK_ROWS)):  # a few MB at a time, never the whole index
            write_frame(f, chunk)


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
