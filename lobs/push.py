"""Push: plan what the remote lacks, then send objects, the snapshot and the ref, in that order.

An interrupted push leaves the ref where it was (it is written last), and a
re-run lists the remote's objects and sends only what is still missing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from lobs import manifest as mf
from lobs.codec import choose_codec, compress_file
from lobs.diff import Diff, diff_entries
from lobs.errors import ConflictError, IntegrityError
from lobs.lazyjson import LazyList
from lobs.localstate import LocalState
from lobs.model import Entry, Manifest, Stored
from lobs.parallel import batched, bounded_map
from lobs.progress import Progress
from lobs.remote import Layout, Remote, TransferReporter
from lobs.syncstate import SyncState
from lobs.transport.base import Transfer
from lobs.transport.feed import Feed
from lobs.upload_budget import Budget, Sent
from lobs.workspace import Workspace

CHUNK_BYTES = 1 << 30  # staged (compressed) bytes waiting to be sent, at most
FIRST_BATCH = 256  # compressed files handed over as a batch of their own (unless processes start slowly)


@dataclass(slots=True)
class Upload:
    """One object to send: read from ``root / entry.path``, stored at ``key``. Neither
    path nor key is kept per file (a million uploads would hold a million of each);
    both are made when asked for."""

    entry: Entry  # the first entry with this content
    codec: str

    def key(self, layout: Layout) -> str:
        return layout.object_key(self.entry, self.codec)

    def local(self, root: Path) -> Path:
        return root / self.entry.path


@dataclass
class PushPlan:
    ws: Workspace
    local: LocalState
    remote_ref: str | None
    remote_manifest: Manifest | None
    diff: Diff  # remote's latest snapshot -> local tree
    uploads: list[Upload]
    stored: dict[str, Stored]  # hash -> how it is stored, for content already on the remote
    deletes: list[str] = field(default_factory=list)  # mirror: keys no longer in the tree
    message: str | None = None

    @property
    def up_to_date(self) -> bool:
        return self.remote_manifest is not None and self.diff.empty and not self.uploads

    @property
    def upload_bytes(self) -> int:
        return sum(u.entry.size for u in self.uploads)

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.ws.name,
            "remote": self.ws.remote_name,
            "remote_ref": self.remote_ref,
            "changes": LazyList(c.to_json() for c in self.diff.changes),
            "counts": self.diff.counts(),
            "uploads": LazyList(
                {"path": u.entry.path, "key": u.key(self.ws.layout), "size": u.entry.size, "codec": u.codec} for u in self.uploads
            ),
            "deletes": self.deletes,
        }


def plan_push(
    ws: Workspace, remote: Remote, local: LocalState, *, force: bool, message: str | None = None, jobs: int = 0
) -> PushPlan:
    """Work out a push. Raises ConflictError when the remote moved since our last sync.

    The remote's objects are listed while its ref and snapshot are read (two tool
    runs at once: most of each is the tool starting and waiting on the network).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lobs-list") as pool:
        listing = pool.submit(remote.objects)
        try:
            ref = remote.read_ref()
            remote_m = remote.read_snapshot(ref) if ref else None
        except BaseException:
            remote.transport.interrupt()
            raise
        objects = listing.result()
    base = ws.base() or ws.pin()  # a fresh clone knows the pin from lobs.lock
    base_id = base.snapshot if base and base.remote == ws.remote_name else None
    if ref is not None and ref != base_id and not force:
        same = remote_m is not None and remote_m.same_tree(Manifest(ws.name, ws.hash_algo, entries=sorted(local.entries.values(), key=_pkey)))
        if not same:
            who = "someone else pushed" if base_id else "it already holds data for this target"
            raise ConflictError(
                f"{remote.display}: {ws.name} is at snapshot {ref[:12]}, not the one you last synced ({(base_id or 'none')[:12]}): {who}",
                "run `lobs pull` to merge their changes first, or push with --force to replace them",
            )
    old = remote_m.by_path() if remote_m else {}
    diff = diff_entries(old, local.entries)
    layout = ws.layout
    stored: dict[str, Stored] = {}
    needed_keys: set[str] = set()
    todo: dict[str, Entry] = {}  # hash (cas) or path (mirror) -> entry to send
    for e in sorted(local.entries.values(), key=_pkey):
        if e.is_link:
            continue
        prev = old.get(e.path)
        if layout.kind == "cas":
            if e.hash in stored or e.hash in todo:
                continue
            for codec in ("zstd", "none"):
                obj = objects.get(layout.object_key(e, codec))
                if obj is not None:
                    stored[e.hash] = Stored(codec, obj.size)
                    break
            else:
                todo[e.hash] = e
        else:
            if prev is not None and prev.hash == e.hash and prev.stored is not None:
                key = layout.object_key(e, prev.stored.codec)
                obj = objects.get(key)
                if obj is not None and obj.size == prev.stored.size:
                    stored[e.path] = prev.stored
                    needed_keys.add(key)
                    continue
            todo[e.path] = e
    codecs = _codecs(ws, list(todo.values()), jobs)
    uploads: list[Upload] = []
    for e in todo.values():
        codec = codecs[e.path]
        if layout.kind == "mirror" and codec == "zstd" and (e.path + ".zst") in local.entries:
            codec = "none"  # the name x.zst is taken by a real file
        u = Upload(e, codec)
        if layout.kind == "mirror":
            needed_keys.add(u.key(layout))
        uploads.append(u)
    deletes: list[str] = []
    if layout.kind == "mirror":
        meta = layout.meta
        deletes = sorted(k for k in objects if k not in needed_keys and not k.startswith(meta))
    return PushPlan(ws, local, ref, remote_m, diff, uploads, stored, deletes, message)


