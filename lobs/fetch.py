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
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from lobs.codec import decode_fd, decode_file
from lobs.errors import IntegrityError, ObjectMissing
from lobs.hashing import hash_file
from lobs.model import Entry
from lobs.parallel import batched, bounded_map
from lobs.progress import Progress
from lobs.remote import Remote, TransferReporter
from lobs.transport.base import Transfer, Transport

CHUNK_BYTES = 2 << 30  # big enough that a whole pull is usually one batch (see download_prefix)
CHUNK_FILES = 20000


class Staged:
    """Where :func:`fetch_all` left each write: :meth:`path` of ``j`` is the staged file of
    ``writes[j]``, verified and with its entry's mode. An array of numbers, not a dict of
    paths: for a million writes 8 MB instead of 300."""

    def __init__(self, folder: str, count: int) -> None:
        self.folder = folder
        self.numbers = array("q", [-1]) * count

    def path(self, j: int) -> str:
        return f"{self.folder}/{self.numbers[j]}"


def fetch_all(writes: list[Entry], algo: str, remote: Remote, staging: Path, progress: Progress, jobs: int) -> Staged:
    """Download the object of every entry of ``writes`` that has one into ``staging/files``
    (``staging/obj`` for compressed objects on their way), decode and verify each; entries
    with the same object share one download and get a copy. From a transport that reads
    objects in place (a folder), each is decoded straight from where it lies: no staged copy.

    Raises IntegrityError for a missing or damaged object, TransportError from the transport.
    """
    layout = remote.layout

    def key_of(e: Entry) -> str:
        assert e.stored is not None
        return layout.object_key(e, e.stored.codec)

    # Distinct objects in key order: sorted by hash and codec (cas: the key's order) or by
    # path (mirror, where keys are the paths), then equal neighbours grouped, so that no key
    # string is kept per write.
    stored_js = (j for j, e in enumerate(writes) if e.stored is not None)
    if layout.kind == "cas":
        order = sorted(stored_js, key=lambda j: writes[j].hash)  # (no tuple per write: 50 MB at a million)
        _sort_runs_by_codec(order, writes)
    else:
        _refuse_shared_mirror_keys(writes)
        order = sorted(stored_js, key=lambda j: writes[j].path)
    files = staging / "files"
    staged = Staged(str(files), len(writes))
    objs = array("q")  # write index of the first entry of each distinct object
    dups: list[tuple[int, int]] = []  # (write index, number of the object it copies)
    prev = None
    for j in order:
        key = key_of(writes[j])
        if key == prev:
            kept = writes[objs[-1]]
            if (writes[j].hash, writes[j].size) != (kept.hash, kept.size):  # a copy would go unchecked
                raise _two_contents(writes[j], key)
            dups.append((j, len(objs) - 1))
        else:
            staged.numbers[j] = len(objs)
            objs.append(j)
            prev = key
    del order
    progress.phase("download", len(objs), sum(_stored_size(writes[j]) for j in objs))
    cpus = os.cpu_count() or 2
    if remote.transport.capabilities.read_in_place:
        # file system calls block: twice as many threads as cores, as the local transport uses
        _read_in_place(objs, writes, key_of, files, algo, remote.transport, TransferReporter(progress, "fetch", {}),
                       jobs or min(8, 2 * cpus))
    else:
        for first, chunk in _chunks(objs, writes):
            _download(chunk, first, writes, key_of, staging, algo, remote, progress, max(1, min(jobs or cpus, 8)), jobs)
    counter = len(objs)
    for j, n in dups:
        copy = f"{staged.folder}/{counter}"
        shutil.copyfile(f"{staged.folder}/{n}", copy)
        os.chmod(copy, writes[j].mode)
        staged.numbers[j] = counter
        counter += 1
    return staged


def _codec(e: Entry) -> str:
    return e.stored.codec if e.stored is not None else ""


def _sort_runs_by_codec(order: list[int], writes: list[Entry]) -> None:
    """Within each run of one hash in ``order`` (files with the same content), sort by codec
    too: equal keys side by side."""
    i = 0
    while i < len(order):
        k, digest = i + 1, writes[order[i]].hash
        while k < len(order) and writes[order[k]].hash == digest:
            k += 1
        if k - i > 1:
            order[i:k] = sorted(order[i:k], key=lambda j: _codec(writes[j]))
        i = k


def _refuse_shared_mirror_keys(writes: list[Entry]) -> None:
    """In a mirror, file ``x`` compressed is stored as ``x.zst``: a snapshot that also has a
    file ``x.zst`` gives that key two contents (push never writes one). Raises IntegrityError."""
    paths = sorted(e.path for e in writes)
    for e in writes:
        if _codec(e) == "zstd":
            twin = e.path + ".zst"
            i = bisect_left(paths, twin)
            if i < len(paths) and paths[i] == twin:
                raise _two_contents(e, twin)


def _two_contents(e: Entry, key: str) -> IntegrityError:
    return IntegrityError(f"{e.path}: the snapshot gives the object {key} two different contents",
                          "nothing was changed locally; the snapshot is corrupt or malicious")


def _stored_size(e: Entry) -> int:
    return e.stored.size if e.stored is not None else 0


def _chunks(objs: array[int], writes: list[Entry]) -> Iterator[tuple[int, array[int]]]:
    """(number of the first object, write indices) of each batch given to the transport at once."""
    i = 0
    while i < len(objs):
        first, size = i, 0
        while i < len(objs) and (i == first or (size < CHUNK_BYTES and i - first < CHUNK_FILES)):
            stored = writes[objs[i]].stored
            assert stored is not None
            size += stored.size
            i += 1
        yield first, objs[first:i]


def _download(chunk_js: array[int], first: int, writes: list[Entry], key_of: Callable[[Entry], str], staging: Path,
              algo: str, remote: Remote, progress: Progress, workers: int, jobs: int) -> None:
    """Download one batch: the object of ``writes[chunk_js[n]]`` ends verified at
    ``staging/files/<first + n>``."""
    chunk: list[Transfer] = []
    dests: dict[str, Path] = {}
    entry_of: dict[str, Entry] = {}
    for n, j in enumerate(chunk_js, first):
        e = writes[j]
        assert e.stored is not None
        key = key_of(e)
        entry_of[key] = e
        dests[key] = staging / "files" / str(n)
        # a raw object lands where its file is staged and is checked in place (one copy
        # less); a compressed one is decoded from obj/ into place
        local = dests[key] if e.stored.codec == "none" else staging / "obj" / str(n)
        chunk.append(Transfer(local, key, e.stored.size))
    paths = {t.key: (entry_of[t.key].path, t.size) for t in chunk}

    def check(t: Transfer) -> os.stat_result:
        e = entry_of[t.key]
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


def _read_in_place(objs: array[int], writes: list[Entry], key_of: Callable[[Entry], str], files: Path, algo: str,
                   transport: Transport, reporter: TransferReporter, workers: int) -> None:
    """Decode and verify each object from where the transport keeps it into
    ``files/<its number>``, on a few threads. The first failure stops the rest; every
    missing object is named in one ObjectMissing."""
    stop = threading.Event()
    missing: list[str] = []

    def one(i: int) -> None:
        if stop.is_set():
            return
        e = writes[objs[i]]
        assert e.stored is not None
        key = key_of(e)
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

    def some(batch: list[int]) -> None:
        for i in batch:
            one(i)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:  # a task per 16 objects, a few queued: no future per object (a million would take 1.5 GB)
            for _ in bounded_map(pool, some, batched(range(len(objs)), 16), workers * 2):
                pass
        except BaseException:
            stop.set()  # the tasks already queued return at once
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
