"""Benchmark ``lobs export --format tar.zst`` against ``tar -I 'zstd -19 -T0' -cf`` (not a test).

Generates mixed data deterministically (text, JSON lines, CSV, and random
incompressible blobs) in a temp folder, then times both tools on it, interleaved
(lobs, tar, lobs, tar, ...) so that drift in the machine's load hits both. Prints
a table and writes JSON to bench/results/.

    .venv/bin/python bench/archive_bench.py --size-mb 200 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "lorem", "ipsum", "dolor", "sit", "amet", "data", "model", "layer", "token", "vector"]


def generate(root: Path, total: int, seed: int = 7) -> int:
    """Write about ``total`` bytes: 35% text, 25% JSON lines, 25% CSV, 15% random. Returns bytes written."""
    rng = random.Random(seed)
    written = 0
    i = 0
    shares = [("txt", 0.35), ("jsonl", 0.25), ("csv", 0.25), ("bin", 0.15)]
    for kind, share in shares:
        budget = int(total * share)
        while budget > 0:
            size = min(budget, rng.choice([4_000, 60_000, 700_000, 6_000_000, 24_000_000]))
            path = root / kind / f"g{i % 17}" / f"file {i:05d}.{kind}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_content(kind, size, rng))
            budget -= size
            written += size
            i += 1
    return written


def _content(kind: str, size: int, rng: random.Random) -> bytes:
    if kind == "bin":
        return rng.randbytes(size)
    out = bytearray()
    n = 0
    while len(out) < size:
        n += 1
        if kind == "txt":
            out += (" ".join(rng.choice(WORDS) for _ in range(12)) + f" {rng.random():.6f}\n").encode()
        elif kind == "jsonl":
            out += json.dumps({"id": n, "name": rng.choice(WORDS), "score": round(rng.random(), 5), "tags": rng.sample(WORDS, 3)}).encode() + b"\n"
        else:
            out += f"{n},{rng.choice(WORDS)},{rng.randint(0, 10**6)},{rng.random():.8f}\n".encode()
    return bytes(out[:size])


def run_lobs(src: Path, out: Path, level: int) -> float:
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "lobs.cli.main", "-q", "export", str(src), "-o", str(out), "--level", str(level), "--force"],
        check=True,
    )
    return time.perf_counter() - t


def run_tar(src: Path, out: Path, level: int) -> float:
    t = time.perf_counter()
    subprocess.run(["tar", "-I", f"zstd -{level} -T0", "-cf", str(out), "-C", str(src), "."], check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mb", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--level", type=int, default=19)
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lobs-archive-bench-"))
    try:
        src = work / "data"
        src.mkdir()
        t = time.perf_counter()
        size = generate(src, args.size_mb * 1_000_000)
        print(f"generated {size / 1e6:.0f} MB in {time.perf_counter() - t:.1f}s under {src}", flush=True)
        lobs_t: list[float] = []
        tar_t: list[float] = []
        for r in range(args.rounds):
            lobs_t.append(run_lobs(src, work / "lobs.tar.zst", args.level))
            tar_t.append(run_tar(src, work / "tar.tar.zst", args.level))
            print(f"round {r + 1}: lobs {lobs_t[-1]:.1f}s  tar+zstd {tar_t[-1]:.1f}s", flush=True)
        lobs_size = (work / "lobs.tar.zst").stat().st_size
        tar_size = (work / "tar.tar.zst").stat().st_size
        res = {
            "size_bytes": size,
            "level": args.level,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "lobs_seconds": lobs_t,
            "tar_seconds": tar_t,
            "lobs_bytes": lobs_size,
            "tar_bytes": tar_size,
            "time_ratio": statistics.median(lobs_t) / statistics.median(tar_t),
            "size_ratio": lobs_size / tar_size,
        }
        print()
        print(f"{'':14}{'time (median)':>15}{'archive':>16}")
        print(f"{'lobs export':14}{statistics.median(lobs_t):>14.1f}s{lobs_size / 1e6:>13.1f} MB")
        print(f"{'tar + zstd':14}{statistics.median(tar_t):>14.1f}s{tar_size / 1e6:>13.1f} MB")
        print(f"{'ratio':14}{res['time_ratio']:>15.3f}{res['size_ratio']:>16.4f}")
        out_dir = HERE / "results"
        out_dir.mkdir(exist_ok=True)
        out = out_dir / f"archive-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out.write_text(json.dumps(res, indent=2) + "\n")
        print(f"\nwrote {out}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
