"""Bring one remote snapshot's files into a local work folder, decoded and verified.

Objects are downloaded through the remote's transport in batches, decoded
(zstd or raw) with a size cap, and checked against the snapshot's hash before
they are used. Content shared by several paths is fetched once.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lobs.codec import decode_stream
from lobs.errors import IntegrityError
from lobs.hashing import hash_bytes, hash_file
from lobs.model import Entry, Manifest, Stored
from lobs.packs import object_id, open_stored
from lobs.progress import Progress
from lobs.remote import Remote, TransferReporter
from lobs.transport.base import Transfer

BATCH_BYTES = 512 << 20
BATCH_FILES = 2000


@dataclass
class Fetched:
    """A snapshot turned into an archive manifest (sha256, stored raw) and local files."""

    manifest: Manifest
    files: dict[str, Path] = field(default_factory=dict)  # entry path -> decoded file


def fetch_snapshot(remote: Remote, snap_id: str, work: Path, progress: Progress, jobs: int = 0) -> Fetched:
    """Download and verify every file of ``snap_id`` into ``work`` (which must exist).

    Raises NotFoundError (no such snapshot), TransportError, and IntegrityError
    when an object does not decode to the size and hash its snapshot records.
    """
    snap = remote.read_snapshot(snap_id)
    by_key: dict[str, list[Entry]] = defaultdict(list)  # object id -> entries with those stored bytes
    in_key: dict[str, list[str]] = defaultdict(list)  # key -> the object ids it holds (a pack: many)
    for e in snap.entries:
        if e.stored is not None:
            oid = object_id(remote.layout, e)
            if oid not in by_key:
                in_key[remote.layout.key_of(e)].append(oid)
            by_key[oid].append(e)
    total = sum(v[0].stored.size for v in by_key.values() if v[0].stored)
    progress.phase("download", len(in_key), total)
    (work / "obj").mkdir(exist_ok=True)
    (work / "files").mkdir(exist_ok=True)
    decoded: dict[str, tuple[Path, str]] = {}  # object id -> (file, sha256)
    keys = sorted(in_key)
    i = n = 0
    while i < len(keys):
        batch: list[Transfer] = []
        size = 0
        while i < len(keys) and (not batch or (size < BATCH_BYTES and len(batch) < BATCH_FILES)):
            held = sum(_stored_size(by_key[oid][0]) for oid in in_key[keys[i]])
            batch.append(Transfer(work / "obj" / str(i), keys[i], held))
            size += held
            i += 1
        _download(remote, batch, by_key, in_key, progress, jobs)
        for t in batch:
            try:
                for oid in in_key[t.key]:
                    decoded[oid] = _decode(t, by_key[oid][0], snap.hash, work / "files" / str(n))
                    n += 1
            finally:
                t.local.unlink(missing_ok=True)
    return Fetched(_archive_manifest(snap, snap_id, by_key, decoded), _paths(by_key, decoded))


def _stored_size(e: Entry) -> int:
    return e.stored.size if e.stored is not None else 0


def _download(remote: Remote, batch: list[Transfer], by_key: dict[str, list[Entry]], in_key: dict[str, list[str]],
              progress: Progress, jobs: int) -> None:
    paths = {t.key: (by_key[in_key[t.key][0]][0].path, t.size) for t in batch}
    remote.transport.download(batch, TransferReporter(progress, "fetch", paths), jobs)


def _decode(t: Transfer, e: Entry, algo: str, dest: Path) -> tuple[Path, str]:
    assert e.stored is not None
    try:
        with open_stored(t.local, e.stored) as fin, open(dest, "wb") as fout:
            digest, size = decode_stream(fin, fout, e.stored.codec, algo=algo, max_size=e.size)
    except FileNotFoundError as err:
        raise IntegrityError(f"object {t.key} for {e.path} did not arrive", "the transport reported success for a missing object") from err
    except IntegrityError as err:
        raise IntegrityError(f"{e.path}: {err.message} (object {t.key})", "the remote copy is damaged; nothing was exported") from err
    if size != e.size or digest != e.hash:
        raise IntegrityError(
            f"{e.path}: downloaded content does not match the snapshot (object {t.key})",
            "the remote copy is damaged or was replaced; nothing was exported",
        )
    sha = digest if algo == "sha256" else hash_file("sha256", dest)[0]
    return dest, sha


def _archive_manifest(
    snap: Manifest, snap_id: str, by_key: dict[str, list[Entry]], decoded: dict[str, tuple[Path, str]]
) -> Manifest:
    sha_of = {e.path: decoded[key][1] for key, es in by_key.items() for e in es}
    entries = []
    for e in snap.entries:
        if e.link is not None:
            entries.append(Entry(e.path, e.size, e.mode, hash_bytes("sha256", e.link.encode("utf-8")), None, e.link))
        else:
            entries.append(Entry(e.path, e.size, e.mode, sha_of[e.path], Stored("none", e.size)))
    return Manifest(
        target=snap.target, hash="sha256", parent=snap_id, created=snap.created, message=snap.message, entries=entries
    )


def _paths(by_key: dict[str, list[Entry]], decoded: dict[str, tuple[Path, str]]) -> dict[str, Path]:
    return {e.path: decoded[key][0] for key, es in by_key.items() for e in es}


def cleanup(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
