"""Browse and compare, driven with Pilot against a local folder remote."""

from __future__ import annotations

from textual.widgets import DataTable, TabbedContent

from lobs.tui.app import LobsApp
from lobs.tui.screens_browse import BrowseScreen
from lobs.tui.screens_compare import CompareScreen
from lobs.tui.widgets import FileView
from tests.tui.conftest import Project, push_from_other, settle, table_rows, text_of


async def test_history_files_filter_and_sort(project: Project) -> None:
    app = LobsApp(cwd=project.root, env=project.env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BrowseScreen)
        assert "2 snapshot(s)" in text_of(screen.query_one("#history-title"))
        rows = table_rows(screen.query_one("#history-table", DataTable))
        assert [r[-1] for r in rows] == ["second: edit a, add new/, drop blob", "first"]
        assert [r[3] for r in rows] == ["4", "4"]  # files
        # enter on the tree focuses history, enter there opens the newest snapshot
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "files"
        view = screen.query_one("#snapfiles", FileView)
        paths = [r[0] for r in table_rows(view.query_one(DataTable))]
        assert paths == ["a.txt", "b/c/data.csv", "b/readme.md", "new/one.json"]
        assert "blob.bin" not in paths
        # readme compresses well: ratio shown
        readme = next(r for r in table_rows(view.query_one(DataTable)) if r[0] == "b/readme.md")
        assert readme[1] == "3.6 KB" and readme[3].endswith("x") and float(readme[3][:-1]) > 10
        # sort by size: the csv is the biggest
        await pilot.press("s")
        await settle(pilot)
        assert table_rows(view.query_one(DataTable))[0][0] == "b/c/data.csv"
        # filter by name
        await pilot.press("slash", "r", "e", "a", "d")
        await settle(pilot)
        assert [r[0] for r in table_rows(view.query_one(DataTable))] == ["b/readme.md"]
        assert "1 of 4 files" in text_of(view.query_one(".count"))


async def test_working_tree_states(project: Project) -> None:
    project.write({"a.txt": b"edited locally\n", "fresh.txt": b"new\n"})
    (project.data / "b" / "readme.md").unlink()
    app = LobsApp(cwd=project.root, env=project.env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        view = app.screen.query_one("#workfiles", FileView)
        rows = {r[1]: r[0] for r in table_rows(view.query_one(DataTable))}
        assert rows == {
            "a.txt": "~ modified",
            "fresh.txt": "+ new",
            "b/readme.md": "- deleted",
            "b/c/data.csv": "  unchanged",
            "new/one.json": "  unchanged",
        }
        title = text_of(app.screen.query_one("#working-title"))
        assert "1 modified" in title and "1 new" in title and "1 deleted" in title
        # state filter: t cycles through the states, first "modified"
        view.query_one(DataTable).focus()
        await pilot.press("t")
        await settle(pilot)
        assert [r[1] for r in table_rows(view.query_one(DataTable))] == ["a.txt"]


async def test_changed_remotely(project: Project) -> None:
    # another checkout pushes over our base: files it changed show as "remote"
    push_from_other(project, {"new/one.json": b'{"n": 2}\n'})
    project.write({"a.txt": b"mine\n"})
    app = LobsApp(cwd=project.root, env=project.env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        rows = {r[1]: r[0] for r in table_rows(app.screen.query_one("#workfiles DataTable", DataTable))}
        assert rows["new/one.json"] == "R remote"
        assert rows["a.txt"] == "~ modified"
        assert "remote has moved" in text_of(app.screen.query_one("#working-title"))


async def test_compare_two_snapshots_and_working_tree(project: Project) -> None:
    app = LobsApp(cwd=project.root, env=project.env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # tree -> history table
        await settle(pilot)
        await pilot.press("space", "down", "space", "c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        rows = {r[1]: (r[0], r[4]) for r in table_rows(screen.query_one(DataTable))}
        assert rows == {
            "a.txt": ("~ modified", "+600 B"),
            "blob.bin": ("- removed", "-2.0 KB"),
            "new/one.json": ("+ added", "+9 B"),
        }
        summary = text_of(screen.query_one("#compare-summary"))
        assert "+1 added, -1 removed, ~1 modified" in summary and "2 unchanged" in summary
        await pilot.press("escape")
        await settle(pilot)
        # newest snapshot against the working tree, after a local edit
        project.write({"zz.txt": b"zz\n"})
        assert isinstance(app.screen, BrowseScreen)
        await pilot.press("space", "up", "space", "c")  # unmark both; the cursor ends on the newest
        await settle(pilot)
        wt = {r[1]: r[0] for r in table_rows(app.screen.query_one(DataTable))}
        assert wt == {"zz.txt": "+ added"}
        assert "working tree" in text_of(app.screen.query_one("#compare-title"))
