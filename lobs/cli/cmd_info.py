"""``lobs status``, ``lobs diff``, ``lobs log`` and ``lobs ls``."""

from __future__ import annotations

from typing import Any

import click

from lobs import api
from lobs.cli.common import (
    emit_json,
    jobs_option,
    json_option,
    looks_like_url,
    make_context,
    remote_flags,
    say,
)
from lobs.cli.output import human, plural
from lobs.config import RemoteConfig, find_project
from lobs.diff import Diff
from lobs.errors import IntegrityError
from lobs.transport.spec import RemoteSpec

MARK = {"added": "+", "removed": "-", "modified": "M", "mode": "m"}


@click.command()
@click.argument("targets", nargs=-1)
@click.option("--remote", "check_remote", is_flag=True, help="Also read the remote's ref (one small request).")
@click.option("-r", "remote_name", default=None, help="Remote name.")
@json_option
@click.pass_obj
def status(obj: Any, targets: tuple[str, ...], check_remote: bool, remote_name: str | None, json_mode: bool) -> None:
    """Local changes since the last push or pull (no network unless --remote)."""
    ctx = make_context(obj, json_mode)
    try:
        results = [api.status(ctx, ws, check_remote=check_remote) for ws in api.workspaces(ctx, list(targets), remote_name)]
    finally:
        ctx.progress.close()
    if json_mode:
        emit_json({"command": "status", "targets": [s.to_json() for s in results]})
        return
    for st in results:
        base = f"snapshot {st.base.snapshot[:12]} on {st.base.remote}" if st.base else "never synced"
        c = st.diff.counts()
        head = f"{st.ws.name}: {base}"
        if st.diff.empty:
            head += f", clean ({plural(c['unchanged'], 'file')})"
        else:
            head += f", {c['added']} added, {c['modified'] + c['mode']} modified, {c['removed']} removed, {c['unchanged']} unchanged"
        say(obj, head)
        if not st.base_known:
            say(obj, "  (the synced snapshot is not cached here: run `lobs status --remote` or `lobs pull`)")
        if st.remote_checked:
            if st.remote_ref is None:
                say(obj, "  remote: nothing pushed yet")
            elif st.remote_moved:
                say(obj, f"  remote: moved to {st.remote_ref[:12]} (`lobs pull --latest` gets it)")
            else:
                say(obj, "  remote: up to date")
        _print_changes(obj, st.diff)


def _print_changes(obj: Any, d: Diff) -> None:
    for ch in d.changes:
        delta = f" ({'+' if ch.size_delta >= 0 else '-'}{human(abs(ch.size_delta))})" if ch.kind != "mode" else ""
        say(obj, f"  {MARK[ch.kind]} {ch.path}{delta}")


@click.command()
@click.argument("args", nargs=-1)
@click.option("-r", "--remote", "remote_name", default=None, help="Remote name.")
@json_option
@click.pass_obj
def diff(obj: Any, args: tuple[str, ...], remote_name: str | None, json_mode: bool) -> None:
    """What a push would change (no snapshot given), or the difference between snapshots.

    lobs diff [TARGET] [A] [B]
    """
    ctx = make_context(obj, json_mode)
    cfg = ctx.config()
    names = {t.path for t in cfg.targets}
    rest = list(args)
    target = [rest.pop(0)] if rest and rest[0].strip("/") in names else []
    try:
        ws_list = api.workspaces(ctx, target, remote_name)
        if len(ws_list) > 1:
            raise click.UsageError("name one target")
        d = api.diff(ctx, ws_list[0], rest[0] if rest else None, rest[1] if len(rest) > 1 else None)
    finally:
        ctx.progress.close()
    if json_mode:
        emit_json({"command": "diff", "counts": d.counts(), "changes": [c.to_json() for c in d.changes]})
        return
    _print_changes(obj, d)
    c = d.counts()
    say(obj, f"{c['added']} added, {c['modified'] + c['mode']} modified, {c['removed']} removed, {c['unchanged']} unchanged")


