"""User-facing errors: a one-line message, a hint, and a stable exit code.

Every error a user can cause (bad config, refused overwrite, unreachable remote,
corrupt manifest) is a :class:`LobsError`. Front ends print ``message`` and
``hint`` and exit with ``exit_code``; anything else is a bug and gets a traceback.
The exit codes are documented in ``docs/exit-codes.md`` and never change meaning.
"""

from __future__ import annotations

import errno
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    BUG = 1  # an unexpected exception: a traceback was printed
    USAGE = 2  # bad command line
    CONFIG = 3  # lobs.yml or user config invalid, or no project found
    CONFLICT = 4  # refused to overwrite local edits or a moved remote ref; --force overrides
    NOT_FOUND = 5  # target, remote, snapshot or object does not exist
    INTEGRITY = 6  # hash mismatch, corrupt or malicious manifest/archive
    TRANSPORT = 7  # the transfer tool failed: network, permission, missing tool, bad output
    LOCKED = 8  # another lobs process is working on the same target
    UNSUPPORTED = 9  # a file name or feature that cannot be represented safely
    LOCAL_IO = 10  # a local file could not be read or written: disk full, permission, read-only
    INTERRUPTED = 130  # Ctrl-C / SIGTERM: every file is old or new, re-run to finish


class LobsError(Exception):
    """An error the user can act on. ``str(err)`` is the one-line message."""

    exit_code: ExitCode = ExitCode.BUG

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(LobsError):
    exit_code = ExitCode.USAGE


class ConfigError(LobsError):
    exit_code = ExitCode.CONFIG


class ConflictError(LobsError):
    """Refused: the operation would lose someone's data. Carries the paths involved."""

    exit_code = ExitCode.CONFLICT

    def __init__(self, message: str, hint: str | None = None, paths: list[str] | None = None):
        super().__init__(message, hint)
        self.paths = paths or []


class NotFoundError(LobsError):
    exit_code = ExitCode.NOT_FOUND


class IntegrityError(LobsError):
    exit_code = ExitCode.INTEGRITY


class UnsupportedError(LobsError):
    exit_code = ExitCode.UNSUPPORTED


class LockedError(LobsError):
    exit_code = ExitCode.LOCKED


class TransportError(LobsError):
    """A transfer tool failed.

    ``kind`` is one of ``not_found``, ``permission``, ``network``, ``tool_missing``,
    ``tool_failed``, ``prompt`` (the tool asked a question with no terminal), ``timeout``.
    ``failed`` lists the keys of a batch that did not arrive (empty when unknown).
    """

    exit_code = ExitCode.TRANSPORT
    KINDS = ("not_found", "permission", "network", "tool_missing", "tool_failed", "prompt", "timeout")

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        kind: str = "tool_failed",
        failed: list[str] | None = None,
        stderr: str = "",
    ) -> None:
        super().__init__(message, hint)
        assert kind in self.KINDS, kind
        self.kind = kind
        self.failed = failed or []
        self.stderr = stderr


class ObjectMissing(TransportError):
    """A key that was asked for does not exist on the remote."""

    exit_code = ExitCode.NOT_FOUND

    def __init__(self, message: str, hint: str | None = None, *, failed: list[str] | None = None):
        super().__init__(message, hint, kind="not_found", failed=failed)


class LocalIOError(LobsError):
    """The machine refused a local read or write (disk full, permission, read-only file system)."""

    exit_code = ExitCode.LOCAL_IO


_IO_HINTS = {
    errno.ENOSPC: "free some space and run it again; every file is old or new, never half-written",
    errno.EDQUOT: "your disk quota is full: free some space and run it again",
    errno.EACCES: "check the permissions of that file or folder",
    errno.EPERM: "check the permissions of that file or folder",
    errno.EROFS: "that file system is mounted read-only",
    errno.EIO: "the disk reported an I/O error: check it before you run this again",
    errno.EMFILE: "too many open files: raise `ulimit -n` or use fewer --jobs",
    errno.ENFILE: "too many open files on the system: use fewer --jobs",
    errno.ENAMETOOLONG: "a path is too long for this file system",
}


def from_os_error(e: OSError) -> LobsError | None:
    """A LocalIOError for an environmental OSError (disk full, permission…), else None (a bug)."""
    hint = _IO_HINTS.get(e.errno or 0)
    if hint is None:
        return None
    where = f": {e.filename}" if e.filename else ""
    return LocalIOError(f"{e.strerror or e}{where}", hint)
