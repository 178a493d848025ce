"""``lobs push`` and ``lobs pull``."""

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
from lobs.config import find_project, load
from lobs.errors import UsageError
from lobs.workspace import Workspace


def _is_adhoc(obj: Any, args: tuple[str, ...], url_index: int) -> bool:
    if len(args) != 2:
        return False
    if find_project(obj.cwd) is None or looks_like_url(args[url_index]):
        return True
    cfg = load(obj.cwd, obj.env)
    return args[0].strip("/") not in {t.path for t in cfg.targets}


def _opts(kw: dict[str, Any]) -> api.RemoteOptions:
    return api.RemoteOptions(
        transport=kw.get("transport"),
        endpoint_url=kw.get("endpoint_url"),
        profile=kw.get("profile"),
        region=kw.get("region"),
        no_sign_request=bool(kw.get("no_sign_request")),
        layout=kw.get("layout") or "cas",
        hash=kw.get("hash_algo") or "sha256",
        compression=kw.get("compression"),
    )


@click.command()
@click.argument("args", nargs=-1)
@click.option("--remote", "-r", "remote_name", default=None, help="Remote name (default: the target's or default_remote).")
@click.option("--dry-run", "-n", is_flag=True, help="Print the plan; change nothing.")
@click.option("--force", is_flag=True, help="Push even if someone else pushed since your last sync.")
@click.option("-m", "--message", default=None, help="A message stored with the snapshot.")
@click.option("--repair", is_flag=True, help="List the remote and send again any object its snapshot names but it lacks.")
@click.option("--no-pack", is_flag=True, help="Send every file as an object of its own (no packs of small files).")
@click.option("--layout", type=click.Choice(["cas", "mirror"]), default=None, help="Layout for a URL (no project).")
@click.option("--hash", "hash_algo", type=click.Choice(["sha256", "xxh128"]), default=None, help="Content hash for a URL (no project).")
@click.option("--compression", default=None, help="auto | none | zstd:LEVEL for a URL (no project).")
@remote_flags
@jobs_option
@json_option
@click.pass_obj
def push(obj: Any, /, args: tuple[str, ...], remote_name: str | None, dry_run: bool, force: bool, message: str | None, repair: bool, no_pack: bool, jobs: int, json_mode: bool, **kw: Any) -> None:
    """Upload what changed: `lobs push [TARGET…]` in a project, or `lobs push DIR URL`."""
    ctx = make_context(obj, json_mode, jobs)
    try:
        if _is_adhoc(obj, args, 1):
            wss = [api.adhoc(ctx, args[0], args[1], _opts(kw))]
        else:
            wss = api.workspaces(ctx, list(args), remote_name)
        results = []
        for ws in wss:
            ws.no_pack = no_pack
            r = api.push(ctx, ws, force=force, dry_run=dry_run, message=message, repair=repair)
            results.append(r)
            if not json_mode:
                _print_push(obj, ws, r)
    finally:
        ctx.progress.close()
    if json_mode:
        emit_json({"command": "push", "dry_run": dry_run, "results": [_push_json(r) for r in results]})


def _push_json(r: api.PushResult) -> dict[str, Any]:
    d = r.plan.to_json()
    d["snapshot"] = r.snapshot
    if r.manifest is not None:
        d["size"] = r.manifest.total_size
        d["stored"] = r.manifest.stored_size
    return d


