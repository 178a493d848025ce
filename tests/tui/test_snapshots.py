"""SVG snapshots of the main screens (fixed content and clock: ids and times are stable).

Update after a deliberate change with ``pytest tests/tui --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from lobs.tui.app import LobsApp
from tests.tui.conftest import Project, push_from_other, settle

Snap = Callable[..., bool]


@pytest.fixture
def app(project: Project) -> LobsApp:
    project.write({"a.txt": b"edited locally\n", "fresh.txt": b"new\n"})
    (project.data / "b" / "readme.md").unlink()
    return LobsApp(cwd=project.root, env=project.env)


def keys(*press: str) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for k in press:
            await pilot.press(k)
            await settle(pilot)

    return run


def test_history(app: LobsApp, snap_compare: Snap) -> None:
    assert snap_compare(app, run_before=keys(), terminal_size=(80, 24))


def test_snapshot_files(app: LobsApp, snap_compare: Snap) -> None:
    assert snap_compare(app, run_before=keys("enter", "down", "enter"), terminal_size=(80, 24))


def test_working_tree(app: LobsApp, snap_compare: Snap) -> None:
    assert snap_compare(app, run_before=keys("3"), terminal_size=(80, 24))


def test_compare(app: LobsApp, snap_compare: Snap) -> None:
    assert snap_compare(app, run_before=keys("enter", "space", "down", "space", "c"), terminal_size=(100, 24))


def test_push_plan(app: LobsApp, snap_compare: Snap) -> None:
    assert snap_compare(app, run_before=keys("p"), terminal_size=(80, 24))


def test_pull_refused(app: LobsApp, project: Project, snap_compare: Snap) -> None:
    push_from_other(project, {"a.txt": b"their version\n"})
    assert snap_compare(app, run_before=keys("l"), terminal_size=(80, 24))


def test_help_large_terminal(app: LobsApp, snap_compare: Snap) -> None:
    assert snap_compare(app, run_before=keys("question_mark"), terminal_size=(140, 45))

