"""The progress interface the engine reports to; front ends implement it.

Calls may come from worker threads: implementations must be thread-safe.
``NullProgress`` ignores everything; ``Recorder`` keeps events (tests, TUI).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


class Progress(Protocol):
    def phase(self, name: str, total_files: int = 0, total_bytes: int = 0) -> None:
        """A new phase starts (scan, hash, compress, upload, download, verify, apply)."""

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        """Work done in the current phase."""

    def item(self, action: str, path: str, size: int) -> None:
        """One file finished: action is upload, download, delete, skip, fail."""

    def warn(self, message: str) -> None:
        """Something the user should know that does not stop the operation."""

    def close(self) -> None:
        """The operation ended (successfully or not)."""


class NullProgress:
    def phase(self, name: str, total_files: int = 0, total_bytes: int = 0) -> None:
        pass

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        pass

    def item(self, action: str, path: str, size: int) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Event:
    kind: str
    name: str = ""
    files: int = 0
    nbytes: int = 0


class Recorder(NullProgress):
    """Keeps every event; thread-safe."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def _add(self, ev: Event) -> None:
        with self._lock:
            self.events.append(ev)

    def phase(self, name: str, total_files: int = 0, total_bytes: int = 0) -> None:
        self._add(Event("phase", name, total_files, total_bytes))

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        self._add(Event("advance", "", files, nbytes))

    def item(self, action: str, path: str, size: int) -> None:
        self._add(Event(action, path, 1, size))

    def warn(self, message: str) -> None:
        self._add(Event("warn", message))

    def items(self, action: str) -> list[str]:
        return [e.name for e in self.events if e.kind == action]
