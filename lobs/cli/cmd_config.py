"""``lobs init``, ``lobs remote …`` and ``lobs track``: edit lobs.yml, keeping comments.

:mod:`lobs.config_edit` (and ruamel with it) is imported by the commands that edit, not at
start-up: every other command would pay its 6 ms.
"""

from __future__ import annotations

import os
from typing import Any

import click

from lobs.cli.common import emit_json, json_option, say
from lobs.config import find_project, load
from lobs.errors import ConfigError
from lobs.transport.spec import url_scheme


def _root(obj: Any) -> Any:
    root = find_project(obj.cwd)
    if root is None:
        raise ConfigError(f"no lobs.yml in {obj.cwd} or any parent folder", "run `lobs init` first")
    return root


@click.command()
@click.option("--remote", "remote_url", default=None, help="Also add this URL as remote 'origin'.")
@click.pass_obj
def init(obj: Any, remote_url: str | None) -> None:
    """Create lobs.yml here (and .gitignore lines for .lobs/)."""
    from lobs import config_edit
    path = config_edit.init(obj.cwd, remote_url=remote_url)
    say(obj, f"created {path}")


@click.group()
def remote() -> None:
    """Named remotes in lobs.yml."""


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--transport", default=None)
@click.option("--endpoint-url", default=None)
@click.option("--profile", default=None)
@click.option("--region", default=None)
@click.option("--layout", type=click.Choice(["cas", "mirror"]), default=None)
@click.option("--hash", "hash_algo", type=click.Choice(["sha256", "xxh128"]), default=None)
@click.option("--default", "make_default", is_flag=True, help="Make it the default remote.")
@click.pass_obj
def remote_add(obj: Any, /, name: str, url: str, make_default: bool, hash_algo: str | None, **kw: Any) -> None:
    """Add a remote."""
    root = _root(obj)
    if url_scheme(url) == "file" and not url.startswith(("file://", "/", "~")):
        # lobs.yml reads a relative folder relative to itself: rebase what was typed here
        url = os.path.relpath(os.path.abspath(os.path.join(obj.cwd, url)), root)
    settings = {"transport": kw["transport"], "endpoint_url": kw["endpoint_url"], "profile": kw["profile"], "region": kw["region"], "layout": kw["layout"], "hash": hash_algo}
    from lobs import config_edit
    config_edit.remote_add(root, obj.env, name, url, settings, make_default=make_default)
    say(obj, f"added remote {name} -> {url}")


@remote.command("list")
@json_option
@click.pass_obj
def remote_list(obj: Any, json_mode: bool) -> None:
    """List remotes."""
    cfg = load(obj.cwd, obj.env)
    if json_mode:
        emit_json({n: {"url": r.spec.url, "transport": r.spec.transport, "layout": r.layout, "hash": r.hash, "default": n == cfg.default_remote} for n, r in cfg.remotes.items()})
        return
    for n, r in cfg.remotes.items():
        mark = "*" if n == cfg.default_remote else " "
        say(obj, f"{mark} {n}  {r.spec.url}  ({r.spec.transport or 'auto'}, {r.layout})")


@remote.command("remove")
@click.argument("name")
@click.pass_obj
def remote_remove(obj: Any, name: str) -> None:
    """Remove a remote (its data stays where it is)."""
    from lobs import config_edit
    config_edit.remote_remove(_root(obj), obj.env, name)
    say(obj, f"removed remote {name}")


@remote.command("set")
@click.argument("name")
@click.argument("key")
@click.argument("value", required=False)
@click.pass_obj
def remote_set(obj: Any, name: str, key: str, value: str | None) -> None:
    """Set (or, without VALUE, unset) one key of a remote."""
    from lobs import config_edit
    config_edit.remote_set(_root(obj), obj.env, name, key, value)
    say(obj, f"{name}.{key} = {value}" if value is not None else f"unset {name}.{key}")


@click.command()
@click.argument("path")
@click.option("--remote", default=None, help="Remote for this target (default: default_remote).")
@click.option("--as", "remote_path", default=None, help="Path on the remote (default: PATH).")
@click.pass_obj
def track(obj: Any, path: str, remote: str | None, remote_path: str | None) -> None:
    """Add a folder of the project as a target."""
    root = _root(obj)
    rel = os.path.relpath(os.path.abspath(os.path.join(obj.cwd, path)), root)
    from lobs import config_edit
    norm = config_edit.track(root, obj.env, rel, remote=remote, remote_path=remote_path)
    say(obj, f"tracking {norm}")


COMMANDS = [init, remote, track]
