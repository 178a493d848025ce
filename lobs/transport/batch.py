"""One batch process: many transfers through one run of a tool's batch form.

Prepares the inputs the template asks for (stdin lines, a list file, a staging
tree of hard links), runs the tool, turns its per-file events into
``events.done``/``events.progress`` as they arrive, and works out which keys
failed. A download that the tool reports as success but that left no file is a
missing object (rclone's silent case), never a success.

With a :class:`~lobs.transport.feed.Feed` (a ``stdin`` form only) the tool starts
at once and each stdin line is written as the feed hands its transfer over.
Uploads marked ``movable`` are moved (not linked) into a staging tree and
deleted by a background thread as soon as the tool reports them sent, so the
deletes overlap the transfer instead of following it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lobs.transport.base import Transfer, TransferEvents
from lobs.transport.definition import Command
from lobs.transport.failure import missing
from lobs.transport.feed import Feed
from lobs.transport.output import LineReader, Record
from lobs.transport.template import render_argv, render_lines

if TYPE_CHECKING:
    from lobs.transport.command import CommandTransport


def link_or_copy(src: Path, dest: Path) -> None:
    """Make ``dest`` a hard link to ``src`` (a copy across file systems)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def _move(src: Path, dest: Path) -> None:
    try:
        os.replace(src, dest)
    except OSError:
        shutil.move(str(src), str(dest))


def stage_upload(t: Transfer, dest: Path) -> None:
    """Put ``t.local`` at ``dest``: moved when the caller allows it, else linked (or copied)."""
    if t.movable:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.replace(t.local, dest)
            return
    link_or_copy(Path(t.local), dest)


class Janitor:
    """Deletes files on a background thread (deleting thousands of files that a tool
    has just read can take a millisecond each). :meth:`close` waits for it."""

    def __init__(self) -> None:
        self._q: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def remove(self, path: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="lobs-janitor", daemon=True)
            self._thread.start()
        self._q.put(path)

    def _work(self) -> None:
        while (path := self._q.get()) is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def close(self) -> None:
        if self._thread is not None:
            self._q.put(None)
            self._thread.join()
            self._thread = None


