"""Rendering for the CLI: progress reporters, sizes, JSON. Implements lobs.progress.Progress."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from rich.progress import TaskID


def human(n: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, like the summary lines in the docs)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}".replace(".0 ", " ")
        n /= 1000
    return f"{n:.1f} PB"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class LineProgress:
    """Non-terminal output: one line per finished file (unless quiet), warnings on stderr."""

    def __init__(self, out: IO[str], err: IO[str], *, per_file: bool) -> None:
        self.out, self.err, self.per_file = out, err, per_file
        self._lock = threading.Lock()

    def phase(self, name: str, total_files: int = 0, total_bytes: int = 0) -> None:
        pass

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        pass

    def item(self, action: str, path: str, size: int) -> None:
        if self.per_file and action != "fetch":
            with self._lock:
                print(f"{action} {path}", file=self.out, flush=False)

    def warn(self, message: str) -> None:
        with self._lock:
            print(f"lobs: warning: {message}", file=self.err)

    def close(self) -> None:
        self.out.flush()


class JsonProgress:
    """``--json``: progress events as JSON lines on stderr (the result goes to stdout)."""

    def __init__(self, err: IO[str]) -> None:
        self.err = err
        self._lock = threading.Lock()
        self._last = 0.0
        self._files = 0
        self._bytes = 0
        self._total = 0

    def _emit(self, doc: dict[str, Any]) -> None:
        with self._lock:
            self.err.write(json.dumps(doc, ensure_ascii=False) + "\n")

    def phase(self, name: str, total_files: int = 0, total_bytes: int = 0) -> None:
        self._files = self._bytes = 0
        self._total = total_files
        self._emit({"event": "phase", "phase": name, "files": total_files, "bytes": total_bytes})

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self._files += files
            self._bytes += nbytes
            now = time.monotonic()
            last_file = files > 0 and self._files == self._total  # the phase's work is done: say so now
            if not (last_file or now - self._last >= 0.5):
                return
            self._last = now
            doc = {"event": "progress", "files": self._files, "bytes": self._bytes}
        self._emit(doc)

    def item(self, action: str, path: str, size: int) -> None:
        self._emit({"event": "file", "action": action, "path": path, "size": size})

    def warn(self, message: str) -> None:
        self._emit({"event": "warning", "message": message})

    def close(self) -> None:
        self.err.flush()


class BarProgress:
    """A live bar on a terminal (stderr): bytes, files, speed and ETA per phase."""

    LABELS: ClassVar[dict[str, str]] = {"scan": "scanning", "hash": "hashing", "upload": "uploading", "download": "downloading", "apply": "applying"}

    def __init__(self, err: IO[str]) -> None:
        # rich is imported here, on a terminal only: scripts and pipes do not pay for it
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as RichProgress

        self.console = Console(file=err)
        self.bar = RichProgress(
            TextColumn("{task.description:>11}"),
            BarColumn(),
            DownloadColumn(binary_units=False),
            TextColumn("{task.fields[files]}"),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.task: TaskID | None = None
        self._files = 0
        self._total_files = 0
        self._lock = threading.Lock()
        self.bar.start()

    def phase(self, name: str, total_files: int = 0, total_bytes: int = 0) -> None:
        with self._lock:
            if self.task is not None:
                self.bar.remove_task(self.task)
            self._files, self._total_files = 0, total_files
            self.task = self.bar.add_task(self.LABELS.get(name, name), total=total_bytes or None, files=self._count())

    def _count(self) -> str:
        return f"{self._files}/{self._total_files} files" if self._total_files else ""

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            if self.task is None:
                return
            self._files += files
            self.bar.update(self.task, advance=nbytes, files=self._count())

    def item(self, action: str, path: str, size: int) -> None:
        pass

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]lobs: warning:[/] {message}", markup=True, highlight=False)

    def close(self) -> None:
        self.bar.stop()


def make_progress(*, json_mode: bool, quiet: bool, verbose: int, out: IO[str] | None = None, err: IO[str] | None = None) -> Any:
    out = out or sys.stdout
    err = err or sys.stderr
    if json_mode:
        return JsonProgress(err)
    if not quiet and err.isatty():
        return BarProgress(err)
    return LineProgress(out, err, per_file=not quiet)
