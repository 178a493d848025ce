"""The transport interface the engine calls out to.

A transport moves opaque objects between local files and *keys* under one remote
root (``s3://bucket/prefix``, ``remote:path``, a folder). It knows keys and local
paths and nothing of manifests, hashes or layouts: the engine decides what goes
where and verifies what comes back.

Keys are relative POSIX strings (``objects/ab/cdef.zst``, ``corpus/a b/c.json``):
never empty, never starting with ``/``, never containing ``..`` components, NUL
or newlines. A transport must carry any other character intact, or raise
:class:`~lobs.errors.UnsupportedError` before it runs anything.

Contract of every method:

* Errors are :class:`~lobs.errors.TransportError` with a ``kind``; a missing key
  is :class:`~lobs.errors.ObjectMissing`. No other exception escapes for a
  failure of the tool or the remote.
* ``upload``/``download``/``delete`` are idempotent: re-running them after a
  failure or an interruption is safe and finishes the job.
* A batch that fails partway raises with ``failed`` listing the keys known not to
  have completed; ``events.done`` was called for every key that did complete.
* ``download`` writes each file at ``Transfer.local`` (whose parent exists). The
  file may be partial on failure: the caller downloads into staging and
  verifies, so a transport need not be atomic locally.
* ``write`` (small objects: refs, snapshots) replaces the key atomically as far
  as the storage allows (an S3 PUT is atomic; the local transport renames).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lobs.errors import UnsupportedError

if TYPE_CHECKING:
    from lobs.transport.feed import Feed

FEED_FILES = 10000  # a batch taken from a feed: at most this many files
FEED_BYTES = 1 << 30  # or this many bytes


class Carried(Protocol):
    """What progress needs of a file inside a transfer (lobs's Entry is one)."""

    @property
    def path(self) -> str: ...

    @property
    def size(self) -> int: ...


@dataclass(frozen=True)
class Transfer:
    """One object to move: a local file and the key it is stored under."""

    local: Path
    key: str
    size: int  # the expected size in bytes, for progress; -1 if unknown
    movable: bool = False  # upload: a temp file of the caller's; the transport may move or delete it once sent
    item: tuple[str, int] | None = None  # (path, size) that progress reports it as; for lobs, not the tool
    contents: Sequence[Carried] = ()  # a pack: the files it carries (their path and size), for progress


@dataclass(frozen=True)
class RemoteObject:
    key: str  # relative to the transport's root
    size: int


class TransferEvents(Protocol):
    """What a transport reports while it works. Implementations must be thread-safe."""

    def done(self, transfer: Transfer) -> None:
        """``transfer`` completed, as far as the tool says."""

    def progress(self, nbytes: int) -> None:
        """``nbytes`` more bytes moved (live byte progress; optional to call)."""


class NullEvents:
    def done(self, transfer: Transfer) -> None:
        pass

    def progress(self, nbytes: int) -> None:
        pass


@dataclass
class Capabilities:
    """What a transport can do beyond the required surface."""

    batch: bool = True  # moves many files in a few processes
    byte_progress: bool = False  # reports bytes in flight, not only completed files
    server_side_delete_many: bool = True
    slow_start: bool = False  # each process costs a lot to start (aws): batches as few as possible
    read_in_place: bool = False  # objects are files on this machine: :meth:`Transport.open_object` reads them
    notes: list[str] = field(default_factory=list)


class Transport(ABC):
    """A remote root reached through one tool. See the module docstring for the contract."""

    name: str = "?"
    capabilities: Capabilities = Capabilities()

    @property
    @abstractmethod
    def root(self) -> str:
        """The remote root this transport is bound to, as the user wrote it (no secrets)."""

    @abstractmethod
    def upload(self, items: Sequence[Transfer], events: TransferEvents, jobs: int = 0) -> None:
        """Copy each ``local`` file to its ``key``, overwriting. ``jobs`` 0 = the tool's default."""

    def upload_feed(self, feed: Feed, events: TransferEvents, jobs: int = 0) -> None:
        """Upload transfers as the feed hands them over (see :mod:`lobs.transport.feed`).

        Same contract as :meth:`upload`; a transport may start sending before the
        feed is closed, and raises the feed's error if its producer failed. This
        default uploads batches of what is ready, one after the other.
        """
        while (batch := feed.take(FEED_FILES, FEED_BYTES)) is not None:
            self.upload(batch, events, jobs)

    @abstractmethod
    def download(self, items: Sequence[Transfer], events: TransferEvents, jobs: int = 0) -> None:
        """Copy each ``key`` to its ``local`` path. A missing key raises ObjectMissing."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[RemoteObject]:
        """Every object whose key starts with ``prefix`` (a folder prefix ends with ``/``).

        An empty or missing prefix yields nothing; a missing bucket or root raises
        TransportError(kind="not_found").
        """

    def prefetch_list(self, prefix: str) -> None:
        """Hint: :meth:`list` of ``prefix`` follows, before anything under it changes; a
        transport may start it now in the background. Default: nothing."""

    def prefetch_read(self, key: str) -> None:
        """Hint: :meth:`read` of ``key`` follows; a transport may start it now in the
        background (a later :meth:`write` of the key drops it). Default: nothing."""

    def open_object(self, key: str) -> int:
        """A descriptor reading the object under ``key`` where it lies, for a transport with
        ``capabilities.read_in_place``; the caller closes it and verifies what it reads.
        Raises ObjectMissing, TransportError; UnsupportedError without the capability."""
        raise UnsupportedError(f"the {self.name} transport cannot read objects in place")

    @abstractmethod
    def read(self, key: str) -> bytes | None:
        """The whole content of a small object, or None when the key does not exist."""

    @abstractmethod
    def write(self, key: str, data: bytes) -> None:
        """Store a small object, replacing any previous content."""

    @abstractmethod
    def delete(self, keys: Sequence[str]) -> None:
        """Delete keys; a key that does not exist is not an error."""

    def interrupt(self) -> None:
        """Stop tool runs started from other threads (they raise TransportError). After
        this the transport runs nothing more; only :meth:`close` is left to call."""

    def close(self) -> None:
        """Release resources (temp files). Idempotent."""
