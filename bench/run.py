"""``python -m bench``: run the benchmark cases, print the table, write the JSON record."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import cases_local, cases_s3, cases_scale, cases_status, report
from bench.context import FULL, TINY, Ctx
from bench.tools import Moto, clean_env, dvc_exe, tool_versions

CASES = ("s3", "folder", "status", "scale")
ROOT = Path(__file__).resolve().parent.parent


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}")
    p.add_argument("--repeat", type=int, default=3, help="runs per contender, interleaved (default 3)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/lobs-bench"), help="datasets and scratch (reused)")
    p.add_argument("--quick", action="store_true", help="scale stops at 100k files")
    p.add_argument("--tiny", action="store_true", help="~20-file datasets: checks that the suite runs")
    p.add_argument("--max-files", type=int, default=1_000_000, help="cap of the scale case")
    p.add_argument("--transports", default=",".join(cases_s3.TRANSPORTS), help="S3 transports to compare")
    p.add_argument("--no-dvc", action="store_true", help="do not install or run DVC")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "results", help="where the JSON goes")
    p.add_argument("--docs", action="store_true", help="also update bench/latest/ (latest.json, .md, scale.png) for docs/benchmarks.md")
    args = p.parse_args(argv)
    bad = set(args.cases.split(",")) - set(CASES)
    if bad:
        p.error(f"unknown case(s): {', '.join(sorted(bad))}")
    return args


def lobs_commit() -> str:
    """The commit of the lobs checkout measured, with ``+dirty`` when it has local changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lobs", "transports"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+dirty" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    wanted = args.cases.split(",")
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "bench.log"
    env = clean_env(workdir / "home")
    ctx = Ctx(workdir=workdir, sizes=TINY if args.tiny else FULL, repeat=args.repeat, env=env, log=log)
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    t0 = time.monotonic()
    commit_at_start = lobs_commit()
    cases_s3.TRANSPORTS = tuple(t for t in args.transports.split(",") if t)
    if ("folder" in wanted or "status" in wanted) and not args.no_dvc:
        ctx.dvc = dvc_exe(workdir, log)
        if ctx.dvc is None:
            ctx.notes.append("DVC could not be installed (pip install dvc failed): dvc comparisons skipped")
    if "s3" in wanted or "folder" in wanted:
        try:
            ctx.moto = Moto(workdir / "moto.log")
        except (RuntimeError, OSError) as e:
            ctx.notes.append(f"moto did not start ({e}): S3 cases skipped")
    if ctx.moto:
        ctx.notes.append("S3 numbers are against moto on the same machine: moto serves about 150-200 requests/s "
                         "on 2 cores, so S3 times measure requests per file and moto's CPU, not bandwidth")
    try:
        if "s3" in wanted:
            cases_s3.run(ctx)
        if "folder" in wanted:
            cases_local.run(ctx)
        if "status" in wanted:
            cases_status.run(ctx)
        if "scale" in wanted:
            cases_scale.run(ctx, min(args.max_files, 100_000 if args.quick else args.max_files))
    finally:
        if ctx.moto:
            ctx.moto.stop()
    commit_at_end = lobs_commit()  # others may commit while this runs: name both ends then
    commit = commit_at_start if commit_at_end == commit_at_start else f"{commit_at_start}..{commit_at_end}"
    for case in ctx.cases:
        case["lobs_commit"] = commit
    record = {
        "format": "lobs.bench/1", "started": started, "seconds": round(time.monotonic() - t0, 1),
        "args": {k: str(v) for k, v in vars(args).items()}, "sizes": ctx.sizes.__dict__,
        "machine": report.machine(), "tools": tool_versions(env, ctx.dvc),
        "time_tool": shutil.which("time"), "cases": ctx.cases, "notes": ctx.notes,
    }
    json.loads(json.dumps(record))
    out = report.write(record, args.results, ROOT / "bench" / "latest" if args.docs else None)
    print()
    print(report.text_table(record))
    print(report.md_extras(record))
    print(f"\nrecord: {out}  (log: {log})")
    return 0 if all(v["error"] is None for c in ctx.cases for v in c.get("variants", [])) else 1


if __name__ == "__main__":
    sys.exit(main())
