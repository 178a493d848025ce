"""A feed of transfers that become ready one by one (uploads of files still being staged).

The producer (the push's compression threads) calls :meth:`Feed.put` for each
transfer as soon as its local file is complete, :meth:`Feed.flush` to ask for a
batch to start now with what is ready, and :meth:`Feed.close` at the end (or
:meth:`Feed.fail` with the exception that stopped it). The consumer (a
transport) either iterates it one transfer at a time (a tool that reads its work
from stdin as it goes) or takes it in batches (tools that need the whole list up
front). Thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator

from lobs.transport.base import Transfer


class Feed:
    def __init__(self) -> None:
        self._items: deque[Transfer] = deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self._closed = False
        self._flush = False
        self._error: BaseException | None = None

    # -- producer ------------------------------------------------------------------------
    def put(self, t: Transfer) -> None:
        with self._cond:
            self._items.append(t)
            self._bytes += max(t.size, 0)
            self._cond.notify_all()

    def flush(self) -> None:
        """Ask the consumer to start a batch with what is ready now."""
        with self._cond:
            self._flush = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def fail(self, error: BaseException) -> None:
        """Stop the feed: the consumer raises ``error`` at its next take."""
        with self._cond:
            self._error = error
            self._closed = True
            self._cond.notify_all()

    # -- consumer ------------------------------------------------------------------------
    def get(self) -> Transfer | None:
        """The next transfer (waits for it); None once the feed is closed and empty.

        Raises the producer's error (see :meth:`fail`).
        """
        with self._cond:
            while not self._items and not self._closed:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            if not self._items:
                return None
            t = self._items.popleft()
            self._bytes -= max(t.size, 0)
            return t

    def __iter__(self) -> Iterator[Transfer]:
        while (t := self.get()) is not None:
            yield t

    def take(self, max_files: int, max_bytes: int) -> list[Transfer] | None:
        """A batch: waits until ``max_files``/``max_bytes`` are ready, a flush, or the end.

        Returns at most ``max_files`` transfers (at least one), None once closed and
        empty. Raises the producer's error.
        """
        with self._cond:
            while not self._closed and not self._flush and len(self._items) < max_files and self._bytes < max_bytes:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            self._flush = False
            batch: list[Transfer] = []
            size = 0
            while self._items and len(batch) < max_files and (not batch or size < max_bytes):
                t = self._items.popleft()
                self._bytes -= max(t.size, 0)
                size += max(t.size, 0)
                batch.append(t)
            if batch:
                return batch
            if self._closed:
                return None
        return self.take(max_files, max_bytes)  # a flush with nothing ready: wait again

    @staticmethod
    def of(items: list[Transfer]) -> Feed:
        """A closed feed holding ``items`` (for tests and callers that have everything)."""
        feed = Feed()
        for t in items:
            feed.put(t)
        feed.close()
        return feed
