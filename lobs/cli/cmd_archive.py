"""``lobs export`` and ``lobs import``: offline hand-off archives (docs/archive.md)."""

from __future__ import annotations

import sys
from typing import Any

import click

from lobs import api
from lobs.archive import DEFAULT_MAX_SIZE
from lobs.cli.common import emit_json, json_option, remote_flags
from lobs.cli.output import human, make_progress, plural
from lobs.errors import UsageError

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """``64G`` -> bytes (binary units K, M, G, T). Raises UsageError."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1] if t and t[-1] in UNITS else ""
    try:
        n = float(t[: len(t) - len(unit)])
    except ValueError:
        n = -1
    if n < 0:
        raise UsageError(f"invalid size {text!r}", "use a number with an optional K, M, G or T")
    return int(n * UNITS[unit])


def _context(obj: Any, json_mode: bool, jobs: int, data_on_stdout: bool) -> api.Context:
    obj.json = json_mode
    progress = make_progress(
        json_mode=json_mode, quiet=obj.quiet, verbose=obj.verbose, out=sys.stderr if data_on_stdout else None
    )
    return api.Context(cwd=obj.cwd, env=obj.env, progress=progress, jobs=jobs)


def _say(obj: Any, text: str, to_stderr: bool) -> None:
    if not obj.json:
        print(text, file=sys.stderr if to_stderr else sys.stdout)


@click.command()
@click.argument("src")
@click.option("-o", "--output", default=None, help="Archive to write, or - for stdout (default: NAME.tar.zst).")
@click.option("--format", "fmt", type=click.Choice(["tar.zst", "tar"]), default=None, help="Default: from the output name, else tar.zst.")
@click.option("--level", type=int, default=19, show_default=True, help="zstd level, 1-22.")
@click.option("--threads", type=int, default=0, help="Compression threads (default: every core).")
@click.option("--long", "long_", is_flag=True, help="Long-distance matching (128 MiB window) for very large inputs.")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@click.option("--remote", "-r", "remote_name", default=None, help="Remote of a TARGET@SNAPSHOT source.")
@click.option("--layout", type=click.Choice(["cas", "mirror"]), default=None, help="Layout of a URL source.")
@remote_flags
@click.option("-j", "--jobs", type=int, default=0, help="Parallel downloads or hashing workers.")
@json_option
@click.pass_obj
def export(obj: Any, /, src: str, output: str | None, fmt: str | None, level: int, threads: int, long_: bool, force: bool, remote_name: str | None, layout: str | None, jobs: int, json_mode: bool, **kw: Any) -> None:
    """Write SRC (a target, a folder, or URL[@SNAPSHOT]) as a verified tar.zst archive."""
    name = api.split_snapshot(src)[0].rstrip("/").rsplit("/", 1)[-1] or "export"
    fmt = fmt or ("tar" if output and output.endswith(".tar") else "tar.zst")
    dest = output or f"{name}.{fmt}"
    to_stdout = dest == "-"
    if to_stdout and sys.stdout.isatty():
        raise UsageError("refusing to write an archive to a terminal", "redirect it, or give -o FILE")
    ctx = _context(obj, json_mode, jobs, to_stdout)
    ropts = api.RemoteOptions(
        transport=kw.get("transport"), endpoint_url=kw.get("endpoint_url"), profile=kw.get("profile"),
        region=kw.get("region"), no_sign_request=bool(kw.get("no_sign_request")), layout=layout or "cas",
    )
    try:
        from lobs.archive.export import ExportOptions, export_archive  # only this command needs it

        r = export_archive(ctx, src, dest, ExportOptions(fmt, level, threads, long_), remote_name=remote_name, remote_opts=ropts, force=force)
    finally:
        ctx.progress.close()
    m = r.manifest
    doc = {"command": "export", "output": dest, "format": fmt, "manifest": r.manifest_id, "files": len(m.entries), "size": m.total_size, "archive_size": r.bytes_written}
    if json_mode:
        print(__import__("json").dumps(doc), file=sys.stderr if to_stdout else sys.stdout)
        return
    _say(obj, f"exported {plural(len(m.entries), 'file')} ({human(m.total_size)}) to {dest} ({human(r.bytes_written)}), manifest {r.manifest_id}", to_stdout)


@click.command("import")
@click.argument("src")
@click.option("-o", "--output", default=None, help="Folder to create (default: the archive's name without .tar.zst).")
@click.option("--force", is_flag=True, help="Write into a non-empty folder (only the archive's paths are replaced).")
@click.option("--track", is_flag=True, help="Also make the folder a target whose last sync is the archive.")
@click.option("--remote", "-r", "remote_name", default=None, help="Remote of the new target (with --track).")
@click.option("--max-size", default=None, help=f"Cap on the bytes of an archive without a manifest (default {DEFAULT_MAX_SIZE >> 30}G).")
@json_option
@click.pass_obj
def import_(obj: Any, src: str, output: str | None, force: bool, track: bool, remote_name: str | None, max_size: str | None, json_mode: bool) -> None:
    """Extract an archive (a file or - for stdin) into a folder, verifying every file."""
    ctx = _context(obj, json_mode, 0, False)
    cap = parse_size(max_size) if max_size else DEFAULT_MAX_SIZE
    try:
        from lobs.archive.unpack import import_archive  # only this command needs it

        r = import_archive(ctx, src, output, force=force, track=track, remote=remote_name, max_size=cap)
    finally:
        ctx.progress.close()
    if json_mode:
        emit_json({"command": "import", "output": str(r.dest), "files": r.files, "verified": r.verified, "target": r.target})
        return
    how = "verified against its manifest" if r.verified else "NOT verified (no manifest)"
    _say(obj, f"imported {plural(r.files, 'file')} into {r.dest}, {how}", False)
    if r.target:
        _say(obj, f"tracking {r.target}; its last sync is the archive's manifest", False)


COMMANDS = [export, import_]
