"""The clean marker beside a target's index (docs/formats.md, "Local state").

When the index rows say the tree is exactly the synced snapshot, status remembers the
scan's signature (every folder walked: names, sizes, mtimes, ctimes, inodes, modes, and
the root rules; see :mod:`lobs.scan`). A later status whose walk gives the same signature
is clean without listing files or loading the index: the walk saw exactly what the rows
vouched for. Any save of the rows removes the marker (:meth:`lobs.index.Index.save`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from lobs.fsutil import atomic_write_bytes

_CLEAN_MAGIC = "lobs.clean/2"


def clean_marker_path(index_path: Path) -> Path:
    return index_path.with_name(index_path.name + ".clean")


def has_clean_marker(index_path: Path) -> bool:
    return clean_marker_path(index_path).exists()


def clean_marker_matches(index_path: Path, signature: str, count: int, snap_id: str, synced_count: int) -> bool:
    """Does the marker vouch for a scan with this ``signature`` (:attr:`ScanResult.signature`)
    and ``count`` files, synced to ``snap_id`` of ``synced_count`` files?"""
    try:
        magic, snap, n, sig = clean_marker_path(index_path).read_text(encoding="utf-8").split()
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return magic == _CLEAN_MAGIC and snap == snap_id and n == str(count) == str(synced_count) and bool(signature) and sig == signature


def write_clean_marker(index_path: Path, signature: str, count: int, snap_id: str) -> None:
    """Call only right after :meth:`Index.is_clean` said True for the same scan. Never raises."""
    if signature:
        with contextlib.suppress(OSError):
            atomic_write_bytes(clean_marker_path(index_path), f"{_CLEAN_MAGIC} {snap_id} {count} {signature}\n".encode())
