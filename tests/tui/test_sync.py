"""Plan, confirm and watch push and pull; refused overwrites; safe cancel."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, RichLog

from lobs import api, config_edit
from lobs.transport.local import LocalTransport
from lobs.tui.app import LobsApp
from lobs.tui.screens_browse import BrowseScreen
from lobs.tui.screens_dialogs import ErrorScreen
from lobs.tui.screens_plan import PlanScreen
from lobs.tui.screens_transfer import TransferScreen
from tests.tui.conftest import Project, push_from_other, settle, table_rows, text_of


def _history(project: Project) -> list[api.LogEntry]:
    ctx = api.Context(cwd=project.root, env=project.env)
    return api.log(ctx, api.workspaces(ctx, [])[0])


async def test_plan_confirm_push(project: Project) -> None:
    project.write({"a.txt": b"pushed from the tui\n", "extra/x.bin": b"x" * 5000})
    (project.data / "new" / "one.json").unlink()
    before = _history(project)[0].snapshot
    app = LobsApp(cwd=project.root, env=project.env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        plan = app.screen
        assert isinstance(plan, PlanScreen)
        rows = {r[1]: (r[0], r[3]) for r in table_rows(plan.query_one(DataTable))}
        assert rows == {
            "a.txt": ("upload", "changed"),
            "extra/x.bin": ("upload", "new"),
            "new/one.json": ("delete", "removed from the new snapshot"),
        }
        assert "2 file(s) to push" in text_of(plan.query_one("#plan-summary"))
        warning = text_of(plan.query_one("#plan-warning"))
        assert "1 deletion(s)" in warning and "new/one.json" in warning
        assert not plan.query_one("#run", Button).disabled
        # nothing has run yet: the remote still has the old head
        assert _history(project)[0].snapshot == before
        await pilot.press("y")
        await settle(pilot)
        transfer = app.screen
        assert isinstance(transfer, TransferScreen), [str(w.render()) for w in transfer.query("Static")]
        assert transfer.finished
        head = _history(project)[0]
        assert head.snapshot != before and head.manifest.parent == before
        assert transfer.outcome.startswith(f"done: snapshot {head.snapshot}")
        assert sorted(e.path for e in head.manifest.entries) == ["a.txt", "b/c/data.csv", "b/readme.md", "extra/x.bin"]
        assert head.snapshot in (project.root / "lobs.lock").read_text()
        log = "\n".join(str(line.text) for line in transfer.query_one("#log", RichLog).lines)
        assert "a.txt" in log and "extra/x.bin" in log
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        assert "3 snapshot(s)" in text_of(app.screen.query_one("#history-title"))


async def test_pull_refuses_to_overwrite_a_local_edit(project: Project) -> None:
    push_from_other(project, {"a.txt": b"their version\n", "b/c/data.csv": b"x,y\n1,1\n"})
    edited = b"my local edit, not pushed\n"
    project.write({"a.txt": edited})
    (project.data / "b" / "c" / "data.csv").unlink()
    app = LobsApp(cwd=project.root, env=project.env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        plan = app.screen
        assert isinstance(plan, PlanScreen)
        assert text_of(plan.query_one("#plan-title")) == "pull refused"
        summary = text_of(plan.query_one("#plan-summary"))
        assert "error: pull would lose local changes to 1 path(s): a.txt (modified locally)" in summary
        assert "hint: push or move your edits first" in summary
        assert table_rows(plan.query_one(DataTable)) == [["refused", "a.txt", "", "local edit would be overwritten"]]
        assert plan.query_one("#run", Button).disabled
        await pilot.press("y")  # refused: y does nothing
        await settle(pilot)
        assert app.screen is plan
        assert (project.data / "a.txt").read_bytes() == edited
        assert not (project.data / "b" / "c" / "data.csv").exists()
        # f: plan again with force, which calls out the overwrite, then run it
        await pilot.press("f")
        await settle(pilot)
        forced = app.screen
        assert isinstance(forced, PlanScreen) and forced.force
        rows = {r[1]: r[0] for r in table_rows(forced.query_one(DataTable))}
        assert rows == {"a.txt": "overwrite", "b/c/data.csv": "download"}
        assert "(latest)" in text_of(forced.query_one("#plan-title"))
        assert "1 local edit(s) will be lost" in text_of(forced.query_one("#plan-summary"))
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, TransferScreen) and app.screen.finished
        assert app.screen.outcome.startswith("done: 2 file(s) pulled")
    assert (project.data / "a.txt").read_bytes() == b"their version\n"
    assert (project.data / "b" / "c" / "data.csv").read_bytes() == b"x,y\n1,1\n"


def _slow_copies(monkeypatch: pytest.MonkeyPatch, delay: float) -> list[str]:
    """Slow down the local transport's uploads (its own worker threads stay in play)."""
    from lobs.transport import local

    sent: list[str] = []
    from lobs.fsutil import atomic_copy as real

    real_move = local._move

    def copy(src: Path | str, dest: Path | str) -> None:
        time.sleep(delay)
        real(src, dest)
        sent.append(str(dest))

    def move(src: Path, dest: str) -> bool:  # staged compressed objects are moved, not copied
        time.sleep(delay)
        moved = real_move(src, dest)
        if moved:
            sent.append(dest)
        return moved

    monkeypatch.setattr(local, "atomic_copy", copy)
    monkeypatch.setattr(local, "_move", move)
    return sent


