"""``lobs tui``: the terminal interface (lobs/tui), started from the CLI."""

from __future__ import annotations

from typing import Any

import click

from lobs import api


@click.command()
@click.argument("url", required=False)
@click.argument("directory", required=False)
@click.option("--transport", default=None, help="Transport for URL (no project).")
@click.option("--endpoint-url", default=None, help="S3-compatible endpoint for URL.")
@click.option("--profile", default=None, help="AWS profile for URL.")
@click.option("--layout", type=click.Choice(["cas", "mirror"]), default="cas", help="Layout of URL.")
@click.option("-j", "--jobs", type=int, default=0, help="Parallel workers (default: per tool).")
@click.pass_obj
def tui(obj: Any, url: str | None, directory: str | None, transport: str | None, endpoint_url: str | None, profile: str | None, layout: str, jobs: int) -> None:
    """Browse remotes, snapshots and files; plan and watch push/pull.

    In a project: `lobs tui`. Without one: `lobs tui URL [DIR]` (DIR enables push and pull).
    """
    from lobs.tui.app import LobsApp

    if url is None:
        obj_ctx = api.Context(cwd=obj.cwd, env=obj.env)
        obj_ctx.config()  # no project: the CLI's error, before the screen opens
    opts = api.RemoteOptions(transport=transport, endpoint_url=endpoint_url, profile=profile, layout=layout)
    LobsApp(cwd=obj.cwd, env=obj.env, url=url, directory=directory, options=opts, jobs=jobs).run()


COMMANDS = [tui]
