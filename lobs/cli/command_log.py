"""``-vv``: every tool run (redacted argv, exit code, seconds) as a line on stderr."""

from __future__ import annotations

import logging
import sys

_LOGGER = "lobs.transport"  # lobs.transport.command logs each run at DEBUG


class _Stderr(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        print(f"lobs: {record.getMessage()}", file=sys.stderr)  # the stderr of the moment (tests swap it)


def log_commands(on: bool) -> None:
    """Switch the lines on or off (idempotent: one handler however often it is called)."""
    log = logging.getLogger(_LOGGER)
    log.setLevel(logging.DEBUG if on else logging.WARNING)
    if not any(isinstance(h, _Stderr) for h in log.handlers):
        log.addHandler(_Stderr())
        log.propagate = False
