"""The fast copy of a cached snapshot: its manifest as marshal columns, in frames.

Beside each verified ``<id>.json.zst`` in ``.lobs/manifests/`` lies ``<id>.m``: a
header frame ``(target, hash, parent, created, message, count)``, then frames of up to
65,536 entries held as columns (paths, sizes, modes, hashes, codecs, stored sizes,
links, packs and offsets: a list each, no tuple per entry). Written when a push or pull caches the
snapshot, or when the JSON is first read; loads several times faster than the JSON and
never holds the whole manifest as one blob or as a million dicts. A copy that is
missing, of another format or damaged in any way reads as None, and the caller falls
back to the verified JSON.
"""

from __future__ import annotations

import contextlib
import itertools
from pathlib import Path
from typing import Any

from lobs.frames import CHUNK, read_frame, write_frame
from lobs.fsutil import atomic_writer
from lobs.model import Entry, Manifest, Stored

MAGIC = b"lobs.manifest-cache/3\n"  # /3 added packs; /1 held one marshal blob with a tuple per entry


def write(path: Path, m: Manifest) -> None:
    """Write the fast copy of ``m`` (best effort: a cache that cannot be written is skipped)."""
    with contextlib.suppress(OSError), atomic_writer(path) as f:
        f.write(MAGIC)
        write_frame(f, (m.target, m.hash, m.parent, m.created, m.message, len(m.entries)))
        it = iter(m.entries)
        while chunk := list(itertools.islice(it, CHUNK)):
            write_frame(f, _columns(chunk))


def read(path: Path) -> Manifest | None:
    try:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                return None
            target, algo, parent, created, message, count = read_frame(f)
            entries: list[Entry] = []
            one: dict[object, Any] = {}  # a single object for each mode and codec name
            while len(entries) < count:
                _add_entries(entries, read_frame(f), one)
            if len(entries) != count or f.read(1):
                return None
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return Manifest(target, algo, parent, created, message, entries)


def _columns(es: list[Entry]) -> tuple[list[Any], ...]:
    stored = [e.stored for e in es]
    return (
        [e.path for e in es],
        [e.size for e in es],
        [e.mode for e in es],
        [e.hash for e in es],
        [s.codec if s else None for s in stored],
        [s.size if s else 0 for s in stored],
        [e.link for e in es],
        [s.pack if s else None for s in stored],
        [s.offset if s else 0 for s in stored],
    )


def _add_entries(out: list[Entry], cols: Any, one: dict[object, Any]) -> None:
    paths, sizes, modes, hashes, codecs, ssizes, links, packs, offsets = cols
    if not paths:
        raise ValueError("empty frame")
    for p, size, mode, h, c, ss, link, pk, off in zip(paths, sizes, modes, hashes, codecs, ssizes, links, packs, offsets, strict=True):
        st = Stored(one.setdefault(c, c), ss, None, one.setdefault(pk, pk), off) if c is not None else None
        out.append(Entry(p, size, one.setdefault(mode, mode), h, st, link))
