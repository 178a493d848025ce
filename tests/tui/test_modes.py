"""Browsing a URL with no project, the error dialog, and `lobs tui` outside a project."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Tree

from lobs import api
from lobs.cli.main import run
from lobs.lock import target_lock
from lobs.tui.app import LobsApp
from lobs.tui.screens_browse import BrowseScreen
from lobs.tui.screens_dialogs import ErrorScreen
from lobs.tui.screens_transfer import TransferScreen
from tests.tui.conftest import ENV, Project, settle, table_rows, text_of


async def test_url_without_a_project(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello.txt").write_text("hello\n")
    remote = tmp_path / "bucket"
    env = dict(ENV, XDG_CONFIG_HOME=str(tmp_path / "xdg"), XDG_STATE_HOME=str(tmp_path / "state"))
    assert run(["-q", "push", str(src), str(remote)], env=env, cwd=tmp_path) == 0
    dest = tmp_path / "dest"
    # browse only: no folder given, so no push or pull
    app = LobsApp(cwd=tmp_path, env=env, url=str(remote))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        tree = app.screen.query_one("#remotes", Tree)
        assert [str(n.label) for n in tree.root.children] == [str(remote)]
        assert "1 snapshot(s)" in text_of(app.screen.query_one("#history-title"))
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        assert "need a local folder" in text_of(app.screen.query_one("#status"))
    # with a folder: pull into it
    app = LobsApp(cwd=tmp_path, env=env, url=str(remote), directory=str(dest))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert [r[:2] for r in table_rows(app.screen.query_one(DataTable))] == [["download", "hello.txt"]]
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, TransferScreen) and app.screen.outcome.startswith("done: 1 file(s) pulled")
    assert (dest / "hello.txt").read_text() == "hello\n"


async def test_errors_show_the_cli_message_and_hint(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    ctx = api.Context(cwd=project.root, env=project.env)
    ws = api.workspaces(ctx, [])[0]
    project.write({"a.txt": b"changed\n"})
    with target_lock(ws.lock_path, ws.name):  # as if another lobs process were pushing
        assert project.lobs("push") == 8
        cli = capsys.readouterr().err.splitlines()
        app = LobsApp(cwd=project.root, env=project.env)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("p")
            await settle(pilot)
            dialog = app.screen
            assert isinstance(dialog, ErrorScreen)
            assert cli[0] == "lobs: " + text_of(dialog.query_one("#error-message"))
            assert cli[1].strip() == text_of(dialog.query_one("#error-hint"))
            assert "another lobs process" in cli[0]
            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, ErrorScreen)


def test_tui_outside_a_project_fails_like_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = dict(ENV, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    assert run(["tui"], env=env, cwd=tmp_path) == 3
    err = capsys.readouterr().err
    assert err.startswith("lobs: error: ") and "hint:" in err
