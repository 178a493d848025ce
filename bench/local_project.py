"""A lobs project around a ``data`` folder, with a folder remote."""

from __future__ import annotations

from pathlib import Path

from bench.context import Ctx
from bench.measure import run_quiet
from bench.tools import lobs_argv


def lobs_project(ctx: Ctx, proj: Path, remote: Path, *, hash_algo: str | None = None,
                 extra_remote: tuple[str, Path] | None = None) -> None:
    """``lobs init``, ``remote add origin REMOTE``, ``track data`` (and an xxh128 remote if asked)."""
    lobs = [*lobs_argv(), "-q"]
    add = [*lobs, "remote", "add", "origin", str(remote)] + (["--hash", hash_algo] if hash_algo else [])
    steps = [[*lobs, "init"], add, [*lobs, "track", "data"]]
    if extra_remote:
        steps.append([*lobs, "remote", "add", extra_remote[0], str(extra_remote[1]), "--hash", "xxh128"])
    for argv in steps:
        run_quiet(argv, env=ctx.env, cwd=proj, log=ctx.log)
