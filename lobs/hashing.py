"""Content hashes: sha256 (default, equals the Git LFS oid) and xxh128 (fast)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from typing import Protocol

import xxhash

CHUNK = 1 << 20
SMALL = 64 << 10  # read at once, into a fresh bytes object


_local = threading.local()


def read_buffer() -> bytearray:
    """One read buffer per thread, reused: allocating (and zeroing) 1 MiB per file would
    cost more than hashing a small file."""
    buf: bytearray | None = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(CHUNK)
    return buf


class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


def new_hasher(algo: str) -> Hasher:
    if algo == "sha256":
        return hashlib.sha256()
    if algo == "xxh128":
        return xxhash.xxh3_128()
    raise ValueError(f"unknown hash {algo!r}")


def hash_bytes(algo: str, data: bytes) -> str:
    h = new_hasher(algo)
    h.update(data)
    return h.hexdigest()


def hash_file(algo: str, path: str | os.PathLike[str], on_bytes: Callable[[int], None] | None = None) -> tuple[str, int]:
    """Stream ``path`` through the hash. Returns (hex digest, bytes read). Raises OSError."""
    h = new_hasher(algo)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        first = os.read(fd, SMALL)  # most files of a big tree end here: no buffer, no file object
        total = len(first)
        if total:
            h.update(first)
            if on_bytes is not None:
                on_bytes(total)
        if total == SMALL:
            buf = read_buffer()
            view = memoryview(buf)
            with open(fd, "rb", buffering=0, closefd=False) as f:
                while n := f.readinto(buf):
                    h.update(view[:n])
                    total += n
                    if on_bytes is not None:
                        on_bytes(n)
    finally:
        os.close(fd)
    return h.hexdigest(), total
