"""Status: warm index on many files (lobs, git, dvc) and cold index on 1 GB (lobs against the hashers)."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import xxhash

from bench import data
from bench.context import Ctx
from bench.local_project import lobs_project
from bench.measure import CommandFailed, Variant, run_quiet
from bench.tools import lobs_argv, which

XXH_PY = "import sys,xxhash\nfor p in sys.argv[1:]:\n h=xxhash.xxh3_128()\n f=open(p,'rb')\n" \
         " for b in iter(lambda:f.read(1<<20),b''): h.update(b)\n print(h.hexdigest(),p)\n"


def warm_status(ctx: Ctx) -> None:
    n = ctx.sizes.status_files
    base = ctx.dir(f"status-{n}")
    proj = base / "proj"
    src = data.tiny_files(ctx.dir("data") / f"tiny-{n}", n)
    git, dvc = which("git"), ctx.dvc
    if not (proj / ".ready").exists():
        shutil.rmtree(proj, ignore_errors=True)
        data.copy_tree(src, proj / "data")
        lobs_project(ctx, proj, base / "remote")
        run_quiet([*lobs_argv(), "-q", "push"], env=ctx.env, cwd=proj, log=ctx.log)
        if git:
            for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
                run_quiet([git, *argv], env=ctx.env, cwd=proj, log=ctx.log)
        (proj / ".ready").write_text("")
    run_quiet([*lobs_argv(), "-q", "status"], env=ctx.env, cwd=proj, log=ctx.log)  # warm the index
    variants = [Variant("lobs status (warm index)", "lobs", lambda: [[*lobs_argv(), "status"]], env=ctx.env, cwd=proj)]
    if git:
        variants.append(Variant("git status (committed tree)", "git", lambda: [[git, "status", "--short"]],
                                env=ctx.env, cwd=proj))
    if dvc:
        repo = base / "dvc"
        try:
            if not (repo / ".ready").exists():
                shutil.rmtree(repo, ignore_errors=True)
                repo.mkdir(parents=True)
                data.copy_tree(src, repo / "data")
                run_quiet([dvc, "init", "--no-scm", "-q"], env=ctx.env, cwd=repo, log=ctx.log)
                run_quiet([dvc, "add", "-q", "data"], env=ctx.env, cwd=repo, log=ctx.log)
                (repo / ".ready").write_text("")
            variants.append(Variant("dvc status", "dvc", lambda: [[dvc, "status"]], env=ctx.env, cwd=repo))
        except CommandFailed as e:
            ctx.notes.append(f"status: dvc setup failed: {str(e).splitlines()[0]}")
    ctx.run_case("status-warm", f"status, nothing changed, {n:,} files", variants, dataset=f"{n} files of 16-256 B")


def raw_hash_speed(algo: str, mb: int = 256, threads: int = 2) -> float:
    """MB/s of ``algo`` over an in-memory buffer on ``threads`` threads (hashlib releases the GIL).

    The buffer is written before it is timed: ``bytes(n)`` is calloc'd, untouched zero
    pages, and hashing it timed mostly page faults (xxh128 read 10-17 GB/s that way,
    40-50 GB/s over real bytes)."""
    buf = os.urandom(mb << 20)

    def one() -> None:
        h = hashlib.sha256() if algo == "sha256" else xxhash.xxh3_128()
        view = memoryview(buf)
        for i in range(0, len(buf), 1 << 20):
            h.update(view[i:i + (1 << 20)])

    ts = [threading.Thread(target=one) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return threads * mb / (time.perf_counter() - t0)


def read_speed(files: list[str], threads: int = 2) -> float:
    """MB/s of reading ``files`` (in the page cache) into a 1 MiB buffer per thread on
    ``threads`` threads, hashing nothing: the most any reader of files can hash at."""
    local = threading.local()
    total = sum(os.path.getsize(f) for f in files)

    def one(path: str) -> None:
        buf = getattr(local, "buf", None)
        if buf is None:
            buf = local.buf = bytearray(1 << 20)
        fd = os.open(path, os.O_RDONLY)
        try:
            while os.readv(fd, [buf]):
                pass
        finally:
            os.close(fd)

    with ThreadPoolExecutor(threads) as pool:
        t0 = time.perf_counter()
        list(pool.map(one, files))
        return total / (1 << 20) / (time.perf_counter() - t0)  # MiB/s, as raw_hash_speed


def cold_status(ctx: Ctx) -> None:
    mb = ctx.sizes.hash_mb
    base = ctx.dir(f"hash-{mb}")
    proj = base / "proj"
    src = data.big_files(ctx.dir("data") / f"big-{mb}", mb)
    if not (proj / ".ready").exists():
        shutil.rmtree(proj, ignore_errors=True)
        data.copy_tree(src, proj / "data")
        lobs_project(ctx, proj, base / "remote-sha", extra_remote=("xxh", base / "remote-xxh"))
        (proj / ".ready").write_text("")
    files = sorted(str(p) for p in (proj / "data").iterdir())
    for f in files:  # into the page cache
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass

    def cold() -> None:
        shutil.rmtree(proj / ".lobs" / "index", ignore_errors=True)

    lobs = lobs_argv()
    variants = [
        Variant("lobs status, cold index, sha256", "lobs", lambda: [[*lobs, "-q", "status", "-r", "origin"]],
                env=ctx.env, cwd=proj, setup=cold),
        Variant("lobs status, cold index, xxh128", "lobs", lambda: [[*lobs, "-q", "status", "-r", "xxh"]],
                env=ctx.env, cwd=proj, setup=cold),
        Variant("sha256sum (1 thread)", "sha256sum", lambda: [["sha256sum", *files]], env=ctx.env),
    ]
    pairs = [(0, 2)]
    xxhsum = which("xxhsum")
    variants.append(Variant("xxhsum -H2 (1 thread)" if xxhsum else "python xxhash (1 thread)", "xxhsum",
                            lambda: [[xxhsum, "-H2", *files] if xxhsum else [sys.executable, "-c", XXH_PY, *files]],
                            env=ctx.env))
    pairs.append((1, 3))
    if xxhsum:  # the native tool on both cores: two processes, half of the files each
        half = len(files) // 2
        both = f'"$0" -H2 "$@" >/dev/null & "$0" -H2 {" ".join(map(shlex.quote, files[half:]))} >/dev/null & wait'
        variants.append(Variant("xxhsum -H2 on both cores (2 processes)", "xxhsum",
                                lambda: [["sh", "-c", both, xxhsum, *files[:half]]], env=ctx.env))
        pairs.append((1, len(variants) - 1))
    # best of 3: the machine's ceiling, not its mood (other processes may share the cores)
    speeds = {a: round(max(raw_hash_speed(a) for _ in range(3)), 1) for a in ("sha256", "xxh128")}
    reading = round(max(read_speed(files) for _ in range(3)), 1)
    # lobs's own hashing speed: the hash phase of `lobs status --json` (start-up excluded), best of 3
    phase = {a: round(max(hash_phase_speed(ctx, proj, remote, cold, mb) for _ in range(3)), 1)
             for a, remote in (("sha256", "origin"), ("xxh128", "xxh"))}
    ctx.run_case("status-cold", f"first status, {mb} MiB in the page cache", variants, pairs=pairs,
                 dataset=f"{len(files)} files, {mb} MiB random",
                 extra={"raw_hash_mb_s_2threads": speeds,
                        "raw_hash_floor_s": {a: round(mb / v, 3) for a, v in speeds.items()},
                        "lobs_hash_phase_mb_s": phase,
                        "lobs_hash_phase_of_raw": {a: round(phase[a] / speeds[a], 3) for a in phase},
                        "read_mb_s_2threads": reading,
                        "lobs_hash_phase_of_ceiling": {a: round(phase[a] / min(speeds[a], reading), 3) for a in phase}})
    ctx.say(f"   raw hashing, 2 threads in memory: {speeds} MB/s; reading the files, 2 threads: {reading} MB/s; "
            f"lobs's hash phase: {phase} MB/s")


def hash_phase_speed(ctx: Ctx, proj: Path, remote: str, cold: Callable[[], None], mb: int) -> float:
    """MB/s of the hash phase of one cold `lobs status --json`, timed from its progress events:
    the "hash" phase event to the progress event of its last file (or the next event that is
    not progress, or the end)."""
    cold()
    proc = subprocess.Popen([*lobs_argv(), "status", "--json", "-r", remote], cwd=proj, env=ctx.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    start = end = None
    files = None
    for line in proc.stderr:
        now = time.perf_counter()
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if doc.get("event") == "phase" and doc.get("phase") == "hash":
            start, files = now, doc.get("files")
        elif start is not None and end is None and (doc.get("event") != "progress" or doc.get("files") == files):
            end = now
    if proc.wait() != 0 or start is None:
        raise CommandFailed(f"lobs status --json -r {remote} failed or had no hash phase")
    return mb / ((end or time.perf_counter()) - start)


def run(ctx: Ctx) -> None:
    warm_status(ctx)
    cold_status(ctx)
