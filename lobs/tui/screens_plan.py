"""Plan, then act: the exact plan of a push or pull (a dry run), then confirmation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Label, Static

from lobs import api
from lobs.errors import ConflictError
from lobs.tui.data import Target, human
from lobs.tui.progress import LoadReporter
from lobs.tui.widgets import ROW_LIMIT, num

if TYPE_CHECKING:
    from lobs.tui.app import LobsApp

ACTION_STYLE = {"upload": "green", "download": "green", "delete": "bold red", "refused": "bold red", "overwrite": "bold red", "chmod": "magenta"}


@dataclass(frozen=True)
class Run:
    """What the plan screen returns when confirmed."""

    kind: str  # push | pull
    force: bool
    replan: bool = False  # plan again (with force) instead of running
    snapshot: str | None = None  # pull: this snapshot (None: the remote's latest)


@dataclass
class PlanView:
    """A plan in rows: (action, path, size, note)."""

    summary: str
    rows: list[tuple[str, str, int | None, str]]
    deletions: list[str]
    runnable: bool


def push_view(r: api.PushResult) -> PlanView:
    p = r.plan
    c = p.diff.counts()
    rows: list[tuple[str, str, int | None, str]] = []
    word = {"added": "new", "modified": "changed", "mode": "mode only"}
    for ch in p.diff.changes:
        if ch.kind == "removed":
            rows.append(("delete", ch.path, ch.old.size if ch.old else None, "removed from the new snapshot"))
        else:
            rows.append(("upload", ch.path, ch.new.size if ch.new else None, word[ch.kind]))
    rows += [("delete", k, None, "remote object (mirror)") for k in p.deletes]
    deletions = [ch.path for ch in p.diff.of("removed")] + p.deletes
    if p.up_to_date:
        return PlanView(f"up to date: {c['unchanged']} file(s) already on {p.ws.remote_name}", rows, [], False)
    changed = c["added"] + c["modified"] + c["mode"]
    summary = (
        f"{changed} file(s) to push, {len(p.uploads)} new ({human(p.upload_bytes)}) in {p.objects_to_send} object(s), "
        f"{c['removed']} removed, {c['unchanged']} unchanged"
    )
    return PlanView(summary, rows, deletions, True)


def pull_view(r: api.PullResult) -> PlanView:
    p = r.plan
    overwrite = {path: why for path, why in p.conflicts}
    rows: list[tuple[str, str, int | None, str]] = []
    for e in p.writes:
        rows.append(("overwrite" if e.path in overwrite else "download", e.path, e.size, overwrite.get(e.path, "")))
    rows += [("chmod", e.path, e.size, oct(e.mode)) for e in p.chmods]
    rows += [("delete", path, None, overwrite.get(path, "deleted in the snapshot")) for path in p.deletes]
    if p.up_to_date:
        return PlanView(f"up to date with snapshot {p.snapshot[:12]}", rows, [], False)
    size = sum(e.size for e in p.writes)
    summary = (
        f"{len(p.writes)} file(s) to download ({human(size)}, {human(p.download_bytes)} to transfer), "
        f"{len(p.deletes)} to delete, {len(p.chmods)} mode change(s), from snapshot {p.snapshot[:12]}"
    )
    if p.conflicts:
        summary += f" · FORCE: {len(p.conflicts)} local edit(s) will be lost"
    return PlanView(summary, rows, list(p.deletes), True)


class PlanScreen(Screen[Run | None]):
    """Runs the dry run in a worker, shows it, and returns :class:`Run` on confirmation."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "run", "Run"),
        Binding("f", "force", "Force", show=False),
        Binding("n,escape", "cancel", "Cancel"),
    ]

    def __init__(self, target: Target, kind: str, force: bool = False, snapshot: str | None = None) -> None:
        super().__init__()
        self.target = target
        self.kind = kind
        self.force = force
        self.snapshot = snapshot
        self.view: PlanView | None = None
        self.refused: ConflictError | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        at = f" @ {self.snapshot[:12]}" if self.snapshot else " (latest)"
        arrow = f"{self.target.label} → {self.target.remote}" if self.kind == "push" else f"{self.target.remote}{at} → {self.target.label}"
        yield Label(f"{self.kind} {arrow}" + (" (force)" if self.force else ""), id="plan-title", classes="title")
        yield Static("planning (dry run)…", id="plan-summary", markup=False)
        yield Static("", id="plan-warning", markup=False)
        yield DataTable(id="plan-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="plan-buttons"):
            yield Button(f"Run {self.kind} (y)", id="run", variant="primary", disabled=True)
            yield Button("Cancel (n)", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in ("action", "path", "size", "note"):
            table.add_column(name, key=name)
        self.query_one("#plan-warning").display = False
        table.focus()
        self.plan()

    @work(thread=True, exclusive=True)
    def plan(self) -> None:
        app = cast("LobsApp", self.app)
        ctx = app.context(LoadReporter(self))
        try:
            if self.kind == "push":
                view = push_view(api.push(ctx, self.target.ws, dry_run=True))
            else:
                view = pull_view(api.pull(ctx, self.target.ws, dry_run=True, force=self.force, snapshot=self.snapshot, latest=True))
        except ConflictError as e:
            app.call_from_thread(self._show_refused, e)
            return
        except Exception as e:  # noqa: BLE001 (a worker reports every failure in a dialog)
            app.call_from_thread(app.show_error, e)
            return
        app.call_from_thread(self._show, view)

    def _show(self, view: PlanView) -> None:
        self.view = view
        self.query_one("#plan-summary", Static).update(view.summary)
        if view.deletions:
            warn = self.query_one("#plan-warning", Static)
            where = "on this machine" if self.kind == "pull" else "from the new snapshot"
            shown = ", ".join(view.deletions[:5]) + (f" and {len(view.deletions) - 5} more" if len(view.deletions) > 5 else "")
            warn.update(f"! {len(view.deletions)} deletion(s) {where}: {shown}")
            warn.display = True
        table = self.query_one(DataTable)
        for action, path, size, note in view.rows[:ROW_LIMIT]:
            table.add_row(Text(action, style=ACTION_STYLE.get(action, "")), path, num(size), note)
        run = self.query_one("#run", Button)
        run.disabled = not view.runnable
        if view.runnable:
            run.focus()

    def _show_refused(self, err: ConflictError) -> None:
        self.refused = err
        self.query_one("#plan-title", Label).update(f"{self.kind} refused")
        self.query_one("#plan-summary", Static).update(f"error: {err.message}\nhint: {err.hint or ''}")
        table = self.query_one(DataTable)
        for path in err.paths[:ROW_LIMIT]:
            table.add_row(Text("refused", style=ACTION_STYLE["refused"]), path, num(None), "local edit would be overwritten")
        table.focus()
        if self.kind == "pull" and err.paths:
            warn = self.query_one("#plan-warning", Static)
            warn.update(f"! nothing will run. Press f to plan again with force: {len(err.paths)} local edit(s) would be lost.")
            warn.display = True

    @on(Button.Pressed, "#run")
    def action_run(self) -> None:
        if self.view is not None and self.view.runnable:
            self.dismiss(Run(self.kind, self.force, snapshot=self.snapshot))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_force(self) -> None:
        if self.refused is not None and self.kind == "pull":
            self.dismiss(Run(self.kind, True, replan=True, snapshot=self.snapshot))
