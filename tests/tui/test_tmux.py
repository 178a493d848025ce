"""``lobs tui`` as a real terminal program in tmux: what a person would see."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from lobs import api
from tests.tui.conftest import Project

TMUX = shutil.which("tmux")


@pytest.fixture
def tmux() -> Iterator[list[str]]:
    if TMUX is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is required in CI (apt-get install tmux)")
        pytest.skip("tmux is not installed")
    base = [TMUX, "-L", f"lobs-tui-test-{os.getpid()}", "-f", "/dev/null"]
    try:
        yield base
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True, check=False)


def _screen(base: list[str]) -> str:
    out = subprocess.run([*base, "capture-pane", "-p", "-t", "lobs"], capture_output=True, text=True, check=False)
    return out.stdout


def _wait_for(base: list[str], *texts: str, timeout: float = 20) -> str:
    """Poll the pane until every one of ``texts`` shows (a frame may arrive in pieces)."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _screen(base)
        if all(t in screen for t in texts):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{texts!r} did not all appear; the screen shows:\n{screen}")


def _wait_gone(base: list[str], text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while text in _screen(base):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} is still on the screen:\n{_screen(base)}")
        time.sleep(0.1)


def _keys(base: list[str], *keys: str) -> None:
    subprocess.run([*base, "send-keys", "-t", "lobs", *keys], check=True)


def test_tui_in_a_real_terminal(project: Project, tmux: list[str]) -> None:
    project.write({"a.txt": b"edited in the terminal test\n"})
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in project.env.items() if k != "NO_COLOR")
    cmd = f"env -i {env} TERM=xterm-256color {shlex.quote(sys.executable)} -m lobs.cli.main tui"
    subprocess.run([*tmux, "new-session", "-d", "-s", "lobs", "-x", "100", "-y", "30", "-c", str(project.root), cmd], check=True)
    screen = _wait_for(tmux, "2 snapshot(s)", "second: edit a", "first")
    assert "origin" in screen and "data" in screen
    assert "p Push" in screen and "l Pull" in screen and "? Help" in screen  # footer keys
    _keys(tmux, "3")
    _wait_for(tmux, "~ modified", "a.txt", "unchanged")
    _keys(tmux, "?")
    _wait_for(tmux, "lobs tui: keys")
    _keys(tmux, "Escape")  # alone: ESC followed at once by a key reads as alt+key
    _wait_gone(tmux, "lobs tui: keys")
    _keys(tmux, "p")
    _wait_for(tmux, "1 file(s) to push", "Run push (y)", "upload  a.txt")
    _keys(tmux, "y")
    screen = _wait_for(tmux, "done: snapshot", "upload", "a.txt")
    ctx = api.Context(cwd=project.root, env=project.env)
    head = api.log(ctx, api.workspaces(ctx, [])[0])[0]
    assert head.snapshot[:12] in screen.replace("\n", "")
    _keys(tmux, "Escape")
    _wait_for(tmux, "4 unchanged")  # back on the working tree, reloaded: all in sync
    _keys(tmux, "1")
    _wait_for(tmux, "3 snapshot(s)")
    _keys(tmux, "q")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = subprocess.run([*tmux, "has-session", "-t", "lobs"], capture_output=True, check=False)
        if alive.returncode != 0:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("lobs tui did not exit on q:\n" + _screen(tmux))
