"""Run a command, timing it and reading the peak RSS of its process tree with os.wait4.

``ru_maxrss`` reported by wait4 for one child is the largest resident set of that
child or of any descendant it reaped, so it is the peak of the biggest single
process of the tree (not the sum), which is what ``/usr/bin/time -v`` reports too.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class CommandFailed(RuntimeError):
    pass


GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def _peak_kb(report: str | None, fallback: int) -> int:
    """``/usr/bin/time -f %M`` writes the peak RSS (KiB) on its last line."""
    if report is None:
        return fallback
    try:
        return int(open(report).read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return fallback
    finally:
        os.unlink(report)


@dataclass
class Sample:
    seconds: float
    peak_rss_kb: int
    server_cpu_s: float | None = None  # CPU the S3 server (moto) used during the run


def run_measured(
    argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
    log: Path | None = None, timeout: float = 3600.0,
) -> Sample:
    """Run ``argv`` (no shell); raise CommandFailed (with the log tail) on a non-zero exit."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    report = None
    if GNU_TIME:
        # A forked child inherits the parent's peak RSS until it execs; /usr/bin/time is tiny,
        # so the peak it reports is the command's own (wait4 directly would include this Python).
        fd, report = tempfile.mkstemp(prefix="bench-rss-")
        os.close(fd)
        argv = [GNU_TIME, "-f", "%M", "-o", report, *argv]
    try:
        if log:
            out.write(("$ " + " ".join(argv) + "\n").encode())  # type: ignore[union-attr]
            out.flush()  # type: ignore[union-attr]
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), env=env, cwd=cwd, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, 9)
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise CommandFailed(f"timed out after {timeout:.0f} s: {' '.join(argv)}")
            time.sleep(0.002)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        if report:
            os.unlink(report)
        tail = log.read_text(errors="replace")[-1500:] if log else ""
        raise CommandFailed(f"rc={proc.returncode}: {' '.join(argv)}\n{tail}")
    return Sample(elapsed, _peak_kb(report, int(ru.ru_maxrss)))


def run_quiet(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              log: Path | None = None, timeout: float = 3600.0) -> None:
    """Setup commands: same checks, result ignored."""
    run_measured(argv, env=env, cwd=cwd, log=log, timeout=timeout)


Step = Callable[[], None]


@dataclass
class Variant:
    """One contender of a case: setup (not timed), then its commands (timed, in sequence)."""

    name: str
    tool: str  # "lobs", "s5cmd", "dvc", ...
    cmds: Callable[[], list[list[str]]]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    setup: Step | None = None
    check: Step | None = None
    probe: Callable[[], float] | None = None  # e.g. moto's CPU seconds, read before and after
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None

    def median_s(self) -> float | None:
        return statistics.median(s.seconds for s in self.samples) if self.samples else None

    def peak_rss_mb(self) -> float | None:
        return max(s.peak_rss_kb for s in self.samples) / 1024 if self.samples else None


def run_variant_once(v: Variant, log: Path) -> None:
    if v.error:
        return
    try:
        if v.setup:
            v.setup()
        os.sync()  # the previous contender's dirty pages go to disk now, not during this one's run
        total, peak = 0.0, 0
        before = v.probe() if v.probe else None
        for argv in v.cmds():
            s = run_measured(argv, env=v.env, cwd=v.cwd, log=log)
            total += s.seconds
            peak = max(peak, s.peak_rss_kb)
        if v.check:
            v.check()
        server = v.probe() - before if v.probe and before is not None else None
        v.samples.append(Sample(total, peak, server))
    except (CommandFailed, OSError, AssertionError) as e:
        lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
        v.error = " | ".join(lines[:1] + lines[-3:])[:600]


def interleave(variants: list[Variant], repeat: int, log: Path) -> None:
    """A B C A B C …: drift of the machine hits every contender alike."""
    for _ in range(repeat):
        for v in variants:
            run_variant_once(v, log)
