"""Packs: many small files sent as one object (cas remotes).

What a push or pull of many small files spends its time on is a request per file
(on S3 a PUT or GET each, whatever its size). A pack carries the stored bytes of
up to :data:`PACK_TARGET` of small files as one object, ``objects/packs/<id>``.
Each file's bytes in it are exactly what its own object would hold (a zstd frame,
or the raw bytes), at the offset its snapshot entry records (``Stored.pack``,
``Stored.offset``, ``Stored.size``); a pull reads that slice as it would read an
object and verifies it against the entry's hash. A pack is written whole and never
changed. Which files go into which pack is decided by the push's plan (path order,
:func:`groups`), and a pack's id is the start of the sha256 of its bytes: the same
tree pushed twice makes the same packs and the same snapshot.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from lobs.codec import SAMPLE, compressor, pays, read_upto
from lobs.errors import IntegrityError
from lobs.fsutil import open_read, open_scratch, write_all
from lobs.hashing import hash_bytes
from lobs.manifest import PACKED_MAX
from lobs.model import Entry, Stored
from lobs.remote import Layout
from lobs.transport.base import Transfer

PACK_FILE_MAX = SAMPLE  # files up to this size (128 KiB) go into packs
PACK_TARGET = 8 << 20  # files go into one pack until their sizes add up to this (before compression)

assert PACK_FILE_MAX < PACKED_MAX  # what push packs, a pull accepts


def groups(entries: Sequence[Entry], target: int = PACK_TARGET) -> Iterator[range]:
    """Split ``entries`` (in the order given) into runs of about ``target`` bytes: the
    index range of each pack."""
    start = size = 0
    for i, e in enumerate(entries):
        size += e.size
        if size >= target:
            yield range(start, i + 1)
            start, size = i + 1, 0
    if start < len(entries):
        yield range(start, len(entries))


class PackWriter:
    """One pack being written, into a scratch file of push staging (by one thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = open_scratch(path)
        self.size = 0
        self.sha = hashlib.sha256()
        self.placed: list[tuple[Entry, str, int, int]] = []  # entry, codec, stored size, offset

    def add(self, src: Path, entry: Entry, codec: str, *, level: int, algo: str) -> str:
        """Append ``src`` (the file of ``entry``) stored with ``codec``: ``zstd``, ``none``,
        or ``auto`` (compressed if that :func:`~lobs.codec.pays`). The bytes read are
        checked against the entry's size and hash. Returns the codec used; the entry's
        ``stored`` is set by :meth:`close`. Raises IntegrityError (the file changed since
        it was scanned), OSError."""
        fd = open_read(src)
        try:
            data = read_upto(fd, entry.size + 1)  # one byte more than expected tells it grew
        finally:
            os.close(fd)
        if len(data) != entry.size or hash_bytes(algo, data) != entry.hash:
            raise IntegrityError(f"{src} changed while it was being pushed", "re-run the push")
        blob, used = data, "none"
        if codec != "none" and data:
            packed = compressor(level).compress(data)
            if codec == "zstd" or pays(len(data), len(packed)):
                blob, used = packed, "zstd"
        write_all(self.fd, blob)
        self.sha.update(blob)
        self.placed.append((entry, used, len(blob), self.size))
        self.size += len(blob)
        return used

    def close(self) -> Transfer:
        """The finished pack, for the tool (a scratch file it may move); each entry added
        is told where its bytes are."""
        os.close(self.fd)
        pack = self.sha.hexdigest()[:32]
        for e, codec, size, offset in self.placed:
            e.stored = Stored(codec, size, pack=pack, offset=offset)
        contents = tuple(e for e, *_ in self.placed)  # the entries themselves: no tuple per file while the pack waits
        return Transfer(self.path, Layout.pack_key(pack), self.size, movable=True, contents=contents)

    def discard(self) -> None:
        os.close(self.fd)
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def read_slice(fd: int, stored: Stored) -> bytes:
    """The stored bytes of a packed entry from a descriptor open on its pack. Raises
    IntegrityError when the pack is shorter than the entry says."""
    assert stored.pack is not None
    data = os.pread(fd, stored.size, stored.offset) if stored.size else b""
    while 0 < len(data) < stored.size:  # pread may return less than asked
        more = os.pread(fd, stored.size - len(data), stored.offset + len(data))
        if not more:
            break
        data += more
    if len(data) != stored.size:
        raise IntegrityError(f"pack {stored.pack} ends before the {stored.size} bytes at offset {stored.offset}")
    return data


def object_id(layout: Layout, e: Entry) -> str:
    """A name for the stored bytes of ``e``: its key, or for a packed entry its pack's key
    and slice with the content's hash (entries may share a slice only if they share
    content: an empty file lies at the offset of the next)."""
    st = e.stored
    assert st is not None
    if st.pack is None:
        return layout.key_of(e)
    return f"{layout.pack_key(st.pack)}@{st.offset}+{st.size}:{st.codec}:{e.hash}"


def open_stored(path: Path, stored: Stored) -> BinaryIO:
    """The stored bytes of one entry from the downloaded object at ``path`` (its own
    object, or its pack: the slice, at most :data:`~lobs.manifest.PACKED_MAX` bytes, in
    memory). Raises OSError, IntegrityError."""
    if stored.pack is None:
        return open(path, "rb")
    fd = open_read(path)
    try:
        return io.BytesIO(read_slice(fd, stored))
    finally:
        os.close(fd)


def holds(object_size: int, stored: Stored) -> bool:
    """Can an object of ``object_size`` bytes be where ``stored`` says the bytes are?"""
    if stored.pack is None:
        return object_size == stored.size
    return object_size >= stored.offset + stored.size
