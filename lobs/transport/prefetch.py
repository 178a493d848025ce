"""Tool runs started early on background threads, whose results a later call takes.

A transport starts a listing or a read it will be asked for soon (``start``), so the
tool runs while lobs hashes the tree; the call that wants it ``take``s the result
instead of running the tool again. Each result is taken at most once. The work
itself runs the transport's own method on the background thread, which must not
take a prefetch (``in_work`` tells it so). Thread-safe for one owner thread that
starts, takes and drops; the background threads only run their work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from lobs.errors import TransportError

What = tuple[str, str]  # ("list", prefix) or ("read", key)


class Prefetcher:
    def __init__(self) -> None:
        self._futures: dict[What, Future[Any]] = {}
        self._tls = threading.local()

    @property
    def in_work(self) -> bool:
        """True on a prefetch's own thread (its work must run the tool, not take)."""
        return bool(getattr(self._tls, "work", False))

    def start(self, what: What, fn: Callable[[], Any]) -> None:
        """Run ``fn`` in the background unless ``what`` is already under way. Idempotent."""
        if what in self._futures:
            return

        def work() -> Any:
            self._tls.work = True
            return fn()

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lobs-prefetch")
        self._futures[what] = pool.submit(work)
        pool.shutdown(wait=False)

    def started(self, op: str) -> Iterator[str]:
        """The prefixes or keys of ``op`` started and not yet taken (none on a prefetch's own
        thread: it must not walk the table while the owner adds to it)."""
        if self.in_work:
            return iter(())
        return iter([p for o, p in list(self._futures) if o == op])

    def take(self, what: What) -> tuple[bool, Any]:
        """(True, result) of ``what`` (waits for it; taken once). (False, None) when there is
        none, on a prefetch's own thread, or when it failed with a TransportError (the
        caller runs it again: a real failure repeats with its own message)."""
        if self.in_work or what not in self._futures:
            return False, None
        try:
            return True, self._futures.pop(what).result()
        except TransportError:
            return False, None

    def drop(self, what: What) -> None:
        """Forget ``what`` (its object is about to change), once it has finished."""
        stale = self._futures.pop(what, None)
        if stale is not None:
            stale.exception()

    def close(self, cancel: threading.Event) -> None:
        """Wait for every prefetch; set ``cancel`` first if one nobody took still runs
        (it stops the transport's tools). Nothing is left running afterwards."""
        if any(not f.done() for f in self._futures.values()):
            cancel.set()
        for f in self._futures.values():
            f.exception()
        self._futures.clear()
