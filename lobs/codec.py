"""Per-file compression: decide, compress while hashing, decompress while verifying.

``auto`` compresses with zstd level 3 where a sample shows it pays (at least
10% smaller) and stores raw otherwise (already-compressed formats). Everything
streams in 1 MiB chunks: no file is ever held in memory whole.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import zstandard

from lobs.errors import ConfigError, IntegrityError
from lobs.fsutil import open_read, open_scratch, write_all
from lobs.hashing import CHUNK, new_hasher, read_buffer

SAMPLE = 128 * 1024
MIN_SAVING = 0.10
DEFAULT_LEVEL = 3
# Formats that are compressed already: never worth a second pass.
INCOMPRESSIBLE_SUFFIXES = frozenset(
    [".gz", ".tgz", ".bz2", ".xz", ".zst", ".zstd", ".lz4", ".br", ".zip", ".7z", ".rar", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".heic", ".mp3", ".mp4", ".m4a", ".m4v", ".mkv", ".mov", ".webm", ".ogg", ".opus", ".flac", ".pdf", ".docx", ".xlsx", ".pptx", ".jar", ".whl"]
)


@dataclass(frozen=True)
class Compression:
    """A parsed ``compression:`` setting: mode ``auto``, ``none`` or ``zstd`` and a level."""

    mode: str = "auto"
    level: int = DEFAULT_LEVEL

    @staticmethod
    def parse(text: str | None) -> Compression:
        t = (text or "auto").strip().lower()
        if t in ("auto", "none"):
            return Compression(mode=t)
        if t == "zstd":
            return Compression(mode="zstd")
        if t.startswith("zstd:"):
            try:
                level = int(t[5:])
            except ValueError:
                level = 0
            if 1 <= level <= 22:
                return Compression(mode="zstd", level=level)
        raise ConfigError(f"invalid compression {text!r}", "use auto, none or zstd:LEVEL with LEVEL 1-22")


def choose_codec(path: Path, size: int, setting: Compression, *, defer_small: bool = False) -> str:
    """Return ``zstd`` or ``none`` for a file, reading at most a small sample. With
    ``defer_small``, a file no bigger than a sample is not read: ``auto`` says the caller
    compresses it whole anyway and keeps the result only if it :func:`pays`."""
    if setting.mode == "none" or size == 0:
        return "none"
    if setting.mode == "zstd":
        return "zstd"
    if path.suffix.lower() in INCOMPRESSIBLE_SUFFIXES:
        return "none"
    if size < 64:
        return "none"  # the frame header eats the saving
    if defer_small and size <= SAMPLE:
        return "auto"
    try:
        fd = open_read(path)
        try:
            sample = os.read(fd, SAMPLE)
            if size > 4 * SAMPLE:  # a second look from the middle of big files
                sample += os.pread(fd, SAMPLE, size // 2)
        finally:
            os.close(fd)
    except OSError:
        return "none"
    if not sample:
        return "none"
    return "zstd" if pays(len(sample), len(_sampler().compress(sample))) else "none"


def pays(raw: int, packed: int) -> bool:
    """Is storing ``packed`` bytes instead of ``raw`` worth a decompression on every read?"""
    return packed <= raw * (1 - MIN_SAVING)


_local = threading.local()


def _sampler() -> zstandard.ZstdCompressor:
    """One level-1 compressor per thread, reused: making one costs more than a small sample."""
    z: zstandard.ZstdCompressor | None = getattr(_local, "z", None)
    if z is None:
        z = _local.z = zstandard.ZstdCompressor(level=1)
    return z


def compress_file(
    src: Path,
    dest: Path,
    *,
    level: int,
    algo: str,
    expect_hash: str | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> tuple[str, int]:
    """Compress ``src`` into ``dest`` while hashing the source.

    ``dest`` is scratch space (push staging, whose folder must exist): written in
    place, not through a temp file and a rename, and deleted if anything fails.
    Returns (hash of the uncompressed bytes, compressed size). If ``expect_hash``
    is given and differs, IntegrityError is raised (the file changed since it was
    scanned).
    """
    h = new_hasher(algo)
    cctx = compressor(level)
    fin = open_read(src)
    try:
        fd = open_scratch(dest)
        try:
            data = os.read(fin, CHUNK)
            if len(data) < CHUNK and not os.read(fin, 1):  # most files: one read, one call, no file objects
                h.update(data)
                packed = cctx.compress(data)
                write_all(fd, packed)
                stored_size = len(packed)
                if on_bytes:
                    on_bytes(len(data))
            else:
                os.lseek(fin, len(data), os.SEEK_SET)
                with os.fdopen(fd, "wb", closefd=False) as out, open(fin, "rb", closefd=False) as f:
                    with cctx.stream_writer(out, size=os.fstat(fin).st_size, closefd=False) as zw:
                        while data:
                            h.update(data)
                            zw.write(data)
                            if on_bytes:
                                on_bytes(len(data))
                            data = f.read(CHUNK)
                    stored_size = out.tell()
        finally:
            os.close(fd)
        digest = h.hexdigest()
        if expect_hash is not None and digest != expect_hash:
            raise IntegrityError(f"{src} changed while it was being pushed", "re-run the push")
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(dest)
        raise
    finally:
        os.close(fin)
    return digest, stored_size


def compressor(level: int) -> zstandard.ZstdCompressor:
    """One compressor per thread and level, reused (making one costs more than compressing a small file)."""
    cache: dict[int, zstandard.ZstdCompressor] | None = getattr(_local, "by_level", None)
    if cache is None:
        cache = _local.by_level = {}
    z = cache.get(level)
    if z is None:
        z = cache[level] = zstandard.ZstdCompressor(level=level, write_content_size=True)
    return z


SMALL_OBJECT = 4 << 20  # decoded size up to which an object is decoded in one call


def decode_file(src: Path, dest: Path, codec: str, *, algo: str, max_size: int) -> tuple[str, int]:
    """:func:`decode_fd` of the file ``src``. Raises IntegrityError, OSError."""
    fin = open_read(src)
    try:
        return decode_fd(fin, dest, codec, algo=algo, max_size=max_size)
    finally:
        os.close(fin)


def decode_fd(fin: int, dest: Path, codec: str, *, algo: str, max_size: int) -> tuple[str, int]:
    """:func:`decode_stream` from the descriptor ``fin`` into a new ``dest`` (scratch: created
    or truncated), without file objects where it can: a small zstd object is read and
    decoded in one call, its frame header's size claim checked first, so a lying object
    never makes lobs allocate more than ``max_size``; a raw object is read, hashed and
    written in one pass. Raises IntegrityError, OSError."""
    if codec == "none":
        return _copy_hashing(fin, dest, algo, max_size)
    if codec == "zstd" and max_size <= SMALL_OBJECT:
        data = read_upto(fin, max_size + (max_size >> 6) + 4096)  # zstd never grows data by this much
        if os.read(fin, 1):
            raise IntegrityError(f"compressed object is larger than {max_size} bytes can compress to")
        return decode_bytes(data, dest, codec, algo=algo, max_size=max_size)
    with open(fin, "rb", closefd=False) as f, open(dest, "wb") as out_f:
        return decode_stream(f, out_f, codec, algo=algo, max_size=max_size)


def decode_bytes(data: bytes, dest: Path, codec: str, *, algo: str, max_size: int) -> tuple[str, int]:
    """Decode a whole stored object (or a pack's slice) held in memory into a new ``dest``
    (scratch), its frame header's size claim checked first: nothing larger than
    ``max_size`` (at most :data:`SMALL_OBJECT`) is ever allocated. Returns (digest, size).
    Raises IntegrityError, OSError."""
    if codec == "none":
        if len(data) > max_size:
            raise IntegrityError(f"object is larger than the {max_size} bytes the manifest says")
        out = data
    else:
        try:
            claimed = zstandard.frame_content_size(data)  # -1 when the header does not say
        except zstandard.ZstdError as e:
            raise IntegrityError(f"corrupt zstd object: {e}") from e
        if claimed > max_size:
            raise IntegrityError(f"object decodes to more than the {max_size} bytes the manifest says")
        try:
            out = _decompressor().decompress(data, max_output_size=max_size + 1)
        except zstandard.ZstdError as e:
            raise IntegrityError(f"corrupt zstd object: {e}") from e
        if len(out) > max_size:
            raise IntegrityError(f"object decodes to more than the {max_size} bytes the manifest says")
    h = new_hasher(algo)
    h.update(out)
    fout = open_scratch(dest)
    try:
        write_all(fout, out)
    finally:
        os.close(fout)
    return h.hexdigest(), len(out)


def _copy_hashing(fin: int, dest: Path, algo: str, max_size: int) -> tuple[str, int]:
    """Copy a raw object, hashing exactly the bytes written: one read of each byte."""
    h = new_hasher(algo)
    buf = read_buffer()  # the thread's 1 MiB read buffer, shared with hashing
    view = memoryview(buf)
    total = 0
    fout = open_scratch(dest)
    try:
        while n := os.readv(fin, [buf]):
            total += n
            if total > max_size:
                raise IntegrityError(f"object is larger than the {max_size} bytes the manifest says")
            h.update(view[:n])
            write_all(fout, view[:n])
    finally:
        os.close(fout)
    return h.hexdigest(), total


def read_upto(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``fd`` (fewer only at its end)."""
    parts: list[bytes] = []
    while limit > 0 and (part := os.read(fd, limit)):
        parts.append(part)
        limit -= len(part)
    return b"".join(parts)


def _decompressor() -> zstandard.ZstdDecompressor:
    z: zstandard.ZstdDecompressor | None = getattr(_local, "dctx", None)
    if z is None:
        z = _local.dctx = zstandard.ZstdDecompressor()
    return z


def decode_stream(
    src: IO[bytes],
    out: IO[bytes],
    codec: str,
    *,
    algo: str,
    max_size: int,
) -> tuple[str, int]:
    """Copy ``src`` to ``out``, decompressing if ``codec`` is zstd, hashing the output.

    Stops with IntegrityError as soon as the output exceeds ``max_size`` (a lying
    or bomb object). Returns (hash, size) of the decoded bytes.
    """
    h = new_hasher(algo)
    total = 0
    reader: IO[bytes]
    if codec == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(src, read_across_frames=True)
    elif codec == "none":
        reader = src
    else:
        raise IntegrityError(f"unknown codec {codec!r}")
    try:
        while chunk := reader.read(CHUNK):
            total += len(chunk)
            if total > max_size:
                raise IntegrityError(f"object decodes to more than the {max_size} bytes the manifest says")
            h.update(chunk)
            out.write(chunk)
    except zstandard.ZstdError as e:
        raise IntegrityError(f"corrupt zstd object: {e}") from e
    return h.hexdigest(), total
