"""Downloads of most of a folder use the tool's plain recursive copy (fewer requests per
file); a few keys of a big folder use the selective batch form. Both give the same bytes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lobs.transport import Transfer
from lobs.transport.base import NullEvents
from lobs.transport.command import PREFIX_MIN_ITEMS, CommandTransport
from tests.transport.conftest import S3_TOOLS, OpenRemote


def _uploaded(remote: CommandTransport, tmp_path: Path, n: int, size: int, key: Callable[[int], str]) -> list[Transfer]:
    """``n`` random files of ``size`` + i bytes, uploaded under ``key(i)``."""
    src = tmp_path / "src"
    src.mkdir()
    items = []
    for i in range(n):
        p = src / f"f{i}"
        p.write_bytes(os.urandom(size + i))
        items.append(Transfer(p, key(i), size + i))
    remote.upload(items, NullEvents())
    return items


@pytest.mark.parametrize("tool", S3_TOOLS)
def test_prefix_or_selective_download(tool: str, open_remote: OpenRemote, tmp_path: Path) -> None:
    remote = open_remote(tool)
    assert isinstance(remote, CommandTransport)
    items = _uploaded(remote, tmp_path, 40, 500, lambda i: f"objects/{i % 4:02}/k {i}")
    ran: list[list[str]] = []
    real_run = remote.run

    def spy(argv: Any, **kw: Any) -> Any:
        ran.append(list(argv))
        return real_run(argv, **kw)

    remote.run = spy  # type: ignore[method-assign]
    for wanted, expect_prefix in ((items[:36], True), (items[:PREFIX_MIN_ITEMS], False)):
        ran.clear()
        dst = tmp_path / f"dst{len(wanted)}"
        dst.mkdir()
        back = [Transfer(dst / f"o{i}", t.key, t.size) for i, t in enumerate(wanted)]
        remote.download(back, NullEvents())
        assert [b.local.read_bytes() for b in back] == [t.local.read_bytes() for t in wanted]
        assert sorted(os.listdir(dst)) == sorted(f"o{i}" for i in range(len(wanted)))  # nothing unwanted
        transfer_cmds = [a for a in ran if "ls" not in a and "lsjson" not in a and "list-objects-v2" not in a]
        whole_folder = any(any(arg.rstrip("/*").endswith("/objects") for arg in a) and "run" not in a and not any("files-from" in x or "--include" in x for x in a) for a in transfer_cmds)
        assert whole_folder == expect_prefix, ran


@pytest.mark.parametrize("tool", S3_TOOLS)
def test_prefix_download_reports_each_file_as_it_arrives(tool: str, open_remote: OpenRemote, tmp_path: Path) -> None:
    """The tool's per-file events are recognised (rclone names them relative to the folder it
    copies), so a pull can verify each file while the rest downloads, not after."""
    remote = open_remote(tool)
    assert isinstance(remote, CommandTransport)
    items = _uploaded(remote, tmp_path, 30, 300, lambda i: f"objects/{i % 3:02}/k{i}")
    done: list[str] = []

    class Events:
        def done(self, t: Transfer) -> None:
            done.append(t.key)

        def progress(self, n: int) -> None:
            pass

    during: list[int] = []
    real_run = remote.run

    def spy(argv: Any, **kw: Any) -> Any:
        result = real_run(argv, **kw)
        during.append(len(done))  # events seen while the tool ran
        return result

    remote.run = spy  # type: ignore[method-assign]
    dst = tmp_path / "dst"
    dst.mkdir()
    remote.download([Transfer(dst / f"o{i}", t.key, t.size) for i, t in enumerate(items)], Events())
    assert sorted(done) == sorted(t.key for t in items)
    assert during[-1] == len(items), f"only {during[-1]} of {len(items)} reported while {tool} ran"
