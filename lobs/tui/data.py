"""What the TUI shows, computed from :mod:`lobs.api` with no Textual in sight.

Everything here may run in a worker thread: it reads the project, the remote
and the working tree and returns plain rows. Filtering and sorting are pure
functions over those rows so that a 100,000-file snapshot is handled in Python
lists, and only the visible slice ever reaches a widget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from lobs import api
from lobs.diff import Diff
from lobs.model import Entry, Manifest
from lobs.workspace import Workspace

# Working-tree states against the last synced snapshot, in sort order.
STATES = ("modified", "new", "deleted", "remote", "conflict", "unchanged")
STATE_MARK = {"modified": "~", "new": "+", "deleted": "-", "remote": "R", "conflict": "!", "unchanged": " "}
CHANGE_MARK = {"added": "+", "removed": "-", "modified": "~", "mode": "m"}
SORTS = ("name", "size", "state")


def human(n: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as the CLI prints them)."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{sign}{n:.0f} {unit}" if unit == "B" else f"{sign}{n:.1f} {unit}"
        n /= 1000
    return f"{sign}{n:.1f} PB"  # pragma: no cover


def ratio(size: int, stored: int | None) -> str:
    """Compression ratio as shown in tables: '3.2x', or '' when unknown."""
    if stored is None or size == 0 or stored == 0:
        return ""
    return f"{size / stored:.1f}x"


def short_time(created: str | None) -> str:
    """'2026-11-21T10:00:00Z' -> '2026-11-21 10:00'."""
    if not created:
        return ""
    return created.replace("T", " ")[:16]


@dataclass(frozen=True)
class Target:
    """One target on one remote, as listed in the remote tree."""

    remote: str
    name: str
    ws: Workspace
    can_sync: bool = True  # False when browsing a URL with no local folder

    @property
    def label(self) -> str:
        return self.name or "(root)"


@dataclass(frozen=True)
class FileRow:
    """A file of a snapshot or of the working tree."""

    path: str
    size: int
    stored: int | None
    state: str = ""  # working tree only


@dataclass(frozen=True)
class Working:
    """The working tree against its last synced snapshot."""

    rows: list[FileRow]
    synced: str | None
    remote_ref: str | None
    skipped: list[str]


def discover_project(ctx: api.Context) -> list[Target]:
    """The project's targets, each on its remote."""
    return [Target(ws.remote_name, ws.name, ws) for ws in api.workspaces(ctx, [])]


def discover_url(ctx: api.Context, url: str, directory: str | None, opts: api.RemoteOptions) -> list[Target]:
    """The targets a URL holds. Only the root target can be synced, and only with a folder."""
    ws = api.adhoc(ctx, directory or str(ctx.cwd), url, opts)
    listing = api.ls(ctx, ws.remote_cfg, None, None, ws.user_transports)
    names = sorted(listing.refs) if listing.what == "targets" else ["(root)"]
    if not names:
        names = ["(root)"]
    out = []
    for name in names:
        rp = "" if name == "(root)" else name
        out.append(Target(url, rp, dataclasses.replace(ws, remote_path=rp), can_sync=directory is not None and rp == ""))
    return out


def history(ctx: api.Context, ws: Workspace) -> list[api.LogEntry]:
    """The target's snapshots, newest first."""
    return api.log(ctx, ws)


def snapshot_rows(m: Manifest) -> list[FileRow]:
    """One row per entry of a snapshot."""
    return [FileRow(e.path, e.size, e.stored.size if e.stored else None) for e in m.entries]


def working(ctx: api.Context, ws: Workspace, *, check_remote: bool = True) -> Working:
    """Each local file's state: unchanged, modified, new, deleted, remote (changed remotely) or conflict.

    A folder that does not exist yet (a first pull will create it) is empty.
    """
    if not ws.root.exists():
        return Working([], None, None, [])
    st = api.status(ctx, ws, check_remote=check_remote)
    base = ws.base_manifest(None)
    base_e = base.by_path() if base else {}
    remote_changed: set[str] = set()
    if st.remote_moved and st.remote_ref is not None:
        remote_changed = _changed_paths(base_e, _manifest(ws, st.remote_ref).by_path())
    kinds = {"added": "new", "removed": "deleted", "modified": "modified", "mode": "modified"}
    rows: dict[str, FileRow] = {}
    for c in st.diff.changes:
        e = c.new or c.old
        assert e is not None
        state = kinds[c.kind]
        if c.path in remote_changed:
            state = "conflict"
        rows[c.path] = FileRow(c.path, e.size, None if c.new else _stored(c.old), state)
    for path, e in base_e.items():
        if path not in rows:
            rows[path] = FileRow(path, e.size, _stored(e), "remote" if path in remote_changed else "unchanged")
    ordered = sorted(rows.values(), key=lambda r: r.path.encode())
    return Working(ordered, st.base.snapshot if st.base else None, st.remote_ref, st.skipped)


def compare(ctx: api.Context, ws: Workspace, a: str, b: str | None) -> Diff:
    """Snapshot ``a`` -> snapshot ``b``, or -> the working tree when ``b`` is None."""
    return api.diff(ctx, ws, a, b)


def _manifest(ws: Workspace, snap: str) -> Manifest:
    m = ws.cached_manifest(snap)
    if m is not None:
        return m
    remote = ws.open_remote()
    try:
        return remote.read_snapshot(snap)
    finally:
        remote.transport.close()


def _changed_paths(a: dict[str, Entry], b: dict[str, Entry]) -> set[str]:
    out = {p for p in a.keys() ^ b.keys()}
    out |= {p for p in a.keys() & b.keys() if not a[p].same_content(b[p])}
    return out


def _stored(e: Entry | None) -> int | None:
    return e.stored.size if e is not None and e.stored is not None else None


def select(rows: Iterable[FileRow], text: str = "", state: str = "", sort: str = "name", reverse: bool = False) -> list[FileRow]:
    """Rows whose path contains ``text`` (case-insensitive) and whose state is ``state``, sorted."""
    needle = text.lower()
    out = [r for r in rows if (not needle or needle in r.path.lower()) and (not state or r.state == state)]
    if sort == "size":
        out.sort(key=lambda r: (-r.size, r.path))
    elif sort == "state":
        order = {s: i for i, s in enumerate(STATES)}
        out.sort(key=lambda r: (order.get(r.state, 99), r.path))
    else:
        out.sort(key=lambda r: r.path)
    if reverse:
        out.reverse()
    return out
