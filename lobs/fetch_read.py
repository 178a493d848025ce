"""Reading a pull's objects into staging: through the tool in batches, each object (or
each slice of a pack) decoded and verified as soon as the tool reports it, or straight
from where a folder remote keeps them (:func:`read_in_place`). Used by :mod:`lobs.fetch`,
which decides what is one object."""

from __future__ import annotations

import contextlib
import os
import threading
from array import array
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from lobs.codec import decode_bytes, decode_fd, decode_file
from lobs.errors import IntegrityError, ObjectMissing
from lobs.fsutil import open_read
from lobs.hashing import hash_file
from lobs.model import Entry
from lobs.packs import read_slice
from lobs.parallel import batched, bounded_map
from lobs.progress import Progress
from lobs.remote import Remote, TransferReporter
from lobs.transport.base import Transfer

CHUNK_BYTES = 2 << 30  # big enough that a whole pull is usually one batch (see download_prefix)
CHUNK_FILES = 20000

Unit = int | str  # an object number (an object of its own), or a pack id (every object in it)


def chunks(objs: array[int], packs: dict[str, array[int]], writes: list[Entry]) -> Iterator[list[Unit]]:
    """The units of each batch given to the transport at once: the objects of their own,
    then the packs."""
    chunk: list[Unit] = []
    size = 0
    for unit, n in _units(objs, packs, writes):
        if chunk and (size >= CHUNK_BYTES or len(chunk) >= CHUNK_FILES):
            yield chunk
            chunk, size = [], 0
        chunk.append(unit)
        size += n
    if chunk:
        yield chunk


def _units(objs: array[int], packs: dict[str, array[int]], writes: list[Entry]) -> Iterator[tuple[Unit, int]]:
    for n, j in enumerate(objs):
        st = writes[j].stored
        assert st is not None
        if st.pack is None:
            yield n, st.size
    for pack, members in packs.items():
        yield pack, _extent(members, objs, writes)


def _extent(members: array[int], objs: array[int], writes: list[Entry]) -> int:
    """How many bytes of a pack its members need: the end of the last."""
    end = 0
    for n in members:
        st = writes[objs[n]].stored
        assert st is not None
        end = max(end, st.offset + st.size)
    return end


def download(chunk: list[Unit], objs: array[int], packs: dict[str, array[int]], writes: list[Entry], staging: Path,
              algo: str, remote: Remote, progress: Progress, workers: int, jobs: int) -> None:
    """Download one batch: the object numbered ``n`` ends verified at ``staging/files/<n>``."""
    layout = remote.layout
    transfers: list[Transfer] = []
    dests: dict[str, Path] = {}
    unit_of: dict[str, Unit] = {}
    for unit in chunk:
        if isinstance(unit, str):
            key = layout.pack_key(unit)
            dests[key] = staging / "obj" / f"pack-{unit}"
            transfers.append(Transfer(dests[key], key, _extent(packs[unit], objs, writes)))
        else:
            e = writes[objs[unit]]
            assert e.stored is not None
            key = layout.key_of(e)
            dests[key] = staging / "files" / str(unit)
            # a raw object lands where its file is staged and is checked in place (one copy
            # less); a compressed one is decoded from obj/ into place
            local = dests[key] if e.stored.codec == "none" else staging / "obj" / str(unit)
            transfers.append(Transfer(local, key, e.stored.size))
        unit_of[key] = unit
    files = staging / "files"

    def check(t: Transfer) -> os.stat_result:
        unit = unit_of[t.key]
        if isinstance(unit, str):  # the pack stays until the tool has exited (its stat confirms the check)
            fin = _open_arrived(t.local, t.key)
            try:
                for n in packs[unit]:
                    _decode_slice(fin, files / str(n), writes[objs[n]], algo, t.key)
            finally:
                os.close(fin)
            return os.stat(t.local)
        e = writes[objs[unit]]
        dest = dests[t.key]
        if t.local == dest:
            _verify_in_place(dest, e, algo, t.key)
        else:
            _decode(t.local, dest, e, algo, t.key)
            t.local.unlink(missing_ok=True)
        os.chmod(dest, e.mode)
        return os.stat(dest)

    def report(t: Transfer) -> None:
        unit = unit_of[t.key]
        members = packs[unit] if isinstance(unit, str) else (unit,)
        for n in members:
            e = writes[objs[n]]
            progress.item("fetch", e.path, e.size)
        progress.advance(files=len(members))

    with ThreadPoolExecutor(max_workers=workers) as pool:  # decompression and hashing release the GIL
        early = _CheckAsDone(report, progress, pool, check)
        remote.transport.download(transfers, early, jobs)
        for t in transfers:
            _confirm(t, early.checks.get(t.key), check, dests[t.key])


