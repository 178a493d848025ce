"""`lobs status`: what changed in a working tree since its last sync, as cheaply as the
tree allows: the clean marker (a walk with no file objects), else the index rows, else
hashing what the index does not know and diffing against the last synced manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lobs.clean_marker import clean_marker_matches, has_clean_marker, write_clean_marker
from lobs.diff import Diff, diff_entries
from lobs.index import Index
from lobs.lazyjson import LazyList
from lobs.localstate import mark_synced, read_local, scan_workspace
from lobs.remote import Remote
from lobs.scan import scan
from lobs.syncstate import SyncState
from lobs.workspace import Workspace

if TYPE_CHECKING:
    from lobs.api import Context


@dataclass
class Status:
    ws: Workspace
    base: SyncState | None
    base_known: bool  # the base manifest was available locally
    diff: Diff  # last synced snapshot -> working tree
    remote_ref: str | None = None
    remote_checked: bool = False
    skipped: list[str] = field(default_factory=list)

    @property
    def remote_moved(self) -> bool:
        return self.remote_checked and self.remote_ref != (self.base.snapshot if self.base else None)

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.ws.name,
            "remote": self.ws.remote_name,
            "synced": self.base.snapshot if self.base else None,
            "counts": self.diff.counts(),
            "changes": LazyList(c.to_json() for c in self.diff.changes),
            "remote_ref": self.remote_ref if self.remote_checked else None,
            "remote_moved": self.remote_moved if self.remote_checked else None,
        }


def status(ctx: Context, ws: Workspace, *, check_remote: bool = False) -> Status:
    """Local changes since the last sync, from the index and lobs.lock (no network unless asked)."""
    base = ws.base()
    remote = ws.open_remote() if check_remote else None
    try:
        st = _status_by_marker(ctx, ws, base) or _status_by_index(ctx, ws, base, remote)
        if remote is not None:
            st.remote_ref = remote.read_ref()
            st.remote_checked = True
        return st
    finally:
        if remote is not None:
            remote.transport.close()


def _status_by_marker(ctx: Context, ws: Workspace, base: SyncState | None) -> Status | None:
    """Clean, if the clean marker vouches for a walk with the same signature (no file is
    listed, no index loaded); None when there is no marker or the walk differs."""
    if base is None or not has_clean_marker(ws.index_path):
        return None
    # A mismatch costs a second walk, once: the status that follows rewrites the rows,
    # and with them goes the marker.
    ctx.progress.phase("scan")
    walked = scan(ws.root, ws.rules, files=False)
    if not clean_marker_matches(ws.index_path, walked.signature, base.files, base.snapshot, base.files):
        return None  # (its warnings come with the full walk)
    for s in walked.skipped:
        ctx.progress.warn(s)
    return Status(ws, base, True, Diff(unchanged=base.files), skipped=walked.skipped)


def _status_by_index(ctx: Context, ws: Workspace, base: SyncState | None, remote: Remote | None) -> Status:
    scanned = scan_workspace(ws, ctx.progress)
    index = Index(ws.index_path)
    if base is not None and index.is_clean(scanned.files, base.snapshot, base.files):
        # every file unchanged since the sync: no manifest to load, nothing to hash or diff
        index.save()  # a no-op unless the index was in an older format
        write_clean_marker(ws.index_path, scanned.signature, len(scanned.files), base.snapshot)
        return Status(ws, base, True, Diff(unchanged=base.files), skipped=scanned.skipped)
    base_m = ws.base_manifest(remote) if base else None
    algo = base_m.hash if base_m else None
    old = base_m.by_path() if base_m else {}
    local = read_local(ws, ctx.progress, ctx.jobs, algo=algo, scanned=scanned, index=index, save_index=False, prior=old)
    st = Status(ws, base, base is None or base_m is not None, diff_entries(old, local.entries), skipped=local.skipped)
    if base is not None and base_m is not None and st.diff.empty:
        mark_synced(local, base.snapshot, base_m, old)  # saves the index; the next status takes the fast path
    else:
        index.save()
    return st
