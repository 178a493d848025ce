"""Thread-pool helpers that keep memory flat at a million items."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
TASK_FILES = 16  # files per task on a pool: no future per file (a million would take 1.5 GB) ...
TASK_BYTES = 4 << 20  # ... and a task closes at this many bytes, so big files spread over the cores
R = TypeVar("R")


def bounded_map(pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Iterable[T], ahead: int) -> Iterator[R]:
    """``pool.map`` with at most ``ahead`` tasks submitted and not yet taken, results in order.

    ``pool.map`` submits every item at once: a future per item, about 1.5 KB each. An
    exception of ``fn`` is raised by the iterator; tasks already submitted still run.
    """
    pending: deque[Future[R]] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def batched(items: Iterable[T], n: int) -> Iterator[list[T]]:
    """Lists of ``n`` consecutive items (the last may be shorter)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


def batched_by_size(items: Iterable[T], size: Callable[[T], int], n: int, max_bytes: int) -> Iterator[list[T]]:
    """Lists of consecutive items, each of at most ``n`` items and closed as soon as its
    sizes reach ``max_bytes`` (so a big item ends its list, and big items spread over tasks)."""
    batch: list[T] = []
    total = 0
    for item in items:
        batch.append(item)
        total += max(size(item), 0)
        if len(batch) >= n or total >= max_bytes:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch
