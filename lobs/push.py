"""Push: plan what the remote lacks, then send objects, the snapshot and the ref, in that order.

An interrupted push leaves the ref where it was (it is written last), and a
re-run lists the remote's objects and sends only what is still missing.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lobs import manifest as mf
from lobs.codec import choose_codec, compress_file
from lobs.diff import Diff, diff_entries
from lobs.errors import ConflictError, IntegrityError
from lobs.localstate import LocalState
from lobs.model import Entry, Manifest, Stored
from lobs.progress import Progress
from lobs.remote import Remote, TransferReporter
from lobs.syncstate import SyncState
from lobs.transport.base import Transfer
from lobs.workspace import Workspace

CHUNK_BYTES = 1 << 30
CHUNK_FILES = 10000


@dataclass
class Upload:
    entry: Entry  # the first entry with this content
    key: str
    codec: str
    local: Path


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
            "changes": [c.to_json() for c in self.diff.changes],
            "counts": self.diff.counts(),
            "uploads": [{"path": u.entry.path, "key": u.key, "size": u.entry.size, "codec": u.codec} for u in self.uploads],
            "deletes": self.deletes,
        }


def plan_push(ws: Workspace, remote: Remote, local: LocalState, *, force: bool, message: str | None = None) -> PushPlan:
    """Work out a push. Raises ConflictError when the remote moved since our last sync."""
    ref = remote.read_ref()
    remote_m = remote.read_snapshot(ref) if ref else None
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
    objects = remote.objects()
    layout = ws.layout
    stored: dict[str, Stored] = {}
    uploads: dict[str, Upload] = {}
    needed_keys: set[str] = set()
    for e in sorted(local.entries.values(), key=_pkey):
        if e.is_link:
            continue
        prev = old.get(e.path)
        if layout.kind == "cas":
            if e.hash in stored or e.hash in uploads:
                continue
            for codec in ("zstd", "none"):
                obj = objects.get(layout.object_key(e, codec))
                if obj is not None:
                    stored[e.hash] = Stored(codec, obj.size)
                    break
            else:
                codec = choose_codec(ws.root / e.path, e.size, ws.compression)
                uploads[e.hash] = Upload(e, layout.object_key(e, codec), codec, ws.root / e.path)
        else:
            if prev is not None and prev.hash == e.hash and prev.stored is not None:
                key = layout.object_key(e, prev.stored.codec)
                obj = objects.get(key)
                if obj is not None and obj.size == prev.stored.size:
                    stored[e.path] = prev.stored
                    needed_keys.add(key)
                    continue
            codec = choose_codec(ws.root / e.path, e.size, ws.compression)
            if codec == "zstd" and (e.path + ".zst") in local.entries:
                codec = "none"  # the name x.zst is taken by a real file
            key = layout.object_key(e, codec)
            needed_keys.add(key)
            uploads[e.path] = Upload(e, key, codec, ws.root / e.path)
    deletes: list[str] = []
    if layout.kind == "mirror":
        meta = layout.meta
        deletes = sorted(k for k in objects if k not in needed_keys and not k.startswith(meta))
    return PushPlan(ws, local, ref, remote_m, diff, list(uploads.values()), stored, deletes, message)


def _pkey(e: Entry) -> bytes:
    return e.path.encode("utf-8")


def _chunks(uploads: list[Upload]) -> Iterator[list[Upload]]:
    chunk: list[Upload] = []
    size = 0
    for u in uploads:
        chunk.append(u)
        size += u.entry.size
        if size >= CHUNK_BYTES or len(chunk) >= CHUNK_FILES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def execute_push(plan: PushPlan, remote: Remote, progress: Progress, jobs: int = 0) -> tuple[str, Manifest]:
    """Send objects, then the snapshot, then the ref. Returns (snapshot id, manifest).

    Compression of one chunk overlaps the upload of the previous one. A file that
    changed since it was scanned aborts the push before the snapshot is written.
    """
    ws = plan.ws
    staging = ws.state_dir / "staging" / f"push-{os.getpid()}"
    stored = dict(plan.stored)
    paths = {u.key: (u.entry.path, u.entry.size) for u in plan.uploads}
    events = TransferReporter(progress, "upload", paths)
    progress.phase("upload", len(plan.uploads), plan.upload_bytes)
    ready: queue.Queue[list[Transfer] | BaseException | None] = queue.Queue(maxsize=1)

    def prepare() -> None:
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(jobs or (os.cpu_count() or 2), 8))) as pool:
                for chunk in _chunks(plan.uploads):
                    ready.put(list(pool.map(lambda u: _stage(u, staging, ws, stored), chunk)))
            ready.put(None)
        except BaseException as e:  # noqa: BLE001 - handed to the uploading thread, re-raised there
            ready.put(e)

    producer = threading.Thread(target=prepare, name="lobs-compress", daemon=True)
    producer.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            remote.transport.upload(item, events, jobs)
            staged = str(staging) + os.sep
            for t in item:
                if str(t.local).startswith(staged):
                    t.local.unlink(missing_ok=True)
    finally:
        producer.join(timeout=0.1)
        shutil.rmtree(staging, ignore_errors=True)
    _check_unchanged(plan, remote)
    entries = sorted(plan.local.entries.values(), key=_pkey)
    for e in entries:  # the scanned entries become the manifest's (no second copy of each)
        e.stored = None if e.is_link else stored[e.hash if ws.layout.kind == "cas" else e.path]
    manifest = Manifest(
        target=ws.remote_path or ws.root.name,
        hash=ws.hash_algo,
        parent=plan.remote_ref,
        created=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        message=plan.message,
        entries=entries,
    )
    snap_id, packed = remote.write_snapshot(mf.encode(manifest))
    ws.cache_manifest(snap_id, packed=packed)
    remote.write_ref(snap_id)
    if plan.deletes:
        remote.transport.delete(plan.deletes)
        for k in plan.deletes:
            progress.item("delete", k, 0)
    ws.set_base(SyncState(ws.remote_name, snap_id, len(entries), manifest.total_size))
    return snap_id, manifest


def _stage(u: Upload, staging: Path, ws: Workspace, stored: dict[str, Stored]) -> Transfer:
    key = u.entry.hash if ws.layout.kind == "cas" else u.entry.path
    if u.codec == "zstd":
        dest = staging / u.key
        _, size = compress_file(u.local, dest, level=ws.compression.level, algo=ws.hash_algo, expect_hash=u.entry.hash)
        stored[key] = Stored("zstd", size)
        return Transfer(dest, u.key, size, movable=True)
    stored[key] = Stored("none", u.entry.size)
    return Transfer(u.local, u.key, u.entry.size)


def _check_unchanged(plan: PushPlan, remote: Remote) -> None:
    """Files sent as they are (not compressed) must not have changed since the scan."""
    changed: list[str] = []
    bad_keys: list[str] = []
    for u in plan.uploads:
        if u.codec != "none":
            continue
        f = plan.local.files[u.entry.path]
        try:
            st = os.stat(u.local, follow_symlinks=False)
        except FileNotFoundError:
            changed.append(u.entry.path)
            bad_keys.append(u.key)
            continue
        if (st.st_size, st.st_mtime_ns) != (f.size, f.mtime_ns):
            changed.append(u.entry.path)
            bad_keys.append(u.key)
    if changed:
        remote.transport.delete(bad_keys)  # they may hold the new content under the old hash
        raise IntegrityError(
            f"{len(changed)} file(s) changed while being pushed: {', '.join(changed[:5])}",
            "the remote ref was not moved; re-run the push",
        )
