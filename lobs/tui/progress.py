"""The TUI's implementation of :class:`lobs.progress.Progress`.

The engine calls it from worker threads. It keeps counters under a lock and
posts a throttled :class:`ProgressChanged` message to a widget; the widget then
reads :meth:`TuiProgress.snapshot`. Cancelling sets a flag: the next
``advance`` (or the start of the next cancellable phase) raises
:class:`TransferCancelled`, and the engine unwinds as for Ctrl-C (staging
removed, ref and lobs.lock untouched). Once files are being renamed into place
(phase ``apply``) cancelling is ignored so that a pull never stops half-applied.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from textual.message_pump import MessagePump

from lobs.progress import NullProgress
from lobs.tui.messages import LoadProgress, ProgressChanged

CANCELLABLE = ("scan", "hash", "upload", "download")
THROTTLE = 0.05


class TransferCancelled(BaseException):
    """Raised inside the engine's worker when the user cancelled (like KeyboardInterrupt)."""


@dataclass
class Done:
    action: str  # upload, download, fetch, delete, skip, fail
    path: str
    size: int


@dataclass
class State:
    """A consistent copy of the counters, for rendering."""

    phase: str = ""
    total_files: int = 0
    total_bytes: int = 0
    files: int = 0
    nbytes: int = 0
    elapsed: float = 0.0
    recent: list[Done] = field(default_factory=list)
    log: list[Done] = field(default_factory=list)  # new since the last snapshot
    warnings: list[str] = field(default_factory=list)
    cancelling: bool = False

    @property
    def rate(self) -> float:
        """Bytes per second in this phase."""
        return self.nbytes / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left in this phase, or None when unknown."""
        if not self.total_bytes or self.rate <= 0:
            return None
        return max(0.0, (self.total_bytes - self.nbytes) / self.rate)


class TuiProgress:
    """Thread-safe Progress that reports to a Textual widget (``target``)."""

    def __init__(self, target: MessagePump, clock: Callable[[], float] = time.monotonic) -> None:
        self._target = target
        self._clock = clock
        self._lock = threading.Lock()
        self._state = State()
        self._started = self._now()
        self._recent: deque[Done] = deque(maxlen=8)
        self._log: list[Done] = []
        self._warn: list[str] = []
        self._last_post = 0.0
        self._cancel = threading.Event()

    def _now(self) -> float:
        return self._clock()

    # ------------------------------------------------------------ Progress
    def phase(self, name: str, total_files: int = 0, total_bytes: int = 0) -> None:
        with self._lock:
            self._state = State(phase=name, total_files=total_files, total_bytes=total_bytes)
            self._started = self._now()
        self._post(force=True)
        self._check(name)

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self._state.files += files
            self._state.nbytes += nbytes
            phase = self._state.phase
        self._post()
        self._check(phase)

    def item(self, action: str, path: str, size: int) -> None:
        d = Done(action, path, size)
        with self._lock:
            self._recent.append(d)
            self._log.append(d)
        self._post()

    def warn(self, message: str) -> None:
        with self._lock:
            self._warn.append(message)
        self._post(force=True)

    def close(self) -> None:
        self._post(force=True)

    # ------------------------------------------------------------ control
    def cancel(self) -> None:
        """Ask the running operation to stop at the next safe point."""
        self._cancel.set()
        self._post(force=True)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def snapshot(self) -> State:
        """The counters now, and the log lines and warnings not yet taken."""
        with self._lock:
            s = self._state
            out = State(s.phase, s.total_files, s.total_bytes, s.files, s.nbytes, self._now() - self._started)
            out.recent = list(self._recent)
            out.log, self._log = self._log, []
            out.warnings, self._warn = self._warn, []
            out.cancelling = self._cancel.is_set()
        return out

    def _check(self, phase: str) -> None:
        if self._cancel.is_set() and phase in CANCELLABLE:
            raise TransferCancelled()

    def _post(self, force: bool = False) -> None:
        now = self._now()
        if not force and now - self._last_post < THROTTLE:
            return
        self._last_post = now
        self._target.post_message(ProgressChanged())


class LoadReporter(NullProgress):
    """Progress for background loads (status, diff): posts phase and file counts, never cancels."""

    def __init__(self, target: MessagePump) -> None:
        self._target = target
        self._phase = ""
        self._files = 0
        self._total = 0
        self._last = 0.0

    def phase(self, name: str, total_files: int = 0, total_bytes: int = 0) -> None:
        self._phase, self._files, self._total = name, 0, total_files
        self._target.post_message(LoadProgress(name, 0, total_files))

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        self._files += files
        now = time.monotonic()
        if now - self._last >= THROTTLE:
            self._last = now
            self._target.post_message(LoadProgress(self._phase, self._files, self._total))