def _print_push(obj: Any, ws: Workspace, r: api.PushResult) -> None:
    plan = r.plan
    c = plan.diff.counts()
    changed = c["added"] + c["modified"] + c["mode"]
    if r.dry_run:
        for ch in plan.diff.changes:
            say(obj, f"would {'delete' if ch.kind == 'removed' else 'push'} {ch.path} ({ch.kind})")
        sending = f"{len(plan.uploads)} new content(s) ({human(plan.upload_bytes)}) in {plural(plan.objects_to_send, 'object')}"
        say(obj, f"{ws.name}: would push {plural(changed, 'file')}, {sending}, {c['removed']} removed, {c['unchanged']} unchanged")
        return
    if plan.up_to_date:
        say(obj, f"{ws.name}: up to date with {ws.remote_name} ({plural(c['unchanged'], 'file')}), snapshot {r.snapshot}")
        return
    sent = plan.upload_bytes
    first_paths = {u.entry.path for u in plan.uploads}
    stored = sum(e.stored.size for e in (r.manifest.entries if r.manifest else []) if e.stored and e.path in first_paths)
    removed = f", {c['removed']} removed" if c["removed"] else ""
    say(obj, f"{plural(changed, 'file')} pushed ({human(sent)}, {human(stored)} stored){removed}, {c['unchanged']} unchanged")
    say(obj, f"snapshot {r.snapshot}")


@click.command()
@click.argument("args", nargs=-1)
@click.option("--remote", "-r", "remote_name", default=None, help="Remote name (default: the target's or default_remote).")
@click.option("--snapshot", "-s", default=None, help="Pull this snapshot instead of the latest.")
@click.option("--dry-run", "-n", is_flag=True, help="Print the plan; change nothing.")
@click.option("--force", is_flag=True, help="Overwrite or remove locally modified files.")
@click.option("--delete", is_flag=True, help="Also remove untracked local files.")
@click.option("--latest", is_flag=True, help="The remote's latest snapshot, even if lobs.lock pins another.")
@click.option("--allow-outside-links", "outside_links", is_flag=True, help="Create symlinks that point out of the target.")
@click.option("--layout", type=click.Choice(["cas", "mirror"]), default=None, help="Layout of a URL (no project); the one it was pushed with.")
@remote_flags
@jobs_option
@json_option
@click.pass_obj
def pull(obj: Any, /, args: tuple[str, ...], remote_name: str | None, snapshot: str | None, dry_run: bool, force: bool, delete: bool, latest: bool, outside_links: bool, jobs: int, json_mode: bool, **kw: Any) -> None:
    """Download: `lobs pull [TARGET…]` in a project, or `lobs pull URL[@SNAPSHOT] DIR`."""
    ctx = make_context(obj, json_mode, jobs)
    try:
        if _is_adhoc(obj, args, 0):
            url, snap = api.split_snapshot(args[0])
            if snap and snapshot:
                raise UsageError("give the snapshot either as URL@ID or with --snapshot, not both")
            snapshot = snapshot or snap
            wss = [api.adhoc(ctx, args[1], url, _opts(kw))]
        elif len(args) == 1 and looks_like_url(args[0]):
            raise UsageError("pulling a URL needs a destination folder", f"lobs pull {args[0]} DIR")
        else:
            wss = api.workspaces(ctx, list(args), remote_name)
        results = []
        for ws in wss:
            r = api.pull(ctx, ws, snapshot=snapshot, force=force, delete=delete, dry_run=dry_run, latest=latest, outside_links=outside_links)
            results.append(r)
            if not json_mode:
                _print_pull(obj, ws, r)
    finally:
        ctx.progress.close()
    if json_mode:
        emit_json({"command": "pull", "dry_run": dry_run, "results": [r.plan.to_json() for r in results]})


def _print_pull(obj: Any, ws: Workspace, r: api.PullResult) -> None:
    p = r.plan
    if r.dry_run:
        for e in p.writes:
            say(obj, f"would download {e.path}")
        for path in p.deletes:
            say(obj, f"would delete {path}")
        for path, why in p.conflicts:
            say(obj, f"would overwrite {path} ({why})")
    if p.up_to_date:
        say(obj, f"{ws.name}: up to date with snapshot {p.snapshot[:12]}")
        return
    verb = "would be " if r.dry_run else ""
    size = sum(e.size for e in p.writes)
    say(obj, f"{plural(len(p.writes), 'file')} {verb}pulled ({human(size)}, {human(p.download_bytes)} transferred), {len(p.deletes)} removed, from snapshot {p.snapshot[:12]}")


COMMANDS = [push, pull]
