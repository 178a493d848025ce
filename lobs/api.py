"""The one entry point for front ends (CLI, TUI) and Python users.

Every operation takes a :class:`Context` (working directory, environment,
progress reporter, parallelism) so that it runs the same in a terminal, in
tests and in the TUI. ``dry_run`` is decided here and only here: planning always
runs, execution never does when it is set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lobs import config as cfgmod
from lobs.codec import Compression
from lobs.config import Config, RemoteConfig
from lobs.diff import Diff, diff_entries
from lobs.errors import ConfigError, NotFoundError, UsageError
from lobs.localstate import LocalState, mark_synced, read_local
from lobs.lock import target_lock
from lobs.model import Entry, Manifest
from lobs.progress import NullProgress, Progress
from lobs.remote import Layout, Remote
from lobs.status import Status, status
from lobs.syncstate import SyncState
from lobs.transport.spec import RemoteSpec
from lobs.workspace import Workspace, adhoc_workspace, project_workspace

__all__ = [  # what front ends use (status lives in lobs.status and is part of this surface)
    "Context", "Listing", "LogEntry", "PullResult", "PushResult", "RemoteOptions", "Status", "adhoc", "diff", "log",
    "ls", "pull", "push", "split_snapshot", "status", "verify", "workspaces",
]

if TYPE_CHECKING:  # imported where used: `lobs status` never loads push, pull or verify
    from lobs.pull import PullPlan
    from lobs.push_plan import PushPlan
    from lobs.verify import VerifyReport


@dataclass
class Context:
    cwd: Path = field(default_factory=Path.cwd)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    progress: Progress = field(default_factory=NullProgress)
    jobs: int = 0

    def config(self, *, require_project: bool = True) -> Config:
        return cfgmod.load(self.cwd, self.env, require_project=require_project)


@dataclass(frozen=True)
class RemoteOptions:
    """Options for a URL used without a project (flags of `lobs push DIR URL`)."""

    transport: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    no_sign_request: bool = False
    layout: str = "cas"
    hash: str = "sha256"
    compression: str | None = None


def split_snapshot(url: str) -> tuple[str, str | None]:
    """``URL@SNAPSHOT`` -> (URL, SNAPSHOT); a trailing ``@hex`` is a snapshot id."""
    head, sep, tail = url.rpartition("@")
    if sep and head and len(tail) >= 4 and all(c in "0123456789abcdef" for c in tail.lower()):
        return head, tail.lower()
    return url, None


def adhoc(ctx: Context, directory: str, url: str, opts: RemoteOptions) -> Workspace:
    """A workspace for DIR + URL with no lobs.yml."""
    cfg = ctx.config(require_project=False)
    spec = RemoteSpec(
        url=url,
        transport=opts.transport,
        name=None,
        endpoint_url=opts.endpoint_url,
        profile=opts.profile,
        region=opts.region,
        no_sign_request=opts.no_sign_request,
    )
    if opts.layout not in cfgmod.LAYOUTS:
        raise UsageError(f"unknown layout {opts.layout!r}", "use cas or mirror")
    rc = RemoteConfig(name=url, spec=spec, layout=opts.layout, hash=opts.hash)
    d = Path(directory)
    if not d.is_absolute():
        d = ctx.cwd / d
    return adhoc_workspace(d, rc, Compression.parse(opts.compression), cfg.transports, ctx.env)


def workspaces(ctx: Context, names: list[str], remote: str | None = None) -> list[Workspace]:
    """Project targets by name (all targets when ``names`` is empty)."""
    cfg = ctx.config()
    assert cfg.root is not None
    if not cfg.targets:
        raise ConfigError("this project tracks no targets yet", "add one with `lobs track PATH`")
    if not names:
        return [project_workspace(cfg, t, remote, ctx.env) for t in cfg.targets]
    by_path = {t.path: t for t in cfg.targets}
    out = []
    for name in names:
        t = by_path.get(name.strip("/"))
        if t is None:
            rel = os.path.relpath((ctx.cwd / name).absolute(), cfg.root).replace(os.sep, "/")
            t = by_path.get(rel)
        if t is None:
            raise NotFoundError(f"{name!r} is not a target of this project", f"targets: {', '.join(by_path)}")
        out.append(project_workspace(cfg, t, remote, ctx.env))
    return out


# ---------------------------------------------------------------- push / pull


@dataclass
class PushResult:
    plan: PushPlan
    snapshot: str | None  # None for a dry run
    manifest: Manifest | None
    dry_run: bool = False


def push(
    ctx: Context, ws: Workspace, *, force: bool = False, dry_run: bool = False, message: str | None = None, repair: bool = False
) -> PushResult:
    """Push one workspace. Idempotent: re-running after an interruption finishes the job.
    ``repair`` lists the remote and sends again any object its snapshot names but it lacks."""
    with target_lock(ws.lock_path, ws.name):
        ws.remove_dead_temps()
        remote = ws.open_remote()
        try:
            if repair or ws.base() is None or ws.push_unfinished() or ws.layout.kind == "mirror":
                remote.prefetch_objects()  # it will (likely) list (lobs.push_plan): while the tree is hashed
            remote.prefetch_ref()  # read first thing by plan_push: a tool start (aws: 0.3 s) off the critical path
            local = read_local(ws, ctx.progress, ctx.jobs)
            from lobs.push import execute_push
            from lobs.push_plan import plan_push

            plan = plan_push(ws, remote, local, force=force, message=message, repair=repair)
            if dry_run:
                return PushResult(plan, None, None, dry_run=True)
            if plan.up_to_date and plan.remote_ref is not None and plan.remote_manifest is not None:
                m = plan.remote_manifest
                ws.set_base(SyncState(ws.remote_name, plan.remote_ref, len(m.entries), m.total_size))
                mark_synced(local, plan.remote_ref, m)
                return PushResult(plan, plan.remote_ref, m)
            snap, manifest = execute_push(plan, remote, ctx.progress, ctx.jobs)
            mark_synced(local, snap, manifest, local.entries)  # the pushed entries are the manifest's
            return PushResult(plan, snap, manifest)
        finally:
            remote.transport.close()


@dataclass
class PullResult:
    plan: PullPlan
    dry_run: bool = False


def pull(
    ctx: Context,
    ws: Workspace,
    *,
    snapshot: str | None = None,
    force: bool = False,
    delete: bool = False,
    dry_run: bool = False,
    latest: bool = False,
    outside_links: bool = False,
) -> PullResult:
    """Make the workspace match a snapshot.

    Which one: ``snapshot`` if given; else, in a project, the one lobs.lock pins
    (so ``git checkout <commit> && lobs pull`` brings back that commit's data)
    unless ``latest``; else the remote's latest.
    """
    with target_lock(ws.lock_path, ws.name):  # the lock lives in the state folder, not in root
        ws.remove_dead_temps()
        remote = ws.open_remote()
        try:
            if not dry_run:
                remote.prefetch_objects()  # listed (to choose how to download) while the ref and snapshot are read
            pin = ws.pin()
            if snapshot:
                snap: str | None = remote.resolve_snapshot(snapshot)
            elif not latest and pin is not None and pin.remote == ws.remote_name:
                snap = pin.snapshot
            else:
                snap = remote.read_ref()
            if snap is None:
                raise NotFoundError(f"nothing has been pushed to {remote.display} for {ws.name} yet", "push first, or check the URL")
            target = ws.snapshot(remote, snap)
            local = read_local(ws, ctx.progress, ctx.jobs, algo=target.hash) if ws.root.exists() else LocalState.empty()
            base = ws.base_manifest(remote)
            if base is not None and base.hash != target.hash:
                base = None
            from lobs.pull import execute_pull, plan_pull

            plan = plan_pull(ws, local, base, snap, target, force=force, delete=delete, outside_links=outside_links)
            if dry_run:
                return PullResult(plan, dry_run=True)
            ws.root.mkdir(parents=True, exist_ok=True)  # only once the snapshot is validated
            execute_pull(plan, remote, ctx.progress, ctx.jobs)
            return PullResult(plan)  # (no mark_synced: pulled files are too fresh to trust by stat)
        finally:
            remote.transport.close()


# ---------------------------------------------------------------- diff / log / ls (status: lobs.status)


def diff(ctx: Context, ws: Workspace, a: str | None = None, b: str | None = None) -> Diff:
    """``a``/``b`` are snapshot ids (abbreviations allowed). Defaults: the remote's latest -> working tree."""
    remote = ws.open_remote()
    try:
        def load(snap: str) -> Manifest:
            sid = remote.resolve_snapshot(snap)
            return ws.snapshot(remote, sid)

        if a is not None and b is not None:
            return diff_entries(load(a).by_path(), load(b).by_path())
        if a is not None:
            old: Manifest | None = load(a)
        else:
            ref = remote.read_ref()
            old = ws.snapshot(remote, ref) if ref else None
        local = read_local(ws, ctx.progress, ctx.jobs, algo=old.hash if old else None)
        return diff_entries(old.by_path() if old else {}, local.entries)
    finally:
        remote.transport.close()


def verify(ctx: Context, ws: Workspace, *, deep: bool = False, every: bool = False) -> VerifyReport:
    """Check the remote holds every object of the latest snapshot (``every``: of all of them)."""
    remote = ws.open_remote()
    try:
        ref = remote.read_ref()
        if ref is None:
            raise NotFoundError(f"nothing has been pushed to {remote.display} for {ws.name} yet")
        snaps = list(remote.history(ref, 0 if every else 1))
        from lobs.verify import verify as verify_snapshots

        return verify_snapshots(remote, snaps, ctx.progress, deep=deep, jobs=ctx.jobs)
    finally:
        remote.transport.close()


@dataclass
class LogEntry:
    snapshot: str
    manifest: Manifest

    def to_json(self) -> dict[str, object]:
        m = self.manifest
        return {
            "snapshot": self.snapshot,
            "parent": m.parent,
            "created": m.created,
            "message": m.message,
            "files": len(m.entries),
            "size": m.total_size,
            "stored": m.stored_size,
        }


def log(ctx: Context, ws: Workspace, limit: int = 0) -> list[LogEntry]:
    remote = ws.open_remote()
    try:
        return [LogEntry(s, m) for s, m in remote.history(remote.read_ref(), limit)]
    finally:
        remote.transport.close()


@dataclass
class Listing:
    what: str  # "targets" or "files"
    refs: dict[str, str] = field(default_factory=dict)  # target -> snapshot id
    snapshot: str | None = None
    entries: list[Entry] = field(default_factory=list)


def ls(ctx: Context, rc: RemoteConfig, path: str | None, snapshot: str | None, transports: Mapping[str, object]) -> Listing:
    """The targets a remote holds (no path), or the files of one target's snapshot."""
    from lobs.transport.registry import open_transport

    transport = open_transport(rc.spec, transports, ctx.env)
    try:
        if path is None and rc.layout == "cas":
            root_ref = Remote(transport, Layout("cas", ""), rc.spec.display).read_ref()
            refs: dict[str, str] = {}
            if root_ref:
                refs["(root)"] = root_ref
            for o in transport.list("refs/"):
                if o.key.endswith(".ref"):
                    name = o.key[len("refs/") : -len(".ref")]
                    ref = Remote(transport, Layout("cas", name), rc.spec.display).read_ref()
                    if ref:
                        refs[name] = ref
            if not (snapshot or (len(refs) == 1 and "(root)" in refs)):
                return Listing("targets", refs=refs)
        remote = Remote(transport, Layout(rc.layout, path or ""), rc.spec.display)
        sid = remote.resolve_snapshot(snapshot) if snapshot else remote.read_ref()
        if sid is None:
            raise NotFoundError(f"nothing pushed to {rc.spec.display}{':' + path if path else ''}")
        return Listing("files", snapshot=sid, entries=remote.read_snapshot(sid).entries)
    finally:
        transport.close()
