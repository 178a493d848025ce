"""Pull's transfer step: download objects into staging, decode and verify every byte.

Each object is decoded (zstd) or hashed in place as soon as the tool reports it
(a pack of small files: each file's slice of it, :mod:`lobs.packs`),
on a few threads, while the rest is still downloading; once the tool has exited,
every staged file is confirmed (an early check counts only if the file is
unchanged since) before the caller renames anything into place.
"""

from __future__ import annotations

import os
import shutil
from array import array
from bisect import bisect_left
from collections.abc import Callable
from pathlib import Path

from lobs.errors import IntegrityError
from lobs.fetch_read import chunks, download, read_in_place
from lobs.model import Entry
from lobs.progress import Progress
from lobs.remote import Remote, TransferReporter


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
    key_of = layout.key_of
    # Distinct objects: sorted by hash and how each is stored (cas) or by path (mirror, where
    # keys are the paths), then equal neighbours grouped, so that no key string is kept per write.
    stored_js = (j for j, e in enumerate(writes) if e.stored is not None)
    if layout.kind == "cas":
        order = sorted(stored_js, key=lambda j: writes[j].hash)  # (no tuple per write: 50 MB at a million)
        _sort_runs_by_codec(order, writes)
        ident: Callable[[Entry], object] = _where_stored
    else:
        _refuse_shared_mirror_keys(writes)
        order = sorted(stored_js, key=lambda j: writes[j].path)
        ident = key_of
    files = staging / "files"
    staged = Staged(str(files), len(writes))
    objs = array("q")  # write index of the first entry of each distinct object
    dups: list[tuple[int, int]] = []  # (write index, number of the object it copies)
    prev: object = None
    for j in order:
        this = ident(writes[j])
        if this == prev:
            kept = writes[objs[-1]]
            if (writes[j].hash, writes[j].size) != (kept.hash, kept.size):  # a copy would go unchecked
                raise _two_contents(writes[j], key_of(writes[j]))
            dups.append((j, len(objs) - 1))
        else:
            staged.numbers[j] = len(objs)
            objs.append(j)
            prev = this
    del order
    packs = group_packs(objs, writes, layout.kind)
    progress.phase("download", len(objs), sum(_stored_size(writes[j]) for j in objs))
    cpus = os.cpu_count() or 2
    if remote.transport.capabilities.read_in_place:
        # file system calls block: twice as many threads as cores, as the local transport uses
        read_in_place(objs, packs, writes, files, algo, remote, TransferReporter(progress, "fetch", {}),
                       jobs or min(8, 2 * cpus))
    else:
        for chunk in chunks(objs, packs, writes):
            download(chunk, objs, packs, writes, staging, algo, remote, progress, max(1, min(jobs or cpus, 8)), jobs)
    counter = len(objs)
    for j, n in dups:
        copy = f"{staged.folder}/{counter}"
        shutil.copyfile(f"{staged.folder}/{n}", copy)
        os.chmod(copy, writes[j].mode)
        staged.numbers[j] = counter
        counter += 1
    return staged


def _where_stored(e: Entry) -> object:
    """What makes two cas writes one object: the content and where it lies."""
    st = e.stored
    assert st is not None
    return (e.hash, st.codec, st.pack, st.offset) if st.pack is not None else (e.hash, st.codec)


def _stored_order(e: Entry) -> tuple[str, str, int]:
    st = e.stored
    return (st.codec, st.pack or "", st.offset) if st is not None else ("", "", 0)


def _sort_runs_by_codec(order: list[int], writes: list[Entry]) -> None:
    """Within each run of one hash in ``order`` (files with the same content), sort by how
    each is stored too (codec, pack, offset): equal objects side by side."""
    i = 0
    while i < len(order):
        k, digest = i + 1, writes[order[i]].hash
        while k < len(order) and writes[order[k]].hash == digest:
            k += 1
        if k - i > 1:
            order[i:k] = sorted(order[i:k], key=lambda j: _stored_order(writes[j]))
        i = k


def group_packs(objs: array[int], writes: list[Entry], kind: str) -> dict[str, array[int]]:
    """pack id -> the numbers of the objects that lie in it, in offset order. Raises
    IntegrityError for a mirror snapshot that names a pack (a mirror has none)."""
    packs: dict[str, array[int]] = {}
    for n, j in enumerate(objs):
        st = writes[j].stored
        if st is not None and st.pack is not None:
            if kind != "cas":
                raise IntegrityError(f"{writes[j].path}: a mirror snapshot names a pack",
                                     "nothing was changed locally; the snapshot is corrupt or malicious")
            packs.setdefault(st.pack, array("q")).append(n)
    for members in packs.values():
        members[:] = array("q", sorted(members, key=lambda n: _offset(writes[objs[n]])))
    return packs


def _offset(e: Entry) -> int:
    return e.stored.offset if e.stored is not None else 0


def _codec(e: Entry) -> str:
    return e.stored.codec if e.stored is not None else ""


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
