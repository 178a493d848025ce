"""Push: send objects, the snapshot and the ref, in that order (the plan: :mod:`lobs.push_plan`).

An interrupted push leaves the ref where it was (it is written last), and a
re-run sends only what is still missing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lobs import manifest as mf
from lobs.codec import compress_file, pays
from lobs.errors import IntegrityError
from lobs.model import Entry, Manifest, Stored
from lobs.packs import PackWriter
from lobs.packs import groups as pack_groups
from lobs.parallel import TASK_BYTES, TASK_FILES, batched_by_size, bounded_map
from lobs.progress import Progress
from lobs.push_plan import PushPlan, Upload, path_order
from lobs.remote import Remote, TransferReporter
from lobs.syncstate import SyncState
from lobs.transport.base import Transfer
from lobs.transport.feed import Feed
from lobs.upload_budget import Budget, Sent
from lobs.workspace import Workspace

CHUNK_BYTES = 1 << 30  # staged (compressed) bytes waiting to be sent, at most
FIRST_BATCH = 256  # compressed files handed over as a batch of their own (unless processes start slowly)


def execute_push(plan: PushPlan, remote: Remote, progress: Progress, jobs: int = 0) -> tuple[str, Manifest]:
    """Send objects and the snapshot, then the ref. Returns (snapshot id, manifest).

    Files stored raw are handed to the transport at once; the others are compressed
    on a few threads and handed over one by one as they are ready, so the tool
    sends while lobs compresses (:class:`~lobs.transport.feed.Feed`). Once every
    file is staged the snapshot is known and goes with the last batch: no tool run
    of its own. Only the ref, written last, makes it the remote's latest; a push that
    stops before leaves at most a snapshot nothing points to. Staged files are deleted
    once sent. A file that changed since it was scanned aborts the push before the
    ref moves.
    """
    ws = plan.ws
    staging = ws.state_dir / "staging" / f"push-{os.getpid()}"
    progress.phase("upload", len(plan.uploads), plan.upload_bytes)
    feed = Feed()
    folders: set[Path] = set()
    budget = Budget(CHUNK_BYTES, feed)
    sent = Sent(TransferReporter(progress, "upload", {}), budget)
    workers = max(1, min(jobs or (os.cpu_count() or 2), 8))
    slow_start = remote.transport.capabilities.slow_start
    made_snapshot: list[tuple[str, Manifest, bytes]] = []

    def produce() -> None:
        try:
            raw = [u for u in plan.uploads if u.codec == "none" and not u.packed]
            packed = [u for u in plan.uploads if u.codec != "none" and not u.packed]  # zstd, and auto: small ones decided when staged
            in_packs = [u for u in plan.uploads if u.packed]
            for u in raw:
                feed.put(_stage(u, staging, ws, folders))
            if raw and (packed or in_packs) and not slow_start:
                feed.flush()  # the raw files go while the rest compress (a slow tool waits: one run)

            made = itertools.count(1)
            early = len(packed) > 2 * FIRST_BATCH and not slow_start
            if in_packs:
                (staging / "packs").mkdir(parents=True, exist_ok=True)

            def pack(uploads: list[Upload]) -> None:
                t = _build_pack(uploads, staging / "packs" / str(next(_staged)), ws)
                if budget.acquire(t.key, t.size):
                    feed.put(t)

            def one(u: Upload) -> None:
                if u.codec == "auto":  # small: staged first (that decides its key), then counted
                    t = _stage(u, staging, ws, folders)
                    if not budget.acquire(t.key, t.size):
                        return
                elif budget.acquire(u.key(ws.layout), u.entry.size):
                    t = _stage(u, staging, ws, folders)
                else:
                    return
                feed.put(t)
                if next(made) == FIRST_BATCH and early:
                    feed.flush()  # the tool starts on small files while the rest compress

            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lobs-compress") as pool:
                def some(task: tuple[bool, list[Upload]]) -> None:
                    in_pack, batch = task
                    if in_pack:
                        pack(batch)
                        return
                    for u in batch:
                        one(u)

                entries = [u.entry for u in in_packs]
                tasks = itertools.chain(((True, in_packs[r.start:r.stop]) for r in pack_groups(entries)),
                                        ((False, b) for b in batched_by_size(packed, _size, TASK_FILES, TASK_BYTES)))
                for _ in bounded_map(pool, some, tasks, workers * 2):
                    pass  # a task per pack or per 16 files (4 MiB), a few tasks queued: no future per file
            snap_id, manifest, data = _snapshot(plan)
            made_snapshot.append((snap_id, manifest, data))
            staging.mkdir(parents=True, exist_ok=True)
            (staging / "snapshot").write_bytes(data)  # scratch: moved or copied by the transport
            key = remote.layout.snapshot_key(snap_id)
            sent.quiet.add(key)
            feed.put(Transfer(staging / "snapshot", key, len(data), movable=True))
            feed.close()
        except BaseException as e:  # noqa: BLE001 - handed to the transport, raised in the uploading thread
            feed.fail(e)

    if plan.uploads:
        ws.mark_push_unfinished(True)
    producer = threading.Thread(target=produce, name="lobs-stage", daemon=True)
    producer.start()
    try:
        remote.transport.upload_feed(feed, sent, jobs)
    finally:
        budget.stop()
        producer.join(timeout=0.1)
        shutil.rmtree(staging, ignore_errors=True)
    snap_id, manifest, data = made_snapshot[0]
    _check_unchanged(plan, remote, remote.layout.snapshot_key(snap_id))
    ws.cache_manifest(snap_id, manifest, packed=data)
    remote.write_ref(snap_id)
    ws.mark_push_unfinished(False)
    if plan.deletes:
        remote.transport.delete(plan.deletes)
        for k in plan.deletes:
            progress.item("delete", k, 0)
    ws.set_base(SyncState(ws.remote_name, snap_id, len(manifest.entries), manifest.total_size))
    return snap_id, manifest


def _snapshot(plan: PushPlan) -> tuple[str, Manifest, bytes]:
    """The snapshot of the pushed tree, once every upload is staged (its stored size known):
    (id, manifest, packed bytes)."""
    entries = sorted(plan.local.entries.values(), key=path_order)
    _fill_stored(entries, plan)
    manifest = Manifest(
        target=plan.ws.remote_path or plan.ws.root.name,
        hash=plan.ws.hash_algo,
        parent=plan.remote_ref,
        created=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        message=plan.message,
        entries=entries,
    )
    snap_id, packed = mf.pack(manifest)  # streamed: the JSON is never whole in memory
    return snap_id, manifest, packed


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
    """Compress (or not) one upload's file for the tool; records in ``u.entry.stored`` how,
    and settles an ``auto`` codec: compressed if that :func:`~lobs.codec.pays`, else sent raw.

    A staged file is named by a number in a folder of the thread's own (``made``: the
    folders made so far): no folder per key prefix (256 of them for a cas push, and a
    folder is the dearest thing to create), and no two threads creating files in one
    folder (they would queue on its lock). Transports place files by their key.
    """
    item = (u.entry.path, u.entry.size)
    if u.codec != "none":
        folder = staging / str(threading.get_ident())
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        dest = folder / str(next(_staged))
        _, size = compress_file(u.local(ws.root), dest, level=ws.compression.level, algo=ws.hash_algo, expect_hash=u.entry.hash)
        if u.codec == "zstd" or pays(u.entry.size, size):
            u.codec = "zstd"
            u.entry.stored = Stored("zstd", size)
            return Transfer(dest, u.key(ws.layout), size, movable=True, item=item)
        os.unlink(dest)
        u.codec = "none"  # checked like every raw upload once sent (_check_unchanged)
    u.entry.stored = Stored("none", u.entry.size)
    return Transfer(u.local(ws.root), u.key(ws.layout), u.entry.size, item=item)


def _build_pack(uploads: list[Upload], path: Path, ws: Workspace) -> Transfer:
    """Write one pack of small files (lobs.packs) at ``path``; each upload's codec and
    entry say how it went in. Raises IntegrityError (a file changed), OSError."""
    writer = PackWriter(path)
    try:
        for u in uploads:
            u.codec = writer.add(u.local(ws.root), u.entry, u.codec, level=ws.compression.level, algo=ws.hash_algo)
    except BaseException:
        writer.discard()
        raise
    return writer.close()


def _check_unchanged(plan: PushPlan, remote: Remote, snapshot_key: str) -> None:
    """Files sent as they are (not compressed) must not have changed since the scan; if
    one did, its object and the snapshot that was sent with them are deleted."""
    changed: list[str] = []
    bad_keys: list[str] = []
    for u in plan.uploads:
        if u.codec != "none" or u.packed:  # compressed or packed: hashed as they were read
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
        remote.transport.delete([*bad_keys, snapshot_key])  # they may hold the new content under the old hash
        raise IntegrityError(
            f"{len(changed)} file(s) changed while being pushed: {', '.join(changed[:5])}",
            "the remote ref was not moved; re-run the push",
        )


def _size(u: Upload) -> int:
    return u.entry.size
