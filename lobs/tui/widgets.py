"""Reusable widgets: the filterable, sortable file table."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Select

from lobs.tui.data import SORTS, STATE_MARK, STATES, FileRow, human, ratio, select

ROW_LIMIT = 2000  # rows handed to the table at once; the rest are reached by filtering
STATE_STYLE = {"modified": "yellow", "new": "green", "deleted": "red", "remote": "cyan", "conflict": "bold red", "unchanged": "dim"}


def state_text(state: str) -> Text:
    """A state as a symbol and a word, so that it reads without colour."""
    return Text(f"{STATE_MARK.get(state, ' ')} {state}", style=STATE_STYLE.get(state, ""))


def num(n: int | None) -> Text:
    return Text("" if n is None else human(n), justify="right")


def count(n: int) -> Text:
    return Text(f"{n:,}", justify="right")


class FileView(Vertical):
    """A flat file table with a name filter, a state filter (working tree) and sorting.

    Rows are filtered and sorted in a worker thread; at most ``ROW_LIMIT`` reach
    the DataTable, so a 100,000-file snapshot never blocks the interface.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("t", "cycle_state", "State", show=True),
    ]

    def __init__(self, *, working: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, classes="fileview")
        self.working = working
        self.rows: list[FileRow] = []
        self.shown: list[FileRow] = []
        self.sort = "state" if working else "name"
        self.reverse = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="filterbar"):
            yield Input(placeholder="filter by name  (/)", classes="filter")
            if self.working:
                options = [(s, s) for s in STATES]
                yield Select(options, prompt="any state", classes="state")
        yield Label("", classes="count")
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        if self.working:
            table.add_column("state", key="state")
        table.add_column("path", key="name")
        table.add_column("size", key="size")
        table.add_column("stored", key="stored")
        table.add_column("ratio", key="ratio")

    def set_rows(self, rows: list[FileRow]) -> None:
        """Replace the rows (any number) and redraw with the current filter and sort."""
        self.rows = rows
        self.refilter()

    @property
    def filter_text(self) -> str:
        return self.query_one(".filter", Input).value

    @property
    def state_filter(self) -> str:
        if not self.working:
            return ""
        value = self.query_one(".state", Select).value
        return value if isinstance(value, str) else ""

    def refilter(self) -> None:
        self._select(self.rows, self.filter_text, self.state_filter, self.sort, self.reverse)

    @work(thread=True, exclusive=True, group="filter")
    def _select(self, rows: list[FileRow], text: str, state: str, sort: str, reverse: bool) -> None:
        out = select(rows, text, state, sort, reverse)
        self.app.call_from_thread(self._show, out, len(rows))

    def _show(self, out: list[FileRow], total: int) -> None:
        self.shown = out
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(self._cells(r) for r in out[:ROW_LIMIT])
        more = f" · showing the first {ROW_LIMIT:,}, filter to narrow" if len(out) > ROW_LIMIT else ""
        arrow = "↓" if not self.reverse else "↑"
        size = human(sum(r.size for r in out))
        self.query_one(".count", Label).update(f"{len(out):,} of {total:,} files · {size} · sort: {self.sort} {arrow}{more}")

    def _cells(self, r: FileRow) -> list[object]:
        cells: list[object] = [r.path, num(r.size), num(r.stored), Text(ratio(r.size, r.stored), justify="right")]
        if self.working:
            cells.insert(0, state_text(r.state))
        return cells

    @on(Input.Changed, ".filter")
    def _filter_changed(self) -> None:
        self.refilter()

    @on(Select.Changed)
    def _state_changed(self) -> None:
        self.refilter()

    @on(Input.Submitted, ".filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key in SORTS:
            self.reverse = not self.reverse if key == self.sort else False
            self.sort = key
            self.refilter()

    def action_focus_filter(self) -> None:
        self.query_one(".filter", Input).focus()

    def action_cycle_sort(self) -> None:
        sorts = SORTS if self.working else ("name", "size")
        self.sort = sorts[(sorts.index(self.sort) + 1) % len(sorts)] if self.sort in sorts else "name"
        self.reverse = False
        self.refilter()

    def action_cycle_state(self) -> None:
        if not self.working:
            return
        sel = self.query_one(".state", Select)
        cur = self.state_filter
        order = ["", *STATES]
        nxt = order[(order.index(cur) + 1) % len(order)]
        if nxt:
            sel.value = nxt
        else:
            sel.clear()