async def test_cancelled_push_keeps_what_was_sent(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    config_edit.remote_set(project.root, project.env, "origin", "pack", "false")  # an object per file, to stop between
    project.write({f"many/f{i:02d}.txt": f"file {i}\n".encode() * (i + 1) for i in range(20)})
    before = _history(project)[0].snapshot
    lock_before = (project.root / "lobs.lock").read_text()
    objects_before = _objects(project)
    sent = _slow_copies(monkeypatch, 0.1)
    app = LobsApp(cwd=project.root, env=project.env, jobs=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert "20 file(s) to push" in text_of(app.screen.query_one("#plan-summary"))
        await pilot.press("y")
        transfer = app.screen
        assert isinstance(transfer, TransferScreen), [str(w.render()) for w in transfer.query("Static")]
        deadline = time.monotonic() + 10
        while len(sent) < 3 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.press("x")
        await settle(pilot)
        assert transfer.finished
        assert transfer.outcome.startswith("cancelled: everything already transferred stays done")
        assert "the remote ref was not moved" in transfer.outcome
        assert "/ 20 files" in text_of(transfer.query_one("#stats"))
        assert not isinstance(app.screen, ErrorScreen)
    arrived = len(_objects(project)) - len(objects_before)
    assert 3 <= arrived < 20
    # the ref and lobs.lock did not move; objects that arrived are whole and stay
    assert _history(project)[0].snapshot == before
    assert (project.root / "lobs.lock").read_text() == lock_before
    assert not [p for p in project.remote.rglob("*") if p.name.startswith(".lobs-tmp")]
    assert not list((project.root / ".lobs").glob("staging/*"))
    # running it again finishes the job and sends only what is missing
    monkeypatch.undo()
    sent = _slow_copies(monkeypatch, 0)
    ctx = api.Context(cwd=project.root, env=project.env)
    api.push(ctx, api.workspaces(ctx, [])[0])
    assert len([k for k in sent if "/objects/" in k]) == 20 - arrived  # (the snapshot travels with them)
    assert _history(project)[0].snapshot != before


async def test_cancelled_pull_replaces_nothing(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    theirs = {f"many/f{i:02d}.txt": f"theirs {i}\n".encode() for i in range(15)}
    config_edit.remote_set(project.root, project.env, "origin", "pack", "false")  # an object per file, to stop between
    push_from_other(project, {**theirs, "a.txt": b"their a\n"})
    before = {p: p.read_bytes() for p in project.data.rglob("*") if p.is_file()}
    lock_before = (project.root / "lobs.lock").read_text()
    real = LocalTransport.open_object

    def slow(self: LocalTransport, key: str) -> int:  # a folder remote's objects are read in place
        time.sleep(0.1)
        return real(self, key)

    monkeypatch.setattr(LocalTransport, "open_object", slow)
    app = LobsApp(cwd=project.root, env=project.env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert "16 file(s) to download" in text_of(app.screen.query_one("#plan-summary"))
        await pilot.press("y")
        transfer = app.screen
        assert isinstance(transfer, TransferScreen), [str(w.render()) for w in transfer.query("Static")]
        deadline = time.monotonic() + 10
        while transfer.progress is not None and transfer.progress.snapshot().files < 2 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.press("x")
        await settle(pilot)
        assert transfer.outcome.startswith("cancelled:") and "no local file was replaced" in transfer.outcome
    after = {p: p.read_bytes() for p in project.data.rglob("*") if p.is_file()}
    assert after == before
    assert (project.root / "lobs.lock").read_text() == lock_before
    assert not list(project.root.glob(".lobs-staging-*"))


def _objects(project: Project) -> list[Path]:
    return [p for p in (project.remote / "objects").rglob("*") if p.is_file()]
