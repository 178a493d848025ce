"""Fixtures for the safety tests: an isolated environment and an in-process CLI runner."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lobs.cli.main import run
from tests.conftest import Cli, Result
from tests.trees import find_named


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The real environment with HOME and the XDG folders moved into the test's tmp dir."""
    home = tmp_path / "home"
    home.mkdir()
    e = dict(os.environ)
    e.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    return e


@pytest.fixture
def cli(env: dict[str, str], tmp_path: Path) -> Cli:
    """``cli("push", "src", url, cwd=...)`` runs lobs in-process and captures its output."""

    def call(*args: str, cwd: Path | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(list(args), env=env, cwd=cwd or tmp_path)
        return Result(code, out.getvalue(), err.getvalue())

    return call


@pytest.fixture(autouse=True)
def no_pwned(tmp_path: Path) -> Iterator[None]:
    """No test may ever leave a file called ``pwned`` anywhere (a shell ran a name)."""
    elsewhere = [Path.cwd() / "pwned", Path("/tmp/pwned")]
    existed = {p for p in elsewhere if p.exists()}
    yield
    hits = find_named([tmp_path], "pwned") + [p for p in elsewhere if p.exists() and p not in existed]
    assert not hits, f"a shell ran a file name: {hits}"
