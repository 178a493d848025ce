"""What ``lobs export SRC`` reads: a project target, a plain directory, or a remote snapshot.

Every source becomes a :class:`Source`: an archive manifest (sha256 hashes,
entries stored raw) and, for each file entry, the local file holding its bytes.
Local files are hashed through the index where one exists; remote snapshots
are fetched into a work folder and verified first (see :mod:`lobs.archive.fetch`).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lobs import api
from lobs.archive.fetch import cleanup, fetch_snapshot
from lobs.config import find_project
from lobs.errors import NotFoundError
from lobs.ignore import Rules
from lobs.index import Index, resolve_hashes
from lobs.localstate import read_local
from lobs.model import Entry, Manifest, Stored
from lobs.scan import LocalFile, scan
from lobs.transport.spec import url_scheme
from lobs.workspace import Workspace


@dataclass
class Source:
    manifest: Manifest
    files: dict[str, Path]  # entry path -> the file to read its bytes from
    work: Path | None = None  # a temp folder to delete when done
    skipped: list[str] = field(default_factory=list)

    def close(self) -> None:
        if self.work is not None:
            cleanup(self.work)
            self.work = None


def iso_mtime(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_source(root: Path, name: str, files: list[LocalFile], hashes: dict[str, str]) -> Source:
    """An archive manifest for files already scanned and hashed (sha256).

    ``created`` is the newest mtime among the files (null for an empty folder),
    so the archive depends only on the tree.
    """
    entries = []
    paths: dict[str, Path] = {}
    for f in files:
        if f.path not in hashes:
            continue  # vanished while hashing
        if f.link is not None:
            entries.append(Entry(f.path, f.size, 0o777, hashes[f.path], None, f.link))
        else:
            entries.append(Entry(f.path, f.size, f.mode, hashes[f.path], Stored("none", f.size)))
            paths[f.path] = root / f.path
    newest = max((f.mtime_ns for f in files), default=None)
    created = iso_mtime(newest) if newest is not None else None
    return Source(Manifest(target=name, hash="sha256", created=created, entries=entries), paths)


def _drop(files: list[LocalFile], root: Path, skip: Path | None) -> list[LocalFile]:
    if skip is None:
        return files
    return [f for f in files if os.path.abspath(root / f.path) != os.path.abspath(skip)]


def open_source(
    ctx: api.Context,
    src: str,
    *,
    remote_name: str | None,
    opts: api.RemoteOptions,
    work_parent: Path,
    skip: Path | None = None,
) -> Source:
    """Resolve ``SRC`` (target[@snap], directory, or URL[@snap]) and read it.

    Precedence: a target of the current project, then an existing directory,
    then a remote URL. Raises NotFoundError when SRC is none of these or the
    snapshot is missing; IntegrityError/TransportError from fetching.
    """
    name, snap = api.split_snapshot(src)
    if find_project(ctx.cwd) is not None:
        cfg = ctx.config()
        assert cfg.root is not None
        rel = os.path.relpath(os.path.abspath(ctx.cwd / name), cfg.root).replace(os.sep, "/")
        if name.strip("/") in {t.path for t in cfg.targets} or rel in {t.path for t in cfg.targets}:
            ws = api.workspaces(ctx, [name], remote_name)[0]
            if snap is not None:
                return _remote(ctx, ws, snap, work_parent)
            local = read_local(ws, ctx.progress, ctx.jobs, algo="sha256")
            files = _drop(sorted(local.files.values(), key=lambda f: f.path.encode()), ws.root, skip)
            hashes = {p: e.hash for p, e in local.entries.items()}
            out = local_source(ws.root, ws.name, files, hashes)
            out.skipped = local.skipped
            return out
    directory = ctx.cwd / name
    if snap is None and directory.is_dir():
        return _directory(ctx, directory, skip)
    if "://" in name or url_scheme(name) == "rclone":
        ws = api.adhoc(ctx, str(work_parent), name, opts)
        return _remote(ctx, ws, snap, work_parent)
    raise NotFoundError(f"{src!r} is not a target, a directory or a remote URL", "lobs export DIR|TARGET|URL[@SNAPSHOT]")


def _directory(ctx: api.Context, root: Path, skip: Path | None) -> Source:
    ctx.progress.phase("scan")
    res = scan(root, Rules.root())
    for s in res.skipped:
        ctx.progress.warn(s)
    files = _drop(res.files, root, skip)
    ctx.progress.phase("hash", len(files), sum(f.size for f in files if f.link is None))
    hashes = resolve_hashes(
        root, files, Index(None), "sha256", jobs=ctx.jobs, on_hashed=lambda f, n: ctx.progress.advance(1, n)
    )
    out = local_source(root, os.path.basename(os.path.abspath(root)), files, hashes)
    out.skipped = res.skipped
    return out


def _remote(ctx: api.Context, ws: Workspace, snap: str | None, work_parent: Path) -> Source:
    remote = ws.open_remote()
    try:
        sid = remote.resolve_snapshot(snap) if snap else remote.read_ref()
        if sid is None:
            raise NotFoundError(f"nothing has been pushed to {remote.display} yet", "check the URL")
        work = Path(tempfile.mkdtemp(prefix=".lobs-staging-export-", dir=work_parent))
        try:
            got = fetch_snapshot(remote, sid, work, ctx.progress, ctx.jobs)
        except BaseException:
            cleanup(work)
            raise
        return Source(got.manifest, got.files, work)
    finally:
        remote.transport.close()
