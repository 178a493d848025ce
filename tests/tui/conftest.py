"""Fixtures for the TUI tests: a project with a local folder remote and fixed history."""

from __future__ import annotations

import asyncio
import datetime as real_dt
import inspect
import os
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lobs import config_edit
from lobs.cli.main import run

ENV = {"HOME": "/nonexistent-lobs-home", "PATH": os.environ.get("PATH", ""), "NO_COLOR": "1"}

FIRST = {
    "a.txt": b"alpha\n" * 100,
    "b/readme.md": b"# readme\n" + b"lorem ipsum " * 300,
    "b/c/data.csv": b"x,y\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(2000)),
    "blob.bin": bytes(range(256)) * 8,
}


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop (no asyncio plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
    return True


@dataclass
class Project:
    root: Path
    remote: Path
    env: dict[str, str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def write(self, files: dict[str, bytes]) -> None:
        for rel, content in files.items():
            p = self.data / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
            os.chmod(p, 0o644)

    def lobs(self, *args: str) -> int:
        return run(list(args), env=self.env, cwd=self.root)


class _Clock:
    """datetime stand-in for lobs.push: each snapshot is one hour after the previous."""

    def __init__(self) -> None:
        self.t = real_dt.datetime(2026, 11, 21, 9, 0, tzinfo=real_dt.timezone.utc)

    def now(self, tz: object = None) -> real_dt.datetime:
        self.t += real_dt.timedelta(hours=1)
        return self.t


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import lobs.push

    monkeypatch.setattr(lobs.push, "dt", types.SimpleNamespace(datetime=_Clock(), timezone=real_dt.timezone))


def make_project(base: Path) -> Project:
    root = base / "proj"
    remote = base / "remote"
    root.mkdir(parents=True)
    env = dict(ENV, XDG_CONFIG_HOME=str(base / "xdg"), XDG_CACHE_HOME=str(base / "cache"))
    config_edit.init(root, remote_url=str(remote))
    config_edit.track(root, env, "data", remote=None, remote_path=None)
    proj = Project(root, remote, env)
    proj.write(FIRST)
    assert proj.lobs("-q", "push", "-m", "first") == 0
    proj.write({"a.txt": b"alpha two\n" * 120, "new/one.json": b'{"n": 1}\n'})
    (proj.data / "blob.bin").unlink()
    assert proj.lobs("-q", "push", "-m", "second: edit a, add new/, drop blob") == 0
    return proj


@pytest.fixture
def project(tmp_path: Path, fixed_clock: None) -> Iterator[Project]:
    yield make_project(tmp_path)


async def settle(pilot: object, rounds: int = 4) -> None:
    """Wait until every worker finished and the screen caught up."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def table_rows(table: object) -> list[list[str]]:
    """A DataTable's cells as plain strings."""
    from textual.widgets import DataTable

    assert isinstance(table, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def text_of(widget: object) -> str:
    """What a Label/Static shows, as plain text."""
    from textual.widgets import Static

    assert isinstance(widget, Static)
    return str(widget.render())


def push_from_other(project: Project, files: dict[str, bytes], message: str = "third") -> None:
    """Someone else's checkout of the same project pushes ``files``."""
    import shutil

    other = project.root.parent / "other"
    if not other.exists():
        shutil.copytree(project.root, other, ignore=shutil.ignore_patterns(".lobs"))
    for rel, content in files.items():
        (other / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (other / "data" / rel).write_bytes(content)
    assert run(["-q", "push", "-m", message], env=project.env, cwd=other) == 0
