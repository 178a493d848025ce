"""Fixtures shared by every test package.

``cli`` runs the real CLI in-process with an isolated environment (HOME and the
XDG folders point into the test's tmp_path) and returns a Result with the exit
code and captured output.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lobs.cli.main import run


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("lobs: error:")]


@pytest.fixture
def lobs_env(tmp_path: Path) -> dict[str, str]:
    """An environment with its own HOME, config and state folders."""
    home = tmp_path / "lobs-home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_STATE_HOME=str(home / ".state"))
    return env


Cli = Callable[..., Result]


@pytest.fixture
def cli(lobs_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    def invoke(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        capsys.readouterr()
        code = run(list(args), env=env or lobs_env, cwd=cwd or tmp_path)
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return invoke
