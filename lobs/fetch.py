"""Pull's transfer step: download objects into staging, decode and verify every byte.

Each object is decoded (zstd) or hashed in place as soon as the tool reports it,
on a few threads, while the rest is still downloading; once the tool has exited,
every staged file is confirmed (an early check counts only if the file is
unchanged since) before the caller renames anything into place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from lobs.codec import decode_file
from lobs.errors import IntegrityError
from lobs.hashing import hash_file
from lobs.model import Entry
from lobs.progress import Progress
from lobs.remote import Remote, TransferReporter
from lobs.transport.base import Transfer

CHUNK_BYTES = 2 << 30  # big enough that a whole pull is usually one batch (see download_prefix)
CHUNK_FILES = 20000


def fetch_all(writes: list[Entry], algo: str, remote: Remote, staging: Path, progress: Progress, jobs: int) -> dict[str, Path]:
    """Download the object of every entry of ``writes`` that has one into ``staging/files``
    (``staging/obj`` for compressed objects on their way), decode and verify each.

    Returns path -> staged file, every one verified (hash and size). Raises
    IntegrityError for a missing or damaged object, TransportError from the transport.
    """
    by_key: dict[str, list[Entry]] = defaultdict(list)
    for e in writes:
        if e.stored is not None:
            by_key[remote.layout.object_key(e, e.stored.codec)].append(e)
    progress.phase("download", len(by_key), sum(e.stored.size for e in writes if e.stored))
    ready: dict[str, Path] = {}
    keys = sorted(by_key)
    counter = 0
    i = 0
    workers = max(1, min(jobs or (os.cpu_count() or 2), 8))
    while i < len(keys):
        chunk: list[Transfer] = []
        dests: dict[str, Path] = {}
        size = 0
        while i < len(keys) and (not chunk or (size < CHUNK_BYTES and len(chunk) < CHUNK_FILES)):
            e0 = by_key[keys[i]][0]
            assert e0.stored is not None
            dests[keys[i]] = staging / "files" / str(counter)
            counter += 1
            # a raw object lands where its file is staged and is checked in place (one copy
            # less); a compressed one is decoded from obj/ into place
            local = dests[keys[i]] if e0.stored.codec == "none" else staging / "obj" / str(i)
            chunk.append(Transfer(local, keys[i], e0.stored.size))
            size += e0.stored.size
            i += 1
        paths = {t.key: (by_key[t.key][0].path, t.size) for t in chunk}

        def check(t: Transfer, algo: str = algo, dests: dict[str, Path] = dests) -> os.stat_result:
            first = by_key[t.key][0]
            dest = dests[t.key]
            if t.local == dest:
                _verify_in_place(dest, first, algo, t.key)
            else:
                _decode(t.local, dest, first, algo, t.key)
                t.local.unlink(missing_ok=True)
            return os.stat(dest)

        with ThreadPoolExecutor(max_workers=workers) as pool:  # decompression and hashing release the GIL
            early = _CheckAsDone(TransferReporter(progress, "fetch", paths), pool, check)
            remote.transport.download(chunk, early, jobs)
            for t in chunk:
                _confirm(t, early.checks.get(t.key), check, dests[t.key])
        for t in chunk:
            entries = by_key[t.key]
            ready[entries[0].path] = dests[t.key]
            for dup in entries[1:]:
                copy = staging / "files" / str(counter)
                counter += 1
                shutil.copyfile(dests[t.key], copy)
                ready[dup.path] = copy
    return ready


class _CheckAsDone:
    """Transfer events that start decoding and verifying each object as soon as the
    tool reports it, on the pool, while the rest is still downloading."""

    def __init__(self, reporter: TransferReporter, pool: ThreadPoolExecutor, check: Callable[[Transfer], os.stat_result]) -> None:
        self.reporter, self.pool, self.check = reporter, pool, check
        self.checks: dict[str, Future[os.stat_result]] = {}

    def done(self, transfer: Transfer) -> None:
        self.checks[transfer.key] = self.pool.submit(self.check, transfer)
        self.reporter.done(transfer)

    def progress(self, nbytes: int) -> None:
        self.reporter.progress(nbytes)


def _confirm(t: Transfer, early: Future[os.stat_result] | None, check: Callable[[Transfer], os.stat_result], dest: Path) -> None:
    """Every staged file is verified once the tool has exited: an early check counts
    if the file has not changed since (same size, mtime and inode); one that failed
    or raced the tool is done again now. Raises IntegrityError."""
    if early is not None:
        st = None
        with contextlib.suppress(Exception):  # e.g. a file the tool had not finished: checked again below
            st = early.result()
        now = os.stat(dest) if st is not None else None
        if st is not None and now is not None and (now.st_size, now.st_mtime_ns, now.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino):
            return
    check(t)


def _verify_in_place(path: Path, e: Entry, algo: str, key: str) -> None:
    try:
        digest, size = hash_file(algo, path)
    except FileNotFoundError as err:
        raise IntegrityError(f"object {key} for {e.path} did not arrive", "the transport reported success for a missing object") from err
    _check_digest(e, digest, size, key)


def _decode(src: Path, dest: Path, e: Entry, algo: str, key: str) -> None:
    assert e.stored is not None
    try:
        digest, size = decode_file(src, dest, e.stored.codec, algo=algo, max_size=e.size)
    except FileNotFoundError as err:
        raise IntegrityError(f"object {key} for {e.path} did not arrive", "the transport reported success for a missing object") from err
    except IntegrityError as err:
        raise IntegrityError(f"{e.path}: {err.message} (object {key})", "nothing was changed locally; the remote copy is damaged") from err
    _check_digest(e, digest, size, key)


def _check_digest(e: Entry, digest: str, size: int, key: str) -> None:
    if size != e.size or digest != e.hash:
        raise IntegrityError(
            f"{e.path}: downloaded content does not match the snapshot (object {key})",
            "nothing was changed locally; the remote copy is damaged or was replaced",
        )
