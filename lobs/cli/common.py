"""Helpers shared by the command modules."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from lobs.api import Context
from lobs.cli.output import make_progress

F = TypeVar("F", bound=Callable[..., Any])


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.obj.quiet = True


def _set_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        ctx.obj.verbose += value


def json_option(f: F) -> F:
    """--json, plus -q/-v accepted after the command name too (`lobs push -q`)."""
    f = click.option("-v", "--verbose", count=True, expose_value=False, callback=_set_verbose, help="More output.")(f)
    f = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet, help="Only errors and the summary.")(f)
    return click.option("--json", "json_mode", is_flag=True, help="Machine-readable output (see docs/json.md).")(f)


def jobs_option(f: F) -> F:
    return click.option("-j", "--jobs", type=int, default=0, show_default=False, help="Parallel workers (default: per tool).")(f)


def make_context(obj: Any, json_mode: bool, jobs: int = 0) -> Context:
    obj.json = json_mode
    progress = make_progress(json_mode=json_mode, quiet=obj.quiet, verbose=obj.verbose)
    return Context(cwd=obj.cwd, env=obj.env, progress=progress, jobs=jobs)


def emit_json(doc: Any) -> None:
    """One JSON document on stdout (long arrays may be :class:`lobs.lazyjson.LazyList`)."""
    from lobs.lazyjson import write_json

    write_json(doc, sys.stdout.write)
    sys.stdout.write("\n")


def say(obj: Any, text: str) -> None:
    if not obj.json:
        print(text)
    sys.stdout.flush()


def looks_like_url(arg: str) -> bool:
    from lobs.transport.spec import url_scheme

    return "://" in arg or url_scheme(arg) == "rclone"


def remote_flags(f: F) -> F:
    opts = [
        click.option("--transport", default=None, help="aws | rclone | s5cmd | local | a user transport."),
        click.option("--endpoint-url", default=None, help="S3-compatible endpoint (R2, B2, MinIO…)."),
        click.option("--profile", default=None, help="AWS profile to use."),
        click.option("--region", default=None, help="Region of the bucket."),
        click.option("--no-sign-request", is_flag=True, help="Anonymous access (public buckets)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f
