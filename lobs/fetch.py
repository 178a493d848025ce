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
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from lobs.codec import decode_fd, decode_file
from lobs.errors import IntegrityError, ObjectMissing
from lobs.hashing import hash_file
from lobs.model import Entry
from lobs.progress import Progress
from lobs.remote import Remote, TransferReporter
from lobs.transport.base import Transfer, Transport

CHUNK_BYTES = 2 << 30  # big enough that a whole pull is usually one batch (see download_prefix)
CHUNK_FILES = 20000


def fetch_all(writes: list[Entry], algo: str, remote: Remote, staging: Path, progress: Progress, jobs: int) -> dict[str, Path]:
    """Download the object of every entry of ``writes`` that has one into ``staging/files``
    (``staging/obj`` for compressed objects on their way), decode and verify each. From a
    transport that reads objects in place (a folder), each is decoded straight from where
    it lies: no staged copy.

    Returns path -> staged file, every one verified (hash and size) and with its entry's
    mode. Raises
    IntegrityError for a missing or damaged object, TransportError from the transport.
    """
    by_key: dict[str, list[Entry]] = defaultdict(list)
    for e in writes:
        if e.stored is not None:
            by_key[remote.layout.object_key(e, e.stored.codec)].append(e)
    progress.phase("download", len(by_key), sum(e.stored.size for e in writes if e.stored))
    keys = sorted(by_key)
    files = staging / "files"
    cpus = os.cpu_count() or 2
    if remote.transport.capabilities.read_in_place:
        # file system calls block: twice as many threads as cores, as the local transport uses
        _read_in_place(keys, by_key, files, algo, remote.transport, TransferReporter(progress, "fetch", {}), jobs or min(8, 2 * cpus))
    else:
        for first, chunk in _chunks(keys, by_key):
            _download(chunk, first, by_key, staging, algo, remote, progress, max(1, min(jobs or cpus, 8)), jobs)
    ready: dict[str, Path] = {}
    counter = len(keys)
    for i, key in enumerate(keys):
        entries = by_key[key]
        ready[entries[0].path] = files / str(i)
        for dup in entries[1:]:
            copy = files / str(counter)
            counter += 1
            shutil.copyfile(files / str(i), copy)
            os.chmod(copy, dup.mode)
            ready[dup.path] = copy
    return ready


def _chunks(keys: list[str], by_key: dict[str, list[Entry]]) -> Iterator[tuple[int, list[str]]]:
    """(index of the first key, keys) of each batch given to the transport at once."""
    i = 0
    while i < len(keys):
        first, size = i, 0
        while i < len(keys) and (i == first or (size < CHUNK_BYTES and i - first < CHUNK_FILES)):
            stored = by_key[keys[i]][0].stored
            assert stored is not None
            size += stored.size
            i += 1
        yield first, keys[first:i]


def _download(keys: list[str], first: int, by_key: dict[str, list[Entry]], staging: Path, algo: str, remote: Remote,
              progress: Progress, workers: int, jobs: int) -> None:
    """Download one batch: key ``keys[j]`` ends verified at ``staging/files/<first + j>``."""
    chunk: list[Transfer] = []
    dests: dict[str, Path] = {}
    for j, key in enumerate(keys, first):
        stored = by_key[key][0].stored
        assert stored is not None
        dests[key] = staging / "files" / str(j)
        # a raw object lands where its file is staged and is checked in place (one copy
        # less); a compressed one is decoded from obj/ into place
        local = dests[key] if stored.codec == "none" else staging / "obj" / str(j)
        chunk.append(Transfer(local, key, stored.size))
    paths = {t.key: (by_key[t.key][0].path, t.size) for t in chunk}

    def check(t: Transfer) -> os.stat_result:
        e = by_key[t.key][0]
        dest = dests[t.key]
        if t.local == dest:
            _verify_in_place(dest, e, algo, t.key)
        else:
            _decode(t.local, dest, e, algo, t.key)
            t.local.unlink(missing_ok=True)
        os.chmod(dest, e.mode)
        return os.stat(dest)

    with ThreadPoolExecutor(max_workers=workers) as pool:  # decompression and hashing release the GIL
        early = _CheckAsDone(TransferReporter(progress, "fetch", paths), pool, check)
        remote.transport.download(chunk, early, jobs)
        for t in chunk:
            _confirm(t, early.checks.get(t.key), check, dests[t.key])


def _read_in_place(keys: list[str], by_key: dict[str, list[Entry]], files: Path, algo: str, transport: Transport,
                   reporter: TransferReporter, workers: int) -> None:
    """Decode and verify each object from where the transport keeps it into
    ``files/<its index>``, on a few threads. The first failure stops the rest; every
    missing object is named in one ObjectMissing."""
    stop = threading.Event()
    missing: list[str] = []

    def one(i: int) -> None:
        if stop.is_set():
            return
        key = keys[i]
        e = by_key[key][0]
        assert e.stored is not None
        try:
            fin = transport.open_object(key)
        except ObjectMissing:
            missing.append(key)
            return
        dest = files / str(i)
        try:
            _decode(fin, dest, e, algo, key)
        finally:
            os.close(fin)
        os.chmod(dest, e.mode)
        reporter.progress(e.stored.size)
        reporter.done(Transfer(dest, key, e.stored.size, item=(e.path, e.size)))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one, i) for i in range(len(keys))]
        try:
            for f in futures:
                f.result()
        except BaseException:
            stop.set()
            for f in futures:
                f.cancel()
            raise
    if missing:
        missing.sort()
        raise ObjectMissing(f"{len(missing)} object(s) missing from {transport.root}: {', '.join(missing[:3])}",
                            "the remote is incomplete: run `lobs push --repair` from a copy that has the files", failed=missing)


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


def _decode(src: Path | int, dest: Path, e: Entry, algo: str, key: str) -> None:
    """Decode ``src`` (a staged file, or a descriptor open on the object) into ``dest`` and check it."""
    assert e.stored is not None
    try:
        if isinstance(src, int):
            digest, size = decode_fd(src, dest, e.stored.codec, algo=algo, max_size=e.size)
        else:
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