@click.command()
@click.argument("target", required=False)
@click.option("-r", "--remote", "remote_name", default=None, help="Remote name.")
@click.option("-n", "--limit", type=int, default=0, help="Show at most this many snapshots.")
@json_option
@click.pass_obj
def log(obj: Any, target: str | None, remote_name: str | None, limit: int, json_mode: bool) -> None:
    """Snapshot history of a target, newest first."""
    ctx = make_context(obj, json_mode)
    try:
        if target and (looks_like_url(target) or find_project(obj.cwd) is None):
            ws = api.adhoc(ctx, str(obj.cwd), target, api.RemoteOptions())
        else:
            wss = api.workspaces(ctx, [target] if target else [], remote_name)
            if len(wss) > 1:
                raise click.UsageError("name one target")
            ws = wss[0]
        entries = api.log(ctx, ws, limit)
    finally:
        ctx.progress.close()
    if json_mode:
        emit_json({"command": "log", "snapshots": [e.to_json() for e in entries]})
        return
    if not entries:
        say(obj, "no snapshots yet")
    for e in entries:
        m = e.manifest
        msg = f"  {m.message}" if m.message else ""
        say(obj, f"{e.snapshot[:12]}  {m.created or '?':20}  {plural(len(m.entries), 'file'):>12}  {human(m.total_size):>9} ({human(m.stored_size)} stored){msg}")


@click.command()
@click.argument("where", required=False)
@click.option("-s", "--snapshot", default=None, help="List this snapshot instead of the latest.")
@remote_flags
@json_option
@click.pass_obj
def ls(obj: Any, /, where: str | None, snapshot: str | None, json_mode: bool, **kw: Any) -> None:
    """What a remote holds: `lobs ls [REMOTE[:PATH]]` or `lobs ls URL`."""
    ctx = make_context(obj, json_mode)
    cfg = ctx.config(require_project=False)
    path: str | None = None
    if where and where.split(":", 1)[0] in cfg.remotes:
        name, _, rest = where.partition(":")
        rc = cfg.remotes[name]
        path = rest or None
    elif where and (looks_like_url(where) or not cfg.remotes):
        url, snap = api.split_snapshot(where)
        snapshot = snapshot or snap
        spec = RemoteSpec(url=url, transport=kw.get("transport"), endpoint_url=kw.get("endpoint_url"), profile=kw.get("profile"), region=kw.get("region"), no_sign_request=bool(kw.get("no_sign_request")))
        rc = RemoteConfig(name=url, spec=spec)
    else:
        rc = cfg.remote(where)
    listing = api.ls(ctx, rc, path, snapshot, cfg.transports)
    ctx.progress.close()
    if json_mode:
        if listing.what == "targets":
            emit_json({"command": "ls", "targets": listing.refs})
        else:
            emit_json({"command": "ls", "snapshot": listing.snapshot, "entries": [e.to_json() for e in listing.entries]})
        return
    if listing.what == "targets":
        if not listing.refs:
            say(obj, "no targets pushed yet")
        for name, ref in sorted(listing.refs.items()):
            say(obj, f"{ref[:12]}  {name}")
        return
    for e in listing.entries:
        stored = f"{human(e.stored.size):>9} {e.stored.codec:4}" if e.stored else f"{'-> ' + (e.link or ''):>14}"
        say(obj, f"{oct(e.mode)[2:]:>4} {human(e.size):>9} {stored}  {e.path}")


@click.command()
@click.argument("target", required=False)
@click.option("-r", "--remote", "remote_name", default=None, help="Remote name.")
@click.option("--deep", is_flag=True, help="Also download every object and check its hash.")
@click.option("--all", "every", is_flag=True, help="Every snapshot in the history, not only the latest.")
@jobs_option
@json_option
@click.pass_obj
def verify(obj: Any, /, target: str | None, remote_name: str | None, deep: bool, every: bool, jobs: int, json_mode: bool) -> None:
    """Check that the remote still holds every object the snapshot names (exit 6 if not)."""
    ctx = make_context(obj, json_mode, jobs)
    try:
        reports = [(ws, api.verify(ctx, ws, deep=deep, every=every)) for ws in api.workspaces(ctx, [target] if target else [], remote_name)]
    finally:
        ctx.progress.close()
    if json_mode:
        emit_json({"command": "verify", "targets": [{"target": ws.name, "snapshots": r.snapshots, "objects": r.objects, "problems": [p.to_json() for p in r.problems]} for ws, r in reports]})
    else:
        for ws, r in reports:
            for p in r.problems:
                say(obj, f"  {p.what:8} {p.path}  ({p.key}, snapshot {p.snapshot[:12]})")
            what = "checked by content" if deep else "present with the right size"
            state = "OK" if r.ok else f"{len(r.problems)} problem(s)"
            say(obj, f"{ws.name}: {state}: {r.objects} object(s) of {plural(len(r.snapshots), 'snapshot')} {what}")
    bad = sum(len(r.problems) for _, r in reports)
    if bad:
        raise IntegrityError(f"{bad} object(s) missing or damaged on the remote", "run `lobs push --repair` from a copy that has the files to restore them")


COMMANDS = [status, diff, log, ls, verify]
