"""Uploads from a :class:`~lobs.transport.feed.Feed`: start sending before everything is staged.

* A batch form that reads its work from ``stdin`` one line at a time (s5cmd's
  ``run``) gets one process, started at once; each line is written when the
  feed hands its transfer over.
* Other batch forms (a list file, a staging tree: rclone, aws) need the whole
  list up front: batches of what is ready (the feed's flush, or ``chunk``/1 GiB/
  10,000 files) run as separate processes, at most :data:`MAX_RUNNING` at once,
  so a batch of raw files uploads while the compressed ones are still being made.
* Without a batch form: batches one after the other, each a process per file.

Errors: the first failing batch's TransportError (with its ``failed`` keys) is
raised once the running batches have ended; the feed's own error is raised as is.
"""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from lobs.transport.base import FEED_BYTES, FEED_FILES, TransferEvents
from lobs.transport.batch import BatchRun
from lobs.transport.definition import Command
from lobs.transport.feed import Feed

if TYPE_CHECKING:
    from lobs.transport.command import CommandTransport

MAX_RUNNING = 2


def streams_stdin(cmd: Command) -> bool:
    """Can this batch form take its items one stdin line at a time, while it runs?"""
    if not cmd.stdin or cmd.list_file or cmd.stage or cmd.chunk:
        return False
    return not any(word in arg for arg in cmd.argv for word in ("keys", "urls", "list_file", "stage"))


def upload_feed(t: CommandTransport, feed: Feed, events: TransferEvents, jobs: int) -> None:
    """See the module docstring. Raises TransportError (``failed`` set) or the feed's error."""
    cmd = t.tdef.batch.get("upload")
    if cmd is None:
        while (batch := feed.take(FEED_FILES, FEED_BYTES)) is not None:
            t.upload(batch, events, jobs)
        return
    if streams_stdin(cmd):
        BatchRun(t, "upload", cmd, [], events, jobs, t.batch_context("upload", []), feed=feed).execute()
        return
    max_files = min(cmd.chunk or FEED_FILES, FEED_FILES)
    running: list[Future[None]] = []
    cancel = threading.Event()  # set when we stop early: the other batches' tools are killed
    with ThreadPoolExecutor(max_workers=MAX_RUNNING, thread_name_prefix="lobs-batch") as pool:
        try:
            while (batch := feed.take(max_files, FEED_BYTES)) is not None:
                for item in batch:
                    t.check_name(item.key)
                run = BatchRun(t, "upload", cmd, batch, events, jobs, t.batch_context("upload", batch), cancel=cancel)
                running.append(pool.submit(run.execute))
                while len(busy := [f for f in running if not f.done()]) >= MAX_RUNNING:
                    wait(busy, return_when=FIRST_COMPLETED)  # (not `running`: its finished ones return at once)
                for f in running:
                    if f.done():
                        f.result()  # a failed batch stops us starting more
        except BaseException:
            cancel.set()
            raise
        finally:
            wait(running)
    for f in running:
        f.result()
