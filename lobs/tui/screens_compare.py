"""Compare two snapshots, or a snapshot with the working tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label

from lobs.diff import Diff
from lobs.tui.data import CHANGE_MARK, Target, compare, human
from lobs.tui.messages import LoadProgress
from lobs.tui.progress import LoadReporter
from lobs.tui.widgets import ROW_LIMIT, num

if TYPE_CHECKING:
    from lobs.tui.app import LobsApp

CHANGE_STYLE = {"added": "green", "removed": "red", "modified": "yellow", "mode": "magenta"}


def describe(diff: Diff) -> str:
    """'2 added, 1 removed, 3 modified, 0 mode, 10 unchanged · net +1.2 MB'."""
    c = diff.counts()
    delta = sum(ch.size_delta for ch in diff.changes)
    sign = "+" if delta >= 0 else ""
    parts = ", ".join(f"{CHANGE_MARK[k]}{c[k]} {k}" for k in ("added", "removed", "modified", "mode"))
    return f"{parts}, {c['unchanged']} unchanged · net {sign}{human(delta)}"


class CompareScreen(Screen[None]):
    """The diff ``a`` -> ``b`` (``b`` None: the working tree)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, target: Target, a: str, b: str | None) -> None:
        super().__init__()
        self.target = target
        self.a = a
        self.b = b
        self.diff: Diff | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        b = self.b[:12] if self.b else "working tree"
        yield Label(f"compare {self.target.label}: {self.a[:12]} → {b}", id="compare-title", classes="title")
        yield Label("computing…", id="compare-summary")
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in ("change", "path", "old size", "new size", "delta"):
            table.add_column(name, key=name)
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        app = cast("LobsApp", self.app)
        try:
            d = compare(app.context(LoadReporter(self)), self.target.ws, self.a, self.b)
        except Exception as e:  # noqa: BLE001 (a worker reports every failure in a dialog)
            app.call_from_thread(app.show_error, e)
            return
        app.call_from_thread(self._show, d)

    def _show(self, d: Diff) -> None:
        self.diff = d
        table = self.query_one(DataTable)
        table.clear()
        for ch in d.changes[:ROW_LIMIT]:
            kind = Text(f"{CHANGE_MARK[ch.kind]} {ch.kind}", style=CHANGE_STYLE.get(ch.kind, ""))
            delta = ch.size_delta
            dtext = Text(("+" if delta > 0 else "") + human(delta) if delta else "0", justify="right")
            table.add_row(kind, ch.path, num(ch.old.size if ch.old else None), num(ch.new.size if ch.new else None), dtext)
        more = f" · showing the first {ROW_LIMIT:,} changes" if len(d.changes) > ROW_LIMIT else ""
        summary = "identical" if d.empty else describe(d)
        self.query_one("#compare-summary", Label).update(summary + more)

    def on_load_progress(self, msg: LoadProgress) -> None:
        if self.diff is None:  # a late message must not hide the result
            self.query_one("#compare-summary", Label).update(f"computing… {msg.phase} {msg.files:,} files")
