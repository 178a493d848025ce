"""A transport driven entirely by a :class:`TransportDef`: render templates, run, read output.

User-defined transports are exactly this class; the built-in adapters subclass it
and override only what their tool's output needs. Batch forms run a handful of
processes; without one, each file gets its own process (``jobs`` at a time).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from lobs.errors import ConfigError, ObjectMissing, TransportError, UnsupportedError
from lobs.transport.base import (
    Capabilities,
    NullEvents,
    RemoteObject,
    Transfer,
    TransferEvents,
    Transport,
)
from lobs.transport.batch import BatchRun
from lobs.transport.cmdutil import check_name, common_folder, run_each, sse_context
from lobs.transport.definition import Command, TransportDef
from lobs.transport.env import child_env
from lobs.transport.failure import missing, tool_error
from lobs.transport.feed import Feed
from lobs.transport.output import OutputError, parse_records
from lobs.transport.prefetch import Prefetcher
from lobs.transport.redact import display_argv
from lobs.transport.run import Result, run
from lobs.transport.settings import Settings
from lobs.transport.spec import RemoteSpec, check_key
from lobs.transport.template import render_argv, render_text

PREFIX_SHARE = 0.75  # download a whole folder when the wanted keys are this much of it
PREFIX_MIN_ITEMS = 20

log = logging.getLogger("lobs.transport")


class CommandTransport(Transport):
    """See the module docstring. ``exe`` is the resolved executable (None for user tools on PATH)."""

    def __init__(
        self, tdef: TransportDef, spec: RemoteSpec, exe: str | None, settings: Settings, env: Mapping[str, str] | None = None
    ) -> None:
        self.tdef = tdef
        self.base_env = env  # the caller's environment (None: this process's); see child_env
        self.spec = spec
        self.exe = exe or ""
        self.settings = settings
        self.name = tdef.name
        self.capabilities = Capabilities(
            batch="upload" in tdef.batch and "download" in tdef.batch,
            byte_progress=bool(tdef.capabilities.get("byte_progress", False)),
            slow_start=bool(tdef.capabilities.get("slow_start", False)),
            server_side_delete_many="delete" in tdef.batch,
            notes=list(tdef.notes),
        )
        self._tmpdirs: list[tempfile.TemporaryDirectory[str]] = []
        self._contexts: dict[int, dict[str, Any]] = {}  # jobs -> rendered base context
        self._cancel = threading.Event()  # set by interrupt(): every run stops
        self._prefetch = Prefetcher()  # listings and reads started early (prefetch_list/read)

    # -- naming -------------------------------------------------------------------------
    def check_name(self, key: str) -> str:
        """Raise UnsupportedError for a key this tool cannot carry intact (adapters add rules)."""
        return check_name(key)

    @property
    def root(self) -> str:
        return self.spec.url

    @property
    def root_url(self) -> str:
        return self.spec.url.rstrip("/")

    def url(self, key: str) -> str:
        """The remote URL of ``key``: root + '/' + key."""
        return f"{self.root_url}/{key}"

    def key_of_url(self, url: str) -> str | None:
        base = self.root_url + "/"
        return url[len(base) :] if url.startswith(base) else None

    @property
    def display(self) -> str:
        return self.spec.display

    # -- rendering and running -----------------------------------------------------------
    def context(self, **extra: Any) -> dict[str, Any]:
        """Template variables: the remote's (rendered once per ``jobs`` value) plus ``extra``."""
        jobs = int(extra.get("jobs") or 0)
        base = self._contexts.get(jobs)
        if base is None:
            base = self._contexts[jobs] = self._base_context(jobs)
        ctx = dict(base)
        ctx.update(extra)
        return ctx

    def _base_context(self, jobs: int) -> dict[str, Any]:
        s = self.settings
        ctx: dict[str, Any] = {
            "exe": self.exe,
            "root": self.spec.url,
            "root_url": self.root_url,
            "endpoint": self.spec.endpoint_url or "",
            "profile": self.spec.profile or "",
            "region": self.spec.region or "",
            "no_sign_request": self.spec.no_sign_request,
            "options": dict(self.spec.options),
            "retries": s.retries,
            "attempts": s.attempts,
            "connect_timeout": s.connect_timeout,
            "io_timeout": s.io_timeout,
            "jobs": jobs,
        }
        ctx.update(sse_context(self.spec.options))
        ctx.update(self.extra_context())
        ctx["global"] = render_argv(self.tdef.globals, ctx)
        return ctx

    def extra_context(self) -> dict[str, Any]:
        """Adapter hook: variables computed in Python (e.g. rclone's remote string)."""
        return {}

    def env(self) -> dict[str, str]:
        ctx = self.context()
        extra = {k: render_text(v, ctx) for k, v in self.tdef.env.items()}
        return child_env(self.tdef.name, self.spec, extra, base=self.base_env)

    def run(self, argv: Sequence[str], *, stdin: bytes | Iterable[bytes] | None = None, **kw: Any) -> Result:
        kw.setdefault("cancel", self._cancel)
        result = run(argv, env=self.env(), settings=self.settings, stdin=stdin, **kw)
        log.debug("ran %s (exit %d, %.2f s)", display_argv(argv), result.returncode, result.seconds)
        return result

    def interrupt(self) -> None:
        self._cancel.set()

    def fail(self, result: Result, what: str, failed: Sequence[str] = (), kind: str | None = None) -> TransportError:
        return tool_error(
            transport=self.name, remote=self.display, what=what, result=result, failed=failed, kind=kind
        )

    def command(self, op: str) -> Command:
        cmd = self.tdef.commands.get(op)
        if cmd is None:
            raise UnsupportedError(f"transport {self.name!r} has no {op!r} command", "add it to the transport definition")
        return cmd

    def ok(self, result: Result) -> bool:
        return result.returncode == 0 and not result.timed_out and not result.prompt

    # -- transfers ---------------------------------------------------------------------
    def upload(self, items: Sequence[Transfer], events: TransferEvents, jobs: int = 0) -> None:
        self._transfer("upload", items, events, jobs)

    def upload_feed(self, feed: Feed, events: TransferEvents, jobs: int = 0) -> None:
        """See :meth:`Transport.upload_feed` and :mod:`lobs.transport.stream`."""
        from lobs.transport.stream import upload_feed

        upload_feed(self, feed, events, jobs)

    def download(self, items: Sequence[Transfer], events: TransferEvents, jobs: int = 0) -> None:
        self._transfer("download", items, events, jobs)

    def _transfer(self, op: str, items: Sequence[Transfer], events: TransferEvents, jobs: int) -> None:
        for t in items:
            self.check_name(t.key)
        if not items:
            return
        cmd = self.tdef.batch.get(op)
        if cmd is None:
            self._per_file(op, items, events, jobs)
            return
        if op == "download" and "download_prefix" in self.tdef.batch:
            common = common_folder([t.key for t in items])
            if self._mostly_wanted(common, items):
                prefix_cmd = self.tdef.batch["download_prefix"]
                where = {"common": common, "common_url": self.url(common.rstrip("/")) if common else self.root_url}
                BatchRun(self, op, prefix_cmd, items, events, jobs, where).execute()
                return
        size = cmd.chunk or len(items)
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            BatchRun(self, op, cmd, chunk, events, jobs, self.batch_context(op, chunk)).execute()

    def _mostly_wanted(self, common: str, items: Sequence[Transfer]) -> bool:
        """Are ``items`` at least PREFIX_SHARE of the objects (by count and bytes) under ``common``?

        One listing decides; below PREFIX_MIN_ITEMS it is not worth that listing.
        """
        if len(items) < PREFIX_MIN_ITEMS or any(ch in common for ch in "*?[\\"):
            return False
        count = size = 0
        for obj in self.list(common):
            count += 1
            size += max(obj.size, 0)
        wanted = {t.key for t in items}
        wanted_size = sum(max(t.size, 0) for t in items)
        return count > 0 and len(wanted) >= PREFIX_SHARE * count and wanted_size >= PREFIX_SHARE * size

    def batch_context(self, op: str, items: Sequence[Transfer]) -> dict[str, Any]:
        """Adapter hook: extra template variables for one batch (e.g. aws --include filters)."""
        return {}

    def _per_file(self, op: str, items: Sequence[Transfer], events: TransferEvents, jobs: int) -> None:
        cmd = self.command("put" if op == "upload" else "get")

        def one(t: Transfer) -> None:
            local = os.path.abspath(t.local)
            result = self.run(render_argv(cmd.argv, self.context(local=local, key=t.key, url=self.url(t.key), jobs=jobs)))
            if not self.ok(result):
                raise self.fail(result, f"{op} {t.key!r}", failed=[t.key])
            if op == "download" and not os.path.exists(local):
                raise missing(self.name, self.display, [t.key])
            events.progress(max(t.size, 0))
            events.done(t)

        run_each(items, one, jobs or 4)

    # -- small objects -----------------------------------------------------------------
    def read(self, key: str) -> bytes | None:
        self.check_name(key)
        taken, data = self._prefetch.take(("read", key))
        if taken:
            return data  # type: ignore[no-any-return]
        if "cat" not in self.tdef.commands:
            return self._read_via_get(key)
        result = self.run(render_argv(self.command("cat").argv, self.context(key=key, url=self.url(key))))
        if self.ok(result):
            return self.verify_read(key, result.stdout)
        err = self.fail(result, f"read {key!r}", failed=[key])
        if err.kind == "not_found":
            return None
        raise err

    def verify_read(self, key: str, data: bytes) -> bytes | None:
        """Adapter hook: tools that print nothing for a missing key confirm it here."""
        return data

    def _read_via_get(self, key: str) -> bytes | None:
        with tempfile.TemporaryDirectory(prefix="lobs-read-") as tmp:
            local = Path(tmp) / "object"
            try:
                self._per_file("download", [Transfer(local, key, -1)], NullEvents(), 1)
            except ObjectMissing:
                return None
            except TransportError as e:
                if e.kind == "not_found":
                    return None
                raise
            return local.read_bytes()

    def write(self, key: str, data: bytes) -> None:
        self.check_name(key)
        self._prefetch.drop(("read", key))
        with tempfile.TemporaryDirectory(prefix="lobs-write-") as tmp:
            local = Path(tmp) / "object"
            local.write_bytes(data)
            t = Transfer(local, key, len(data))
            if "put" in self.tdef.commands:
                self._per_file("upload", [t], NullEvents(), 1)
            else:
                self.upload([t], NullEvents(), 1)

    def delete(self, keys: Sequence[str]) -> None:
        keys = [self.check_name(k) for k in keys]
        if not keys:
            return
        cmd = self.tdef.batch.get("delete")
        if cmd is not None:
            size = cmd.chunk or len(keys)
            for start in range(0, len(keys), size):
                self.delete_batch(cmd, keys[start : start + size])
            return
        single = self.command("delete")

        def one(key: str) -> None:
            result = self.run(render_argv(single.argv, self.context(key=key, url=self.url(key))))
            if not self.ok(result):
                err = self.fail(result, f"delete {key!r}", failed=[key])
                if err.kind != "not_found":
                    raise err

        run_each(keys, one, 4)

    def delete_batch(self, cmd: Command, keys: Sequence[str]) -> None:
        ctxs = [self.context(key=k, url=self.url(k)) for k in keys]
        from lobs.transport.template import render_lines

        extra: dict[str, Any] = {"keys": list(keys), "urls": [self.url(k) for k in keys]}
        stdin = render_lines(cmd.stdin, ctxs) if cmd.stdin else None
        with tempfile.TemporaryDirectory(prefix="lobs-del-") as tmp:
            if cmd.list_file:
                path = Path(tmp) / "list"
                path.write_bytes(render_lines(cmd.list_file, ctxs))
                extra["list_file"] = str(path)
            extra.update(self.batch_context("delete", [Transfer(Path(), k, -1) for k in keys]))
            extra["tmp"] = tmp
            result = self.run(render_argv(cmd.argv, self.context(**extra)), stdin=stdin)
        if not self.ok(result):
            err = self.fail(result, f"delete {len(keys)} object(s)", failed=keys)
            if err.kind != "not_found" or result.timed_out:
                raise err

    # -- listing -----------------------------------------------------------------------
    def prefetch_list(self, prefix: str) -> None:
        """Start listing ``prefix`` on a background thread; the next :meth:`list` of it (or
        of a longer prefix) takes that result instead of running the tool again.

        A hint for a caller that will list before it changes anything under ``prefix``;
        :meth:`close` stops a listing nobody took.
        """
        self._prefetch.start(("list", prefix), lambda: list(self.list(prefix)))

    def prefetch_read(self, key: str) -> None:
        """Start reading ``key`` in the background; the next :meth:`read` of it takes that
        result (a :meth:`write` of it first drops it). Same contract as prefetch_list."""
        self.check_name(key)
        self._prefetch.start(("read", key), lambda: self.read(key))

    def list(self, prefix: str = "") -> Iterator[RemoteObject]:
        if prefix:
            check_key(prefix.rstrip("/") or "x")
        for p in [p for p in self._prefetch.started("list") if prefix.startswith(p)]:
            taken, found = self._prefetch.take(("list", p))
            if not taken:
                break  # listed again below
            yield from (o for o in found if o.key.startswith(prefix))
            return
        cmd = self.command("list")
        if cmd.output is None:
            raise ConfigError(f"transport {self.name!r}: the list command needs an `output` description")
        folder = prefix.rpartition("/")[0] + "/" if "/" in prefix else ""
        glob_free = prefix
        for ch in "*?[":
            glob_free = glob_free.split(ch)[0]
        ctx = self.context(prefix=prefix, dir=folder, dir_url=self.url(folder) if folder else self.root_url, glob_free=glob_free)
        result = self.run(render_argv(cmd.argv, ctx), keep_stdout=True)
        if not self.ok(result):
            import re

            if cmd.output.empty_when and not result.timed_out and re.search(cmd.output.empty_when, result.stderr_text):
                return
            raise self.list_failure(result, prefix)
        try:
            records = list(parse_records(cmd.output, result.stdout))
        except OutputError as e:
            raise TransportError(
                f"{self.name} printed a listing lobs cannot read ({e})", kind="tool_failed", stderr=result.stderr_text[-500:]
            ) from None
        for rec in records:
            key = self.record_key(rec, folder)
            if key is None or not key.startswith(prefix):
                continue
            try:
                size = int(rec.get("size", "-1"))
            except ValueError:
                size = -1
            yield RemoteObject(key=key, size=size)

    def list_failure(self, result: Result, prefix: str) -> TransportError:
        return self.fail(result, f"list {prefix or 'the root'}")

    def record_key(self, rec: Mapping[str, str], folder: str) -> str | None:
        """The key a listing or event record names, relative to the root."""
        if "key" in rec:
            return rec["key"]
        if "url" in rec:
            return self.key_of_url(rec["url"])
        if "path" in rec:
            return folder + rec["path"]
        return None

    def close(self) -> None:
        self._prefetch.close(self._cancel)  # a prefetch nobody took is stopped and waited for
        for tmp in self._tmpdirs:
            tmp.cleanup()
        self._tmpdirs.clear()
