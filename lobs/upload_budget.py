"""Push's bookkeeping while uploading from a feed: a bound on staged bytes not yet sent,
and transfer events that release it."""

from __future__ import annotations

import threading

from lobs.remote import TransferReporter
from lobs.transport.base import Transfer
from lobs.transport.feed import Feed


class Budget:
    """Bytes of staged (compressed) files not yet sent: the producer waits above ``limit``
    so that staging never holds much more than CHUNK_BYTES on disk."""

    def __init__(self, limit: int, feed: Feed) -> None:
        self.limit, self.used, self.feed = limit, 0, feed
        self.held: dict[str, int] = {}
        self.cond = threading.Condition()
        self.stopped = False

    def acquire(self, key: str, n: int) -> bool:
        """Reserve ``n`` bytes for ``key``; False once the push is stopping."""
        with self.cond:
            if self.used and self.used + n > self.limit:
                self.feed.flush()  # let the transport start on what is ready, which frees the budget
            while self.used and self.used + n > self.limit and not self.stopped:
                self.cond.wait()
            self.used += n
            self.held[key] = n
            return not self.stopped

    def release(self, key: str) -> None:
        with self.cond:
            self.used -= self.held.pop(key, 0)
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()


class Sent:
    """Transfer events: report progress, and free the staging budget of what was sent."""

    def __init__(self, reporter: TransferReporter, budget: Budget) -> None:
        self.reporter, self.budget = reporter, budget
        self.quiet: set[str] = set()  # keys sent along that are not files of the tree (the snapshot)

    def done(self, transfer: Transfer) -> None:
        self.budget.release(transfer.key)
        if transfer.key not in self.quiet:
            self.reporter.done(transfer)

    def progress(self, nbytes: int) -> None:
        self.reporter.progress(nbytes)