def _codecs(ws: Workspace, entries: list[Entry], jobs: int) -> dict[str, str]:
    """path -> codec for each entry, sampled on a few threads (zstd and reads release the GIL)."""
    workers = max(1, min(jobs or (os.cpu_count() or 2), 8))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lobs-sample") as pool:
        def sample(batch: list[Entry]) -> list[str]:
            return [choose_codec(ws.root / e.path, e.size, ws.compression) for e in batch]

        found = (c for cs in bounded_map(pool, sample, batched(entries, 64), workers * 2) for c in cs)
        return {e.path: c for e, c in zip(entries, found, strict=True)}


# Entries sort by path: scanned names are valid UTF-8, whose byte order is code point order.
_pkey = attrgetter("path")


def execute_push(plan: PushPlan, remote: Remote, progress: Progress, jobs: int = 0) -> tuple[str, Manifest]:
    """Send objects, then the snapshot, then the ref. Returns (snapshot id, manifest).

    Files stored raw are handed to the transport at once; the others are compressed
    on a few threads and handed over one by one as they are ready, so the tool
    sends while lobs compresses (:class:`~lobs.transport.feed.Feed`). Staged files
    are deleted once sent. A file that changed since it was scanned aborts the
    push before the snapshot is written.
    """
    ws = plan.ws
    staging = ws.state_dir / "staging" / f"push-{os.getpid()}"
    progress.phase("upload", len(plan.uploads), plan.upload_bytes)
    feed = Feed()
    folders: set[Path] = set()
    budget = Budget(CHUNK_BYTES, feed)
    workers = max(1, min(jobs or (os.cpu_count() or 2), 8))

    def produce() -> None:
        try:
            raw = [u for u in plan.uploads if u.codec != "zstd"]
            packed = [u for u in plan.uploads if u.codec == "zstd"]
            for u in raw:
                feed.put(_stage(u, staging, ws, folders))
            if raw and packed:
                feed.flush()

            made = itertools.count(1)
            early = len(packed) > 2 * FIRST_BATCH and not remote.transport.capabilities.slow_start

            def one(u: Upload) -> None:
                if budget.acquire(u.key(ws.layout), u.entry.size):
                    feed.put(_stage(u, staging, ws, folders))
                    if next(made) == FIRST_BATCH and early:
                        feed.flush()  # the tool starts on small files while the rest compress

            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lobs-compress") as pool:
                def some(batch: list[Upload]) -> None:
                    for u in batch:
                        one(u)

                for _ in bounded_map(pool, some, batched(packed, 16), workers * 2):
                    pass  # a task per 16 files, a few tasks queued: no future per file
            feed.close()
        except BaseException as e:  # noqa: BLE001 - handed to the transport, raised in the uploading thread
            feed.fail(e)

    producer = threading.Thread(target=produce, name="lobs-stage", daemon=True)
    producer.start()
    try:
        remote.transport.upload_feed(feed, Sent(TransferReporter(progress, "upload", {}), budget), jobs)
    finally:
        budget.stop()
        producer.join(timeout=0.1)
        shutil.rmtree(staging, ignore_errors=True)
    _check_unchanged(plan, remote)
    entries = sorted(plan.local.entries.values(), key=_pkey)
    _fill_stored(entries, plan)
    manifest = Manifest(
        target=ws.remote_path or ws.root.name,
        hash=ws.hash_algo,
        parent=plan.remote_ref,
        created=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        message=plan.message,
        entries=entries,
    )
    snap_id, packed = mf.pack(manifest)  # streamed: the JSON is never whole in memory
    remote.write_packed_snapshot(snap_id, packed)
    ws.cache_manifest(snap_id, manifest, packed=packed)
    remote.write_ref(snap_id)
    if plan.deletes:
        remote.transport.delete(plan.deletes)
        for k in plan.deletes:
            progress.item("delete", k, 0)
    ws.set_base(SyncState(ws.remote_name, snap_id, len(entries), manifest.total_size))
    return snap_id, manifest