class BatchRun:
    def __init__(
        self,
        transport: CommandTransport,
        op: str,
        cmd: Command,
        items: Sequence[Transfer],
        events: TransferEvents,
        jobs: int,
        extra: dict[str, Any],
        feed: Feed | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.t = transport
        self.op = op
        self.cmd = cmd
        self.items: list[Transfer] = list(items)
        self.feed = feed  # stdin forms only: more items arrive while the tool runs
        self.janitor = Janitor()
        self.cancel = cancel  # set by another thread: kill the tool and raise
        self.events = events
        self.jobs = jobs
        self.extra = extra
        self.done: set[str] = set()
        self.by_key = {t.key: t for t in items}
        self.by_url = {transport.url(t.key): t for t in items}
        self.by_local: dict[str, Transfer] = {}
        self.stage: Path | None = None
        self._made: set[str] = set()  # staged download folders already created

    def execute(self) -> None:
        """Run the batch. Raises TransportError/ObjectMissing with ``failed`` set."""
        tmp_parent = None
        if self.items and self.cmd.stage and (self.op == "download" or self.items[0].movable):
            tmp_parent = str(Path(os.path.abspath(self.items[0].local)).parent)  # same file system
        try:
            with tempfile.TemporaryDirectory(prefix=".lobs-tmp-batch-", dir=tmp_parent) as tmp:
                if self.cmd.stage:
                    self.stage = Path(tmp) / "stage"
                    self.stage.mkdir()
                self._run(Path(tmp))
        finally:
            self.janitor.close()

    def _local_for_tool(self, t: Transfer) -> str:
        if self.stage is not None:
            return os.path.join(self.stage, t.key)
        return os.path.abspath(t.local)

    def _register(self, t: Transfer) -> str:
        """Record where the tool reads or writes ``t`` (its parent folder made for a staged
        download); returns that path."""
        local = self._local_for_tool(t)
        self.by_local[local] = t
        if self.op == "download" and self.stage is not None:
            parent = os.path.dirname(local)
            if parent not in self._made:
                os.makedirs(parent, exist_ok=True)
                self._made.add(parent)
        return local

    def _context(self, t: Transfer) -> dict[str, Any]:
        local = self._register(t)
        return self.t.context(local=local, key=t.key, url=self.t.url(t.key), jobs=self.jobs)

    def _fed_lines(self) -> Iterator[bytes]:
        """stdin lines, one per transfer as the feed hands it over (registered first, so
        that the tool's event for it is recognised)."""
        assert self.feed is not None
        for t in self.feed:
            self.t.check_name(t.key)
            self.by_key[t.key] = t
            self.by_url[self.t.url(t.key)] = t
            ctx = self._context(t)
            self.items.append(t)
            yield render_lines(self.cmd.stdin, [ctx])

    def _run(self, tmp: Path) -> None:
        if self.op == "upload" and self.stage is not None:
            for t in self.items:
                stage_upload(t, self.stage / t.key)
        if self.cmd.stdin or self.cmd.list_file:
            ctxs = [self._context(t) for t in self.items]
        else:  # the command names no single item (a whole-folder copy): no per-item context
            ctxs = []
            for t in self.items:
                self._register(t)
        extra: dict[str, Any] = {
            "jobs": self.jobs,
            "keys": [t.key for t in self.items],
            "urls": [self.t.url(t.key) for t in self.items],
            "tmp": str(tmp),
            "stage": str(self.stage) if self.stage else "",
        }
        if self.cmd.list_file:
            list_file = tmp / "files.txt"
            list_file.write_bytes(render_lines(self.cmd.list_file, ctxs))
            extra["list_file"] = str(list_file)
        extra.update(self.extra)
        argv = render_argv(self.cmd.argv, self.t.context(**extra))
        stdin: bytes | Iterator[bytes] | None = render_lines(self.cmd.stdin, ctxs) if self.cmd.stdin else None
        if self.feed is not None:
            stdin = self._fed_lines()
        handlers: dict[str, Any] = {}
        spec = self.cmd.output
        if spec is not None:
            reader = LineReader(spec, self._on_record, self.events.progress if spec.progress else None)
            handlers["on_stdout" if spec.stream == "stdout" else "on_stderr"] = reader
        if self.cancel is not None:
            handlers["cancel"] = self.cancel
        result = self.t.run(argv, stdin=stdin, **handlers)
        ok = self.t.ok(result)
        if self.op == "download" and ok:
            for t in self.items:
                if t.key not in self.done:
                    self._finish_download(t)
        not_done = [t.key for t in self.items if t.key not in self.done]
        if ok:
            if self.op == "upload":
                for t in self.items:
                    if t.key not in self.done:
                        self._mark(t)
                return
            if not_done:
                raise missing(self.t.name, self.t.display, not_done)
            return
        what = f"{self.op} {len(self.items)} file(s)"
        raise self.t.fail(result, what, failed=not_done)

    def _on_record(self, rec: Record) -> None:
        t: Transfer | None = None
        if "url" in rec:
            t = self.by_url.get(rec["url"])
        elif "key" in rec:
            t = self.by_key.get(rec["key"])
        elif "path" in rec:  # relative to what was copied: the root, or download_prefix's folder
            t = self.by_key.get(rec["path"]) or self.by_key.get(str(self.extra.get("common", "")) + rec["path"])
        elif "local" in rec:
            t = self.by_local.get(os.path.abspath(rec["local"]))
        if t is None or t.key in self.done:
            return
        if self.op == "download":
            self._finish_download(t)
        else:
            self._mark(t)

    def _finish_download(self, t: Transfer) -> None:
        if self.stage is not None:
            src = self.stage / t.key
            if not src.is_file():
                return
            _move(src, Path(t.local))
        elif not os.path.exists(t.local):
            return
        self._mark(t)

    def _mark(self, t: Transfer) -> None:
        self.done.add(t.key)
        if self.op == "upload" and t.movable:
            self.janitor.remove(self._local_for_tool(t))
        if self.cmd.output is None or not self.cmd.output.progress:
            self.events.progress(max(t.size, 0))
        self.events.done(t)