def read_in_place(objs: array[int], packs: dict[str, array[int]], writes: list[Entry], files: Path, algo: str,
                   remote: Remote, reporter: TransferReporter, workers: int) -> None:
    """Decode and verify each object from where the transport keeps it into
    ``files/<its number>``, on a few threads (a pack: a task per 256 of its objects, each
    opening it once). The first failure stops the rest; every missing object is named in
    one ObjectMissing."""
    stop = threading.Event()
    missing: list[str] = []
    transport, layout = remote.transport, remote.layout

    def opened(key: str) -> int | None:
        try:
            return transport.open_object(key)
        except ObjectMissing:
            missing.append(key)
            return None

    def some(batch: tuple[str | None, list[int]]) -> None:
        pack, numbers = batch
        if stop.is_set():
            return
        if pack is not None:
            key = layout.pack_key(pack)
            if (fin := opened(key)) is None:
                return
            try:
                for n in numbers:
                    e = writes[objs[n]]
                    _decode_slice(fin, files / str(n), e, algo, key)
                    _report(reporter, e, key, files / str(n))
            finally:
                os.close(fin)
            return
        for n in numbers:
            e = writes[objs[n]]
            key = layout.key_of(e)
            if (fin := opened(key)) is None:
                continue
            dest = files / str(n)
            try:
                _decode(fin, dest, e, algo, key)
            finally:
                os.close(fin)
            os.chmod(dest, e.mode)
            _report(reporter, e, key, dest)

    def batches() -> Iterator[tuple[str | None, list[int]]]:
        own = (n for n, j in enumerate(objs) if _own_object(writes[j]))
        for b in batched(own, 16):  # (by count only: two big files at once on 2 cores measured slower, 0.48 -> 0.55 s)
            yield None, b
        for pack, members in packs.items():
            for b in batched(members, 256):
                yield pack, b

    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:  # a task per 16 objects, a few queued: no future per object (a million would take 1.5 GB)
            for _ in bounded_map(pool, some, batches(), workers * 2):
                pass
        except BaseException:
            stop.set()  # the tasks already queued return at once
            raise
    if missing:
        missing.sort()
        raise ObjectMissing(f"{len(missing)} object(s) missing from {transport.root}: {', '.join(missing[:3])}",
                            "the remote is incomplete: run `lobs push --repair` from a copy that has the files", failed=missing)


def _own_object(e: Entry) -> bool:
    return e.stored is not None and e.stored.pack is None


def _report(reporter: TransferReporter, e: Entry, key: str, dest: Path) -> None:
    assert e.stored is not None
    reporter.progress(e.stored.size)
    reporter.done(Transfer(dest, key, e.stored.size, item=(e.path, e.size)))


def _decode_slice(fin: int, dest: Path, e: Entry, algo: str, key: str) -> None:
    """Decode and check one packed entry's slice of the pack open on ``fin`` into ``dest``."""
    assert e.stored is not None
    try:
        digest, size = decode_bytes(read_slice(fin, e.stored), dest, e.stored.codec, algo=algo, max_size=e.size)
    except IntegrityError as err:
        raise IntegrityError(f"{e.path}: {err.message} (in {key})", "nothing was changed locally; the remote copy is damaged") from err
    _check_digest(e, digest, size, key)
    os.chmod(dest, e.mode)


def _open_arrived(path: Path, key: str) -> int:
    try:
        return open_read(path)
    except FileNotFoundError as err:
        raise IntegrityError(f"object {key} did not arrive", "the transport reported success for a missing object") from err


class _CheckAsDone:
    """Transfer events that start decoding and verifying each object as soon as the
    tool reports it, on the pool, while the rest is still downloading."""

    def __init__(self, report: Callable[[Transfer], None], progress: Progress, pool: ThreadPoolExecutor,
                 check: Callable[[Transfer], os.stat_result]) -> None:
        self.report, self._progress, self.pool, self.check = report, progress, pool, check
        self.checks: dict[str, Future[os.stat_result]] = {}

    def done(self, transfer: Transfer) -> None:
        self.checks[transfer.key] = self.pool.submit(self.check, transfer)
        self.report(transfer)

    def progress(self, nbytes: int) -> None:
        self._progress.advance(nbytes=nbytes)


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