def _fill_stored(entries: list[Entry], plan: PushPlan) -> None:
    """Say how each entry is stored: an upload's entry was told when it was staged; content
    already on the remote is in the plan; a file with the same content as an upload (cas)
    shares that upload's. The scanned entries become the manifest's (no second copy)."""
    cas = plan.ws.layout.kind == "cas"
    sent: dict[str, Stored | None] | None = None  # hash -> stored of the uploads, built only for duplicates
    for e in entries:
        if e.is_link:
            e.stored = None
        elif e.stored is None:
            st = plan.stored.get(e.hash if cas else e.path)
            if st is None:
                sent = sent if sent is not None else {u.entry.hash: u.entry.stored for u in plan.uploads}
                st = sent[e.hash]
            e.stored = st


_staged = itertools.count()


def _stage(u: Upload, staging: Path, ws: Workspace, made: set[Path]) -> Transfer:
    """Compress (or not) one upload's file for the tool; records in ``u.entry.stored`` how.

    A staged file is named by a number in a folder of the thread's own (``made``: the
    folders made so far): no folder per key prefix (256 of them for a cas push, and a
    folder is the dearest thing to create), and no two threads creating files in one
    folder (they would queue on its lock). Transports place files by their key.
    """
    item = (u.entry.path, u.entry.size)
    key = u.key(ws.layout)
    if u.codec == "zstd":
        folder = staging / str(threading.get_ident())
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        dest = folder / str(next(_staged))
        _, size = compress_file(u.local(ws.root), dest, level=ws.compression.level, algo=ws.hash_algo, expect_hash=u.entry.hash)
        u.entry.stored = Stored("zstd", size)
        return Transfer(dest, key, size, movable=True, item=item)
    u.entry.stored = Stored("none", u.entry.size)
    return Transfer(u.local(ws.root), key, u.entry.size, item=item)


def _check_unchanged(plan: PushPlan, remote: Remote) -> None:
    """Files sent as they are (not compressed) must not have changed since the scan."""
    changed: list[str] = []
    bad_keys: list[str] = []
    for u in plan.uploads:
        if u.codec != "none":
            continue
        f = plan.local.files[u.entry.path]
        try:
            st = os.stat(u.local(plan.ws.root), follow_symlinks=False)
        except FileNotFoundError:
            changed.append(u.entry.path)
            bad_keys.append(u.key(plan.ws.layout))
            continue
        if (st.st_size, st.st_mtime_ns) != (f.size, f.mtime_ns):
            changed.append(u.entry.path)
            bad_keys.append(u.key(plan.ws.layout))
    if changed:
        remote.transport.delete(bad_keys)  # they may hold the new content under the old hash
        raise IntegrityError(
            f"{len(changed)} file(s) changed while being pushed: {', '.join(changed[:5])}",
            "the remote ref was not moved; re-run the push",
        )
