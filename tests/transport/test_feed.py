"""upload_feed: every transport sends transfers as a feed hands them over."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lobs.errors import IntegrityError
from lobs.transport.base import Transfer
from lobs.transport.feed import Feed
from lobs.transport.stream import streams_stdin
from tests.transport.conftest import OpenRemote
from tests.transport.test_conformance import HOSTILE, Recorder, make_files


def test_feed_take_waits_for_flush_or_end() -> None:
    feed = Feed()
    items = make_files_inline(3)
    feed.put(items[0])
    got: list[object] = []
    th = threading.Thread(target=lambda: got.append(feed.take(10, 1 << 30)))
    th.start()
    time.sleep(0.05)
    assert not got  # one ready, neither a flush nor the end yet
    feed.flush()
    th.join(2)
    assert got == [[items[0]]]
    feed.put(items[1])
    feed.put(items[2])
    feed.close()
    assert feed.take(1, 1 << 30) == [items[1]]
    assert feed.take(10, 1 << 30) == [items[2]]
    assert feed.take(10, 1 << 30) is None


def test_feed_error_reaches_the_consumer() -> None:
    feed = Feed()
    feed.fail(IntegrityError("boom"))
    with pytest.raises(IntegrityError):
        feed.get()


def make_files_inline(n: int) -> list[Transfer]:
    return [Transfer(Path(f"/nonexistent/{i}"), f"k{i}", 1) for i in range(n)]


def test_upload_feed_hostile_names_fed_slowly(kind: str, open_remote: OpenRemote, tmp_path: Path) -> None:
    remote = open_remote(kind)
    items = make_files(tmp_path / "src", [f"d/{k}" for k in HOSTILE])
    movable = [replace(t, movable=True) for t in items[::2]]
    fixed = items[1::2]
    feed = Feed()

    def produce() -> None:
        for t in fixed:
            feed.put(t)
        feed.flush()
        for t in movable:
            time.sleep(0.01)
            feed.put(t)
        feed.close()

    th = threading.Thread(target=produce)
    th.start()
    rec = Recorder()
    remote.upload_feed(feed, rec)
    th.join()
    assert sorted(rec.keys) == sorted(t.key for t in items)
    listed = {o.key: o.size for o in remote.list("")}
    assert listed == {t.key: t.size for t in items}
    assert all(t.local.exists() for t in fixed)  # the caller's own files are never touched
    remote.close()


def test_upload_feed_producer_error_stops_the_upload(kind: str, open_remote: OpenRemote, tmp_path: Path) -> None:
    remote = open_remote(kind)
    items = make_files(tmp_path / "src", [f"e/{i}" for i in range(4)])
    feed = Feed()
    feed.put(items[0])
    feed.flush()

    def produce() -> None:
        time.sleep(0.2)
        feed.fail(IntegrityError("a file changed while compressing"))

    th = threading.Thread(target=produce)
    th.start()
    with pytest.raises(IntegrityError, match="changed while compressing"):
        remote.upload_feed(feed, Recorder())
    th.join()
    remote.close()


def test_only_plain_stdin_forms_stream() -> None:
    from lobs.transport.definition import builtin_definitions, user_definitions
    from tests.transport.conftest import fake_tool_transports

    mytool = user_definitions(fake_tool_transports())["mytool"]
    assert streams_stdin(mytool.batch["upload"])  # a line per file on stdin: started at once
    defs = builtin_definitions()
    for name in ("s5cmd", "rclone", "aws"):  # a staging tree or a list file: batches of what is ready
        assert not streams_stdin(defs[name].batch["upload"])


def test_prefetched_listing_is_taken_once(kind: str, open_remote: OpenRemote, tmp_path: Path) -> None:
    remote = open_remote(kind)
    items = make_files(tmp_path / "src", ["objects/ab/1", "objects/cd/2", "other/3"])
    remote.upload(items, Recorder())
    remote.prefetch_list("objects/")
    assert sorted(o.key for o in remote.list("objects/cd/")) == ["objects/cd/2"]  # from the prefetch
    more = make_files(tmp_path / "more", ["objects/ef/4"])
    remote.upload(more, Recorder())
    assert sorted(o.key for o in remote.list("objects/")) == ["objects/ab/1", "objects/cd/2", "objects/ef/4"]  # fresh
    remote.prefetch_list("objects/")
    remote.close()  # a prefetch nobody took is stopped or finished, never left running


def test_prefetched_read_is_taken_once_and_dropped_by_a_write(kind: str, open_remote: OpenRemote) -> None:
    remote = open_remote(kind)
    remote.write("refs/HEAD", b"one\n")
    remote.prefetch_read("refs/HEAD")
    assert remote.read("refs/HEAD") == b"one\n"  # from the prefetch (or read, for the folder)
    remote.prefetch_read("refs/HEAD")
    remote.write("refs/HEAD", b"two\n")  # drops the prefetch: it may hold the old bytes
    assert remote.read("refs/HEAD") == b"two\n"
    remote.prefetch_read("refs/missing")
    assert remote.read("refs/missing") is None
    remote.prefetch_read("refs/HEAD")
    remote.close()  # a prefetch nobody took is stopped or finished, never left running


def test_a_prefetch_that_failed_is_run_again() -> None:
    from lobs.errors import TransportError
    from lobs.transport.prefetch import Prefetcher

    calls: list[int] = []

    def flaky() -> bytes:
        calls.append(1)
        raise TransportError("connection reset", kind="network")

    p = Prefetcher()
    p.start(("read", "k"), flaky)
    p.start(("read", "k"), flaky)  # already under way: not started twice
    assert p.take(("read", "k")) == (False, None)  # the caller runs it again itself
    assert calls == [1] and list(p.started("read")) == []
    p.start(("list", "objects/"), lambda: ["a"])
    assert list(p.started("list")) == ["objects/"]
    assert p.take(("list", "objects/")) == (True, ["a"]) and p.take(("list", "objects/")) == (False, None)


def test_a_prefetch_never_walks_the_table_its_owner_adds_to() -> None:
    """A listing's own work calls list(), which asks what was started: on that thread, nothing
    (the owner may be starting the next prefetch at that moment)."""
    from lobs.transport.prefetch import Prefetcher

    p = Prefetcher()
    p.start(("list", "objects/"), lambda: list(p.started("list")))
    p.start(("read", "refs/HEAD"), lambda: b"x")
    assert p.take(("list", "objects/")) == (True, [])
    assert list(p.started("read")) == ["refs/HEAD"]
