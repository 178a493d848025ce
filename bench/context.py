"""What every case needs: sizes, work dir, environment, the S3 server, the result record."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import Variant, interleave
from bench.tools import Moto


@dataclass(frozen=True)
class Sizes:
    n_small: int = 2000
    n_big: int = 10
    big_mb: int = 20
    status_files: int = 100_000
    hash_mb: int = 1024
    text_files: int = 400
    scale: tuple[int, ...] = (1_000, 10_000, 100_000, 1_000_000)


FULL = Sizes()
TINY = Sizes(n_small=20, n_big=1, big_mb=1, status_files=200, hash_mb=16, text_files=12, scale=(100, 300))


@dataclass
class Ctx:
    workdir: Path
    sizes: Sizes
    repeat: int
    env: dict[str, str]
    log: Path
    moto: Moto | None = None
    dvc: str | None = None
    cases: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def dir(self, *parts: str, clean: bool = False) -> Path:
        p = self.workdir.joinpath(*parts)
        if clean:
            shutil.rmtree(p, ignore_errors=True)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def discard(self, path: Path | str) -> None:
        """Move ``path`` (if present) into the trash, emptied after the case: deleting
        thousands of files just before a timed run makes that run's own file creations
        slow (this VM's ext4 has no journal, and then skips every inode deleted in the
        last seconds one by one: `recently_deleted` was 20-35% of a profile), so a
        contender would pay for the previous one's clean-up."""
        p = Path(path)
        if p.exists() or p.is_symlink():
            trash = self.dir("trash")
            p.rename(trash / f"{len(list(trash.iterdir()))}-{p.name}")

    def empty_trash(self) -> None:
        shutil.rmtree(self.workdir / "trash", ignore_errors=True)

    def say(self, msg: str) -> None:
        print(msg, flush=True)
        with open(self.log, "a") as f:
            f.write(f"# {msg}\n")

    def run_case(
        self, case_id: str, title: str, variants: list[Variant], *,
        pairs: list[tuple[int, int]] | None = None, dataset: str = "", repeat: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Run ``variants`` interleaved and record medians and the ratios lobs/other for ``pairs``."""
        n = repeat or self.repeat
        self.say(f"== {case_id}: {title} ({len(variants)} contenders x {n})")
        interleave(variants, n, self.log)
        self.empty_trash()
        pairs = pairs if pairs is not None else [(0, j) for j in range(1, len(variants))]
        rec: dict[str, Any] = {
            "id": case_id, "title": title, "dataset": dataset, "repeat": n,
            "variants": [variant_record(v) for v in variants],
            "ratios": [],
            **(extra or {}),
        }
        for a, b in pairs:
            ma, mb = variants[a].median_s(), variants[b].median_s()
            rec["ratios"].append({
                "lobs": variants[a].name, "other": variants[b].name,
                "ratio": round(ma / mb, 3) if ma is not None and mb else None,
            })
        for v in variants:
            med = v.median_s()
            self.say(f"   {v.name:<40} " + (f"{med:8.3f} s  {v.peak_rss_mb():7.1f} MB" if med is not None
                                          else f"FAILED: {v.error}"))
        self.cases.append(rec)
        return rec


def variant_record(v: Variant) -> dict[str, Any]:
    med = v.median_s()
    return {
        "name": v.name, "tool": v.tool,
        "median_s": round(med, 4) if med is not None else None,
        "peak_rss_mb": round(v.peak_rss_mb() or 0, 1) if v.samples else None,
        "samples_s": [round(s.seconds, 4) for s in v.samples],
        "server_cpu_s": [round(s.server_cpu_s, 2) for s in v.samples if s.server_cpu_s is not None] or None,
        "error": v.error,
    }
