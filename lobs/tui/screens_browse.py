"""The main screen: remotes and targets, snapshot history, snapshot files, working tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, TabbedContent, TabPane, Tree

from lobs import api
from lobs.tui.data import Target, Working, history, human, short_time, snapshot_rows, working
from lobs.tui.messages import LoadProgress
from lobs.tui.progress import LoadReporter
from lobs.tui.widgets import FileView, count, num

if TYPE_CHECKING:
    from lobs.tui.app import LobsApp
    from lobs.tui.screens_plan import Run


def _width(cell: str | Text) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


HISTORY_COLUMNS = ("", "snapshot", "time", "files", "size", "stored", "message")


class BrowseScreen(Screen[None]):
    """Remotes → targets on the left; History, Files and Working tree tabs on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "plan('push')", "Push"),
        Binding("l", "plan('pull')", "Pull"),
        Binding("c", "compare", "Compare"),
        Binding("space", "mark", "Mark", show=False),
        Binding("r", "reload", "Reload"),
        Binding("1", "tab('history')", "History", show=False),
        Binding("2", "tab('files')", "Files", show=False),
        Binding("3", "tab('working')", "Working", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[Target] = []
        self.target: Target | None = None
        self.history: list[api.LogEntry] = []
        self.marked: list[str] = []
        self.scanning = False  # a working-tree load is running: show its progress

    @property
    def lobs(self) -> LobsApp:
        return cast("LobsApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="browse"):
            tree: Tree[Target] = Tree("remotes", id="remotes")
            tree.show_root = False
            yield tree
            with TabbedContent(id="tabs", initial="history"):
                with TabPane("History", id="history"):
                    yield Label("select a target", id="history-title", classes="title")
                    yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
                with TabPane("Files", id="files"):
                    yield Label("open a snapshot from History (enter)", id="files-title", classes="title")
                    yield FileView(id="snapfiles")
                with TabPane("Working tree", id="working"):
                    yield Label("", id="working-title", classes="title")
                    yield FileView(working=True, id="workfiles")
        yield Label("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#history-table", DataTable)
        for name in HISTORY_COLUMNS:
            table.add_column(name, key=name or "mark")
        self.load_targets()

    # ------------------------------------------------------------ targets
    @work(thread=True, exclusive=True, group="targets")
    def load_targets(self) -> None:
        self.app.call_from_thread(self._status, "listing targets…")
        try:
            targets = self.lobs.discover()
        except Exception as e:  # noqa: BLE001 (a worker reports every failure in a dialog)
            self.app.call_from_thread(self._failed, e)
            return
        self.app.call_from_thread(self._show_targets, targets)

    def _show_targets(self, targets: list[Target]) -> None:
        self.targets = targets
        tree = self.query_one("#remotes", Tree)
        tree.clear()
        groups: dict[str, list[Target]] = {}
        for t in targets:
            groups.setdefault(t.remote, []).append(t)
        for remote, ts in groups.items():
            node = tree.root.add(remote, expand=True)
            for t in ts:
                node.add_leaf(t.label, data=t)
        self._status(f"{len(targets)} target(s)")
        if targets:
            first = tree.root.children[0].children[0]
            self.call_after_refresh(tree.move_cursor, first)
            self.select_target(targets[0])
        tree.focus()

    @on(Tree.NodeSelected, "#remotes")
    def _node_selected(self, event: Tree.NodeSelected[Target]) -> None:
        if event.node.data is not None:
            self.select_target(event.node.data)
            self.query_one(TabbedContent).active = "history"
            self.query_one("#history-table", DataTable).focus()

    def select_target(self, target: Target) -> None:
        """Show ``target``: its history and its working tree."""
        self.target = target
        self.marked = []
        self.query_one("#history-title", Label).update(f"{target.label} on {target.remote}: loading history…")
        self.query_one("#working-title", Label).update("scanning…" if target.can_sync else "no local folder (browsing a URL)")
        self.load_history(target)
        if target.can_sync:
            self.scanning = True
            self.load_working(target)
        else:
            self.query_one("#workfiles", FileView).set_rows([])

    # ------------------------------------------------------------ history and files
    @work(thread=True, exclusive=True, group="history")
    def load_history(self, target: Target) -> None:
        try:
            entries = history(self.lobs.context(), target.ws)
        except Exception as e:  # noqa: BLE001 (a worker reports every failure in a dialog)
            self.app.call_from_thread(self._failed, e)
            return
        self.app.call_from_thread(self._show_history, target, entries)

    def _show_history(self, target: Target, entries: list[api.LogEntry]) -> None:
        if target is not self.target:
            return
        self.history = entries
        table = self.query_one("#history-table", DataTable)
        rows = []
        for le in entries:
            m = le.manifest
            msg = (m.message or "").splitlines()[0][:60] if m.message else ""
            mark = "●" if le.snapshot in self.marked else " "
            rows.append((le.snapshot, (mark, le.snapshot[:12], short_time(m.created), count(len(m.entries)), num(m.total_size), num(m.stored_size), msg)))
        # columns get explicit widths from their content: auto widths are measured later,
        # and on a busy machine a terminal could show them cut to the headers' widths
        table.clear(columns=True)
        for i, name in enumerate(HISTORY_COLUMNS):
            table.add_column(name, key=name or "mark", width=max([cell_len(name)] + [_width(r[1][i]) for r in rows]))
        for key, cells in rows:
            table.add_row(*cells, key=key)
        title = f"{target.label} on {target.remote}: {len(entries)} snapshot(s)"
        self.query_one("#history-title", Label).update(title + ("" if entries else ", nothing pushed yet"))

    @on(DataTable.RowSelected, "#history-table")
    def _open_snapshot(self, event: DataTable.RowSelected) -> None:
        snap = str(event.row_key.value)
        le = next((x for x in self.history if x.snapshot == snap), None)
        if le is None:
            return
        m = le.manifest
        self.query_one("#files-title", Label).update(
            f"snapshot {snap[:12]} · {short_time(m.created)} · {len(m.entries):,} files · {human(m.total_size)} ({human(m.stored_size)} stored)"
        )
        self.query_one("#snapfiles", FileView).set_rows(snapshot_rows(m))
        self.query_one(TabbedContent).active = "files"
        self.query_one("#snapfiles", FileView).query_one(DataTable).focus()

    # ------------------------------------------------------------ working tree
    @work(thread=True, exclusive=True, group="working")
    def load_working(self, target: Target) -> None:
        try:
            w = working(self.lobs.context(LoadReporter(self)), target.ws)
        except Exception as e:  # noqa: BLE001 (a worker reports every failure in a dialog)
            self.app.call_from_thread(self._failed, e)
            return
        self.app.call_from_thread(self._show_working, target, w)

    def _show_working(self, target: Target, w: Working) -> None:
        if target is not self.target:
            return
        counts: dict[str, int] = {}
        for r in w.rows:
            counts[r.state] = counts.get(r.state, 0) + 1
        parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        synced = f"synced {w.synced[:12]}" if w.synced else "never synced"
        moved = " · remote has moved" if w.remote_ref and w.remote_ref != w.synced else ""
        self.query_one("#working-title", Label).update(f"{target.ws.root.name}: {synced}{moved} · {parts or 'empty'}")
        self.query_one("#workfiles", FileView).set_rows(w.rows)
        self.scanning = False
        self._status("ready")

    def on_load_progress(self, msg: LoadProgress) -> None:
        if not self.scanning:
            return  # arrived after the result
        total = f"/{msg.total:,}" if msg.total else ""
        self._status(f"{msg.phase}: {msg.files:,}{total} files")

    # ------------------------------------------------------------ actions
    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name

    def action_reload(self) -> None:
        if self.target is not None:
            self.select_target(self.target)
        else:
            self.load_targets()

    def action_mark(self) -> None:
        table = self.query_one("#history-table", DataTable)
        if not self.history or table.row_count == 0:
            return
        snap = self.history[table.cursor_row].snapshot
        if snap in self.marked:
            self.marked.remove(snap)
        else:
            self.marked = [*self.marked[-1:], snap]
        for le in self.history:
            table.update_cell(le.snapshot, "mark", "●" if le.snapshot in self.marked else " ")
        self._status(f"marked: {', '.join(s[:12] for s in self.marked) or 'none'}")

    def action_compare(self) -> None:
        from lobs.tui.screens_compare import CompareScreen

        if self.target is None or not self.history:
            self._status("nothing to compare: the target has no snapshots")
            return
        order = [le.snapshot for le in self.history]
        if len(self.marked) == 2:
            a, b = sorted(self.marked, key=order.index, reverse=True)  # older -> newer
            self.app.push_screen(CompareScreen(self.target, a, b))
            return
        table = self.query_one("#history-table", DataTable)
        a = self.marked[0] if self.marked else order[min(table.cursor_row, len(order) - 1)]
        if not self.target.can_sync:
            self._status("mark two snapshots (space) to compare them; there is no local folder")
            return
        self.app.push_screen(CompareScreen(self.target, a, None))

    def action_plan(self, kind: str) -> None:
        from lobs.tui.screens_plan import PlanScreen

        if self.target is None:
            return
        if not self.target.can_sync:
            self._status("push and pull need a local folder: lobs tui URL DIR")
            return
        snap = None
        table = self.query_one("#history-table", DataTable)
        if kind == "pull" and self.history and table.cursor_row > 0:
            snap = self.history[min(table.cursor_row, len(self.history) - 1)].snapshot
        self.app.push_screen(PlanScreen(self.target, kind, snapshot=snap), self._after_plan)

    def _after_plan(self, run: Run | None) -> None:
        from lobs.tui.screens_plan import PlanScreen
        from lobs.tui.screens_transfer import TransferScreen

        if run is None or self.target is None:
            return
        if run.replan:
            self.app.push_screen(PlanScreen(self.target, run.kind, force=run.force, snapshot=run.snapshot), self._after_plan)
        else:
            self.app.push_screen(TransferScreen(self.target, run.kind, run.force, run.snapshot), lambda _: self.action_reload())

    # ------------------------------------------------------------ helpers
    def _status(self, text: str) -> None:
        self.query_one("#status", Label).update(text)

    def _failed(self, err: BaseException) -> None:
        self.scanning = False
        self._status("error")
        self.lobs.show_error(err)
