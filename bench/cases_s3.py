"""First push and pull to moto: lobs (per transport) against the same tool run by hand.

lobs runs twice: as it is (small files travel in packs) and with ``--no-pack`` (an
object per file, as the tool by hand), so the table shows what packing buys and what
the per-file engine costs next to the raw tool."""

from __future__ import annotations

from pathlib import Path

from bench import data
from bench.context import Ctx
from bench.measure import CommandFailed, Variant, run_quiet
from bench.tools import BUCKET, lobs_argv, rclone_remote, s5cmd_binary, which

TRANSPORTS = ("s5cmd", "rclone", "aws")


def tool_exe(transport: str) -> str | None:
    return s5cmd_binary() if transport == "s5cmd" else which(transport)


def hand_push(transport: str, exe: str, ep: str, src: Path, prefix: str) -> list[str]:
    """transports.md §3 (c), as a person would type it."""
    if transport == "s5cmd":
        return [exe, "--endpoint-url", ep, "cp", f"{src}/", f"s3://{BUCKET}/{prefix}/"]
    if transport == "rclone":
        return [exe, "copy", str(src), f"{rclone_remote(ep)}{BUCKET}/{prefix}"]
    return [exe, "--endpoint-url", ep, "s3", "cp", "--recursive", "--only-show-errors", str(src),
            f"s3://{BUCKET}/{prefix}/"]


def hand_pull(transport: str, exe: str, ep: str, prefix: str, dst: Path) -> list[str]:
    """transports.md §3 (d) without a filter."""
    if transport == "s5cmd":
        return [exe, "--endpoint-url", ep, "cp", f"s3://{BUCKET}/{prefix}/*", f"{dst}/"]
    if transport == "rclone":
        return [exe, "copy", f"{rclone_remote(ep)}{BUCKET}/{prefix}", str(dst)]
    return [exe, "--endpoint-url", ep, "s3", "cp", "--recursive", "--only-show-errors",
            f"s3://{BUCKET}/{prefix}/", str(dst)]


def lobs_s3(ctx: Ctx, verb: str, a: str, b: str, transport: str, *extra: str) -> list[str]:
    assert ctx.moto is not None
    return [*lobs_argv(), "-q", verb, a, b, "--endpoint-url", ctx.moto.url, "--transport", transport, *extra]


def wipe_state(ctx: Ctx) -> None:
    """lobs keeps the sync state of a project-less directory under XDG_STATE_HOME: start cold."""
    ctx.discard(ctx.env["XDG_STATE_HOME"])


def count_is(path: Path, expected: int) -> None:
    n, _ = data.tree_bytes(path)
    assert n == expected, f"{path}: {n} files, expected {expected}"


def run(ctx: Ctx) -> None:
    moto = ctx.moto
    if moto is None:
        ctx.notes.append("S3 cases skipped: moto is not installed")
        return
    s = ctx.sizes
    src = data.mixed(ctx.dir("data") / "mixed", s.n_small, s.n_big, s.big_mb)
    n_files, n_bytes = data.tree_bytes(src)
    desc = f"{n_files} files, {n_bytes / 1e6:.0f} MB ({s.n_small} text 1-20 KiB + {s.n_big} x {s.big_mb} MiB random)"
    ep = moto.url
    for t in TRANSPORTS:
        exe = tool_exe(t)
        if exe is None:
            ctx.notes.append(f"{t}: not installed, its S3 cases skipped")
            continue

        def reset() -> None:
            moto.reset()
            wipe_state(ctx)

        def lobs_push(t: str = t) -> list[list[str]]:
            return [lobs_s3(ctx, "push", str(src), f"s3://{BUCKET}/lobs", t)]

        def by_hand_push(t: str = t, exe: str = exe) -> list[list[str]]:
            return [hand_push(t, exe, ep, src, "raw")]

        def lobs_push_unpacked(t: str = t) -> list[list[str]]:
            return [lobs_s3(ctx, "push", str(src), f"s3://{BUCKET}/lobs-np", t, "--no-pack")]

        push = [
            Variant(f"lobs push --transport {t}", "lobs", lobs_push, env=ctx.env, setup=reset, probe=moto.cpu_seconds),
            Variant(f"{t} by hand (upload)", t, by_hand_push, env=ctx.env, setup=reset, probe=moto.cpu_seconds),
            Variant(f"lobs push --transport {t} --no-pack", "lobs", lobs_push_unpacked, env=ctx.env, setup=reset,
                    probe=moto.cpu_seconds),
        ]
        ctx.run_case(f"s3-push-{t}", f"first push to moto S3 via {t}", push, pairs=[(0, 1), (2, 1)], dataset=desc)

        dl = ctx.dir("s3-pull")
        try:
            reset()
            run_quiet(lobs_s3(ctx, "push", str(src), f"s3://{BUCKET}/lobs", t), env=ctx.env, log=ctx.log)
            wipe_state(ctx)
            run_quiet(lobs_s3(ctx, "push", str(src), f"s3://{BUCKET}/lobs-np", t, "--no-pack"), env=ctx.env, log=ctx.log)
            run_quiet(hand_push(t, exe, ep, src, "raw"), env=ctx.env, log=ctx.log)
        except CommandFailed as e:
            ctx.notes.append(f"s3-pull-{t}: preparing the bucket failed: {str(e).splitlines()[0]}")
            continue
        lobs_dst, hand_dst, np_dst = dl / "lobs", dl / "hand", dl / "lobs-np"

        def fresh(p: Path) -> None:
            ctx.discard(p)
            wipe_state(ctx)

        def lobs_pull(t: str = t, d: Path = lobs_dst) -> list[list[str]]:
            return [lobs_s3(ctx, "pull", f"s3://{BUCKET}/lobs", str(d), t)]

        def by_hand_pull(t: str = t, exe: str = exe, d: Path = hand_dst) -> list[list[str]]:
            return [hand_pull(t, exe, ep, "raw", d)]

        def lobs_pull_unpacked(t: str = t, d: Path = np_dst) -> list[list[str]]:
            return [lobs_s3(ctx, "pull", f"s3://{BUCKET}/lobs-np", str(d), t)]

        def fresh_np(d: Path = np_dst) -> None:
            fresh(d)

        def check_np(d: Path = np_dst) -> None:
            count_is(d, n_files)

        def fresh_lobs(d: Path = lobs_dst) -> None:
            fresh(d)

        def fresh_hand(d: Path = hand_dst) -> None:
            fresh(d)

        def check_lobs(d: Path = lobs_dst) -> None:
            count_is(d, n_files)

        def check_hand(d: Path = hand_dst) -> None:
            count_is(d, n_files)

        pull = [
            Variant(f"lobs pull --transport {t}", "lobs", lobs_pull, env=ctx.env, setup=fresh_lobs, check=check_lobs,
                    probe=moto.cpu_seconds),
            Variant(f"{t} by hand (download)", t, by_hand_pull, env=ctx.env, setup=fresh_hand, check=check_hand,
                    probe=moto.cpu_seconds),
            Variant(f"lobs pull --transport {t} (pushed --no-pack)", "lobs", lobs_pull_unpacked, env=ctx.env,
                    setup=fresh_np, check=check_np, probe=moto.cpu_seconds),
        ]
        ctx.run_case(f"s3-pull-{t}", f"pull from moto S3 via {t}", pull, pairs=[(0, 1), (2, 1)], dataset=desc)
    moto.reset()
