"""Messages that worker threads post to the interface."""

from __future__ import annotations

from textual.message import Message


class ProgressChanged(Message):
    """The transfer's counters moved; the screen reads them from the reporter."""


class LoadProgress(Message):
    """A background load (scan, hash, listing) made progress."""

    def __init__(self, phase: str, files: int, total: int) -> None:
        super().__init__()
        self.phase = phase
        self.files = files
        self.total = total
