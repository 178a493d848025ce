"""Pull: make the tracked files match a snapshot, safely.

Everything is downloaded into a staging folder beside the target and verified
(hash and size of the decoded bytes) before the first file is renamed into
place. A local edit is never overwritten or removed without ``force``; nothing
is ever written through a symlink.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lobs.diff import Diff, diff_entries
from lobs.errors import ConflictError, IntegrityError
from lobs.fetch import Staged, fetch_all
from lobs.fsutil import TMP_PREFIX, fsync_dir
from lobs.index import Index
from lobs.lazyjson import LazyList
from lobs.links import link_escape
from lobs.localstate import LocalState
from lobs.model import Entry, Manifest
from lobs.progress import Progress
from lobs.remote import Remote
from lobs.scan import LocalFile
from lobs.syncstate import SyncState
from lobs.workspace import Workspace


@dataclass
class PullPlan:
    ws: Workspace
    local: LocalState
    snapshot: str
    target: Manifest
    diff: Diff  # local tree -> snapshot
    writes: list[Entry] = field(default_factory=list)  # files and links to (re)create
    chmods: list[Entry] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def download_bytes(self) -> int:
        return sum(e.stored.size for e in self.writes if e.stored)

    @property
    def up_to_date(self) -> bool:
        return not (self.writes or self.chmods or self.deletes)

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.ws.name,
            "snapshot": self.snapshot,
            "writes": LazyList({"path": e.path, "size": e.size} for e in self.writes),
            "chmods": [e.path for e in self.chmods],
            "deletes": self.deletes,
            "conflicts": [{"path": p, "reason": r} for p, r in self.conflicts],
        }


def plan_pull(
    ws: Workspace,
    local: LocalState,
    base: Manifest | None,
    snap_id: str,
    target: Manifest,
    *,
    force: bool,
    delete: bool,
    outside_links: bool = False,
) -> PullPlan:
    """Work out a pull. Raises ConflictError (listing paths) unless ``force``; IntegrityError
    for a link that would point out of the target unless ``outside_links``."""
    if not outside_links:
        _refuse_escaping_links(target)
    have = local.entries
    was = base.by_path() if base else {}
    want = target.by_path()
    plan = PullPlan(ws, local, snap_id, target, diff_entries(have, want))

    def edited(path: str) -> bool:
        cur, old = have.get(path), was.get(path)
        return cur is not None and (old is None or not cur.same_content(old))

    for path, e in want.items():
        cur = have.get(path)
        if cur is not None and cur.same_content(e):
            if cur.mode != e.mode and not e.is_link and (path not in was or was[path].mode == cur.mode or force):
                plan.chmods.append(e)
            continue
        if cur is None and not force and path in was and was[path].same_content(e):
            continue  # deleted here, unchanged in the snapshot: keep the deletion (merge)
        if cur is not None and edited(path):
            if not force and path in was and was[path].same_content(e):
                continue  # edited here, unchanged in the snapshot: keep the edit (merge), as for modes
            why = "modified locally" if path in was else "untracked local file would be overwritten"
            plan.conflicts.append((path, why))
        plan.writes.append(e)
    for path in have:
        if path in want:
            continue
        if path in was:
            if edited(path):
                plan.conflicts.append((path, "modified locally, deleted in the snapshot"))
            plan.deletes.append(path)
        elif delete:
            plan.deletes.append(path)
    # A file in the way of a directory the snapshot needs, or a folder in the way of a file.
    removed = set(plan.deletes)
    local_dirs: dict[str, list[str]] = defaultdict(list)
    for path in have:
        parts = path.split("/")
        for k in range(1, len(parts)):
            local_dirs["/".join(parts[:k])].append(path)
    for e in plan.writes:
        parts = e.path.split("/")
        for k in range(1, len(parts)):
            parent = "/".join(parts[:k])
            if parent in have and parent not in removed and parent not in want:
                plan.conflicts.append((parent, f"local file is in the way of {e.path}"))
        blockers = [p for p in local_dirs.get(e.path, []) if p not in removed]
        if blockers:
            plan.conflicts.append((e.path, f"local folder is in the way ({len(blockers)} file(s) inside)"))
    if plan.conflicts and not force:
        lines = sorted({f"{p} ({why})" for p, why in plan.conflicts})
        shown = "; ".join(lines[:10]) + (f"; and {len(lines) - 10} more" if len(lines) > 10 else "")
        raise ConflictError(
            f"pull would lose local changes to {len(lines)} path(s): {shown}",
            "push or move your edits first, or pull with --force to overwrite them",
            paths=sorted({p for p, _ in plan.conflicts}),
        )
    plan.writes.sort(key=lambda e: e.path.encode())
    plan.deletes.sort()
    return plan


def _refuse_escaping_links(target: Manifest) -> None:
    links = {e.path: e.link for e in target.entries if e.link is not None}
    bad = [f"{p} -> {t} ({why})" for p, t in links.items() if (why := link_escape(p, t, links))]
    if bad:
        raise IntegrityError(
            f"the snapshot has {len(bad)} link(s) pointing out of the target: {'; '.join(bad[:5])}"
            + (f"; and {len(bad) - 5} more" if len(bad) > 5 else ""),
            "nothing was written; pull with --allow-outside-links if you trust where they point",
        )


def execute_pull(plan: PullPlan, remote: Remote, progress: Progress, jobs: int = 0) -> None:
    """Download and verify everything into staging, then rename into place."""
    ws = plan.ws
    staging = ws.staging
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "obj").mkdir(parents=True)
    (staging / "files").mkdir()
    try:
        staged = fetch_all(plan.writes, plan.target.hash, remote, staging, progress, jobs)
        _recheck_local(plan)
        _check_parents(plan)
        progress.phase("apply", len(plan.writes) + len(plan.deletes))
        _apply(plan, staged, progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    ws.set_base(SyncState(ws.remote_name, plan.snapshot, len(plan.target.entries), plan.target.total_size))


def _recheck_local(plan: PullPlan) -> None:
    """A file edited while we downloaded is a new local edit: refuse rather than overwrite."""
    if plan.conflicts:
        return  # --force: overwriting is what was asked
    changed = []
    for path in [e.path for e in plan.writes] + plan.deletes:
        f = plan.local.files.get(path)
        try:
            st = os.lstat(plan.ws.root / path)
        except (FileNotFoundError, NotADirectoryError):  # a file may stand where a folder will be
            if f is not None:
                changed.append(path)
            continue
        if f is None or (st.st_size, st.st_mtime_ns, st.st_ino) != (f.size, f.mtime_ns, f.ino):
            changed.append(path)
    if changed:
        raise ConflictError(
            f"{len(changed)} file(s) changed during the pull: {', '.join(changed[:5])}",
            "nothing was changed; run the pull again",
            paths=changed,
        )


def _check_parents(plan: PullPlan) -> None:
    """Refuse before the first change when a write would have to pass a symlink or a file.

    :func:`safe_parent` checks again while applying; this makes the refusal
    happen before anything is written, even with ``force``.
    """
    root = plan.ws.root
    going = set(plan.deletes)
    kinds: dict[str, str] = {}
    for path in [e.path for e in plan.writes] + [e.path for e in plan.chmods] + plan.deletes:
        parts = path.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            prefix = "/".join(parts[:k])
            if prefix in going:
                break  # removed first, then re-created as a folder
            kind = kinds.get(prefix)
            if kind is None:
                try:
                    mode = os.lstat(root / prefix).st_mode
                except FileNotFoundError:
                    mode = 0
                kind = kinds[prefix] = "link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode) else "file" if mode else "none"
            if kind == "none":
                break
            if kind == "link":
                raise IntegrityError(f"refusing to write {path}: {root / prefix} is a symlink", "nothing was changed; remove the link or pull elsewhere")
            if kind == "file":
                raise ConflictError(f"cannot write {path}: {root / prefix} is a file", "nothing was changed; move it away, or pull with --force --delete", paths=[prefix])


def safe_parent(root: Path, rel: str) -> Path:
    """Create the parent folders of ``rel`` under ``root``, refusing to pass a symlink."""
    cur = root
    for part in rel.split("/")[:-1]:
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            cur.mkdir()
            continue
        if stat.S_ISLNK(st.st_mode):
            raise IntegrityError(f"refusing to write {rel}: {cur} is a symlink", "remove the link or pull elsewhere")
        if not stat.S_ISDIR(st.st_mode):
            raise ConflictError(f"cannot write {rel}: {cur} is a file", "move it away or pull with --force")
    return cur


def _apply(plan: PullPlan, staged: Staged, progress: Progress) -> None:
    ws = plan.ws
    root = ws.root
    index = plan.local.index
    for path in plan.deletes:
        p = root / path
        safe_parent(root, path)
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
        progress.item("delete", path, 0)
        _prune_empty(root, path)
    parents: dict[str, Path] = {}  # folder -> checked (safe_parent) once for all its files
    for j, e in enumerate(plan.writes):
        folder, _, name = e.path.rpartition("/")
        parent = parents.get(folder)
        if parent is None:
            parent = parents[folder] = safe_parent(root, e.path)
        dest = parent / name
        if e.link is not None:
            tmp = parent / f"{TMP_PREFIX}{os.getpid()}-link"
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            os.symlink(e.link, tmp)
            _replace(tmp, dest)
        else:
            _replace(staged.path(j), dest)  # staged with its mode (fetch_all)
        progress.item("download", e.path, e.size)
        _record(index, dest, e, plan.target.hash)
    for e in plan.chmods:
        p = root / e.path
        safe_parent(root, e.path)
        os.chmod(p, e.mode)
        _record(index, p, e, plan.target.hash)
    for d in parents.values():
        fsync_dir(d)
    keep = {e.path for e in plan.target.entries}  # (no by-path dict of the whole snapshot for this)
    gone = set(plan.deletes)
    keep.update(p for p in plan.local.files if p not in gone)
    index.forget_missing(keep)
    index.save()


def _replace(src: Path | str, dest: Path) -> None:
    """Rename ``src`` over ``dest``; a folder standing there goes first (only reached with
    --force, or when it holds only deleted files)."""
    try:
        os.replace(src, dest)
    except IsADirectoryError:
        shutil.rmtree(dest)
        os.replace(src, dest)


def _record(index: Index, dest: Path, e: Entry, algo: str) -> None:
    st = os.lstat(dest)
    f = LocalFile.from_stat(e.path, st, e.link)
    if e.link is None:
        index.record(f, algo, e.hash)


def _prune_empty(root: Path, path: str) -> None:
    parts = path.split("/")[:-1]
    while parts:
        d = root.joinpath(*parts)
        try:
            d.rmdir()
        except OSError:
            return
        parts.pop()

