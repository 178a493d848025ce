"""Scale: push, pull and status time and peak memory at 1k … 1M files (the growth curve is the result)."""

from __future__ import annotations

import shutil
from typing import Any

from bench import data
from bench.context import Ctx
from bench.local_project import lobs_project
from bench.measure import Variant, interleave
from bench.tools import lobs_argv


def run(ctx: Ctx, max_files: int) -> None:
    lobs = [*lobs_argv(), "-q"]
    points: list[dict[str, Any]] = []
    for n in [n for n in ctx.sizes.scale if n <= max_files]:
        base = ctx.dir("scale", str(n))
        proj = base / "proj"
        ctx.say(f"== scale: {n:,} files (generating)")
        data.tiny_files(proj / "data", n)
        remote = base / "remote"

        def fresh(proj=proj, remote=remote) -> None:  # type: ignore[no-untyped-def]
            for p in (proj / ".lobs", remote):
                shutil.rmtree(p, ignore_errors=True)
            for name in ("lobs.yml", "lobs.lock", ".gitignore"):
                (proj / name).unlink(missing_ok=True)
            lobs_project(ctx, proj, remote)

        def cold(proj=proj) -> None:  # type: ignore[no-untyped-def]
            shutil.rmtree(proj / ".lobs" / "index", ignore_errors=True)

        push = Variant("lobs push (first, folder remote)", "lobs", lambda: [[*lobs, "push"]], env=ctx.env, cwd=proj,
                       setup=fresh)
        clone = base / "clone"

        def fresh_clone(proj=proj, clone=clone) -> None:  # type: ignore[no-untyped-def]
            ctx.discard(clone)  # a second checkout of the project: lobs.yml and lobs.lock, no data
            clone.mkdir()
            for name in ("lobs.yml", "lobs.lock"):
                shutil.copyfile(proj / name, clone / name)

        pull = Variant("lobs pull (fresh clone, folder remote)", "lobs", lambda: [[*lobs, "pull"]], env=ctx.env,
                       cwd=clone, setup=fresh_clone)
        cold_st = Variant("lobs status (cold index)", "lobs", lambda: [[*lobs, "status"]], env=ctx.env, cwd=proj,
                          setup=cold)
        warm_st = Variant("lobs status (warm index)", "lobs", lambda: [[*lobs, "status"]], env=ctx.env, cwd=proj)
        runs = 1 if n >= 100_000 else ctx.repeat
        interleave([push], runs, ctx.log)
        interleave([pull], runs, ctx.log)
        interleave([cold_st], runs, ctx.log)
        interleave([warm_st], runs, ctx.log)
        point: dict[str, Any] = {"files": n}
        for key, v in (("push", push), ("pull", pull), ("status_cold", cold_st), ("status_warm", warm_st)):
            med = v.median_s()
            point[f"{key}_s"] = round(med, 3) if med is not None else None
            point[f"{key}_rss_mb"] = round(v.peak_rss_mb() or 0, 1) if v.samples else None
            if v.error:
                point[f"{key}_error"] = v.error
        ctx.say(f"   {point}")
        points.append(point)
        if any(k.endswith("_error") for k in point):
            break
    ctx.cases.append({"id": "scale", "title": "push, pull and status vs number of files (folder remote)",
                      "dataset": "files of 16-256 B, 1,000 per folder", "points": points, "variants": [],
                      "ratios": []})
