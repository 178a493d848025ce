"""The byte-level pieces of a lobs archive: tar members, zstd framing, hardened reading.

Writing: :func:`file_member`, :func:`link_member` and :func:`manifest_member`
build deterministic pax headers (uid/gid 0, empty user and group names, one
fixed mtime, no atime/ctime). Reading: :class:`SafeTarInfo` refuses oversized
metadata headers and sparse members before :mod:`tarfile` buffers them, and
reports a missing end-of-archive marker as truncation; :class:`ZstdReader`
decompresses with bounded memory and notices a truncated frame;
:class:`CappedReader` stops a decompression bomb. See docs/archive.md.
"""

from __future__ import annotations

import tarfile
from typing import IO, Any

import zstandard

from lobs.errors import IntegrityError

MANIFEST_NAME = ".lobs/manifest.json"
RESERVED_PREFIX = ".lobs/"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAX_META_HEADER = 1 << 20  # a pax or GNU long-name header larger than this is hostile
ZSTD_IN_CHUNK = 2048  # bounds what one decompress call can produce (~64 MiB worst case)
META_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)

CORRUPT_HINT = "the archive is damaged or was crafted; nothing was written"


def _base(name: str, mtime: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.mtime = mtime
    return ti


def file_member(name: str, size: int, mode: int, mtime: int) -> tarfile.TarInfo:
    """A regular-file member header."""
    ti = _base(name, mtime)
    ti.type = tarfile.REGTYPE
    ti.size = size
    ti.mode = mode & 0o7777
    return ti


def link_member(name: str, target: str, mtime: int) -> tarfile.TarInfo:
    """A symbolic-link member header (mode 0777, as the manifest records links)."""
    ti = _base(name, mtime)
    ti.type = tarfile.SYMTYPE
    ti.linkname = target
    ti.mode = 0o777
    return ti


def manifest_member(size: int, mtime: int) -> tarfile.TarInfo:
    return file_member(MANIFEST_NAME, size, 0o644, mtime)


class SafeTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses hostile headers while tarfile parses them.

    Raises IntegrityError for a truncated header block, a missing end-of-archive
    marker, a pax/GNU metadata header above MAX_META_HEADER, and sparse members.
    """

    @classmethod
    def fromtarfile(cls, tarfile_: Any) -> Any:
        buf = tarfile_.fileobj.read(tarfile.BLOCKSIZE)
        if not buf and tarfile_.offset == 0:
            raise IntegrityError("the archive is empty", CORRUPT_HINT)
        if len(buf) < tarfile.BLOCKSIZE:
            raise IntegrityError(
                "archive is truncated (it ends without the end-of-archive marker)", CORRUPT_HINT
            )
        obj = cls.frombuf(buf, tarfile_.encoding, tarfile_.errors)
        obj.offset = tarfile_.fileobj.tell() - tarfile.BLOCKSIZE
        if obj.type in META_TYPES and obj.size > MAX_META_HEADER:
            raise IntegrityError(f"archive has a {obj.size}-byte metadata header", CORRUPT_HINT)
        if obj.type == tarfile.GNUTYPE_SPARSE:
            raise IntegrityError(f"{obj.name!r} is a sparse member, which lobs does not import", CORRUPT_HINT)
        return obj._proc_member(tarfile_)  # type: ignore[attr-defined]


class ZstdReader:
    """Decompress a zstd stream (one or more frames) with bounded memory.

    ``read`` raises IntegrityError on corrupt data, a checksum mismatch, or a
    stream that ends inside a frame (truncation).
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._obj: Any = None
        self._buf = bytearray()
        self._pending = b""
        self._done = False

    def _fill(self) -> None:
        while not self._buf and not self._done:
            data = self._pending or self._raw.read(ZSTD_IN_CHUNK)
            self._pending = b""
            if not data:
                if self._obj is not None and not self._obj.eof:
                    raise IntegrityError("archive is truncated (the zstd stream ends mid-frame)", CORRUPT_HINT)
                self._done = True
                return
            if self._obj is None or self._obj.eof:
                self._obj = self._dctx.decompressobj()
            if len(data) > ZSTD_IN_CHUNK:
                data, self._pending = data[:ZSTD_IN_CHUNK], data[ZSTD_IN_CHUNK:]
            try:
                self._buf += self._obj.decompress(data)
            except zstandard.ZstdError as e:
                raise IntegrityError(f"archive is corrupt ({e})", CORRUPT_HINT) from e
            if self._obj.eof and self._obj.unused_data:
                self._pending = self._obj.unused_data + self._pending

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts = []
            while chunk := self.read(1 << 20):
                parts.append(chunk)
            return b"".join(parts)
        self._fill()
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


class CappedReader:
    """Count bytes read through it; IntegrityError once more than ``cap`` were read."""

    def __init__(self, raw: Any, cap: int, what: str) -> None:
        self._raw = raw
        self.cap = cap
        self.what = what
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._raw.read(n)
        self.count += len(data)
        if self.count > self.cap:
            raise IntegrityError(
                f"archive decompresses to more than {self.cap} bytes ({self.what})",
                "a decompression bomb or a lying manifest; nothing was written",
            )
        return data


class Prefixed:
    """A stream with some bytes (already sniffed) put back in front."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self._head = head
        self._raw = raw

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n is None or n < 0:
                out, self._head = self._head + self._raw.read(), b""
                return out
            out, self._head = self._head[:n], self._head[n:]
            return out
        return self._raw.read(n)


def open_decoded(raw: IO[bytes]) -> tuple[Any, bool]:
    """Sniff the zstd magic. Returns (a reader of the tar bytes, True if it was zstd)."""
    head = b""
    while len(head) < 4:
        more = raw.read(4 - len(head))
        if not more:
            break
        head += more
    src = Prefixed(head, raw)
    if head == ZSTD_MAGIC:
        return ZstdReader(src), True  # type: ignore[arg-type]
    return src, False
