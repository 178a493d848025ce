"""Watch a push or pull: progress, throughput, ETA, recent files, a log, safe cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, RichLog, Static

from lobs import api
from lobs.errors import LobsError
from lobs.tui.data import Target, human
from lobs.tui.messages import ProgressChanged
from lobs.tui.progress import State, TransferCancelled, TuiProgress
from lobs.tui.widgets import num

if TYPE_CHECKING:
    from lobs.tui.app import LobsApp

SAFE = "everything already transferred stays done; nothing is half-written"


def clock(seconds: float | None) -> str:
    """Seconds as 'm:ss' ('?' when unknown)."""
    if seconds is None:
        return "?"
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def stats_line(s: State) -> str:
    """'1.2 MB / 4 MB · 3 / 10 files · 1.1 MB/s · ETA 0:03'."""
    nbytes = f"{human(s.nbytes)} / {human(s.total_bytes)}" if s.total_bytes else human(s.nbytes)
    files = f"{s.files:,} / {s.total_files:,} files" if s.total_files else f"{s.files:,} files"
    return f"{nbytes} · {files} · {human(s.rate)}/s · ETA {clock(s.eta)}"


class TransferScreen(Screen[None]):
    """Runs the push or pull in a worker thread and shows its progress."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "cancel", "Cancel transfer"),
        Binding("escape", "back", "Back / cancel"),
        Binding("q", "quit_safely", "Quit"),
    ]

    def __init__(self, target: Target, kind: str, force: bool = False, snapshot: str | None = None) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.target = target
        self.kind = kind
        self.force = force
        self.progress: TuiProgress | None = None
        self.finished = False
        self.outcome = ""
        self.quit_after = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(f"{'pushing' if self.kind == 'push' else 'pulling'} {self.target.label} ({self.target.remote})", id="transfer-title", classes="title")
        yield Label("starting…", id="phase")
        yield ProgressBar(id="bar", show_eta=False)
        yield Label("", id="stats")
        yield Label("recently done", classes="subtitle")
        yield DataTable(id="recent", cursor_type="none", show_cursor=False)
        yield RichLog(id="log", max_lines=2000, wrap=False, markup=False)
        yield Static("", id="outcome", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#recent", DataTable)
        for name in ("action", "path", "size"):
            table.add_column(name, key=name)
        self.progress = TuiProgress(self)
        self.run_transfer(self.progress)

    @work(thread=True, exclusive=True, group="transfer")
    def run_transfer(self, progress: TuiProgress) -> None:
        app = cast("LobsApp", self.app)
        ctx = app.context(progress)
        try:
            if self.kind == "push":
                r = api.push(ctx, self.target.ws)
                text = f"done: snapshot {r.snapshot} ({len(r.plan.uploads)} object(s) sent, {human(r.plan.upload_bytes)})"
            else:
                p = api.pull(ctx, self.target.ws, force=self.force, snapshot=self.snapshot, latest=True).plan
                text = f"done: {len(p.writes)} file(s) pulled, {len(p.deletes)} deleted, snapshot {p.snapshot[:12]}"
        except TransferCancelled:
            text = self._cancelled_text()
        except LobsError as e:
            if progress.cancelled:  # a transport may wrap the cancellation in its own error
                text = self._cancelled_text()
            else:
                text = f"failed: {e.message}"
                app.call_from_thread(app.show_error, e)
        except Exception as e:  # noqa: BLE001 (a worker reports every failure in a dialog)
            text = f"failed: {type(e).__name__}: {e}"
            app.call_from_thread(app.show_error, e)
        finally:
            progress.close()
        app.call_from_thread(self._finish, text)

    def _cancelled_text(self) -> str:
        where = "the remote ref was not moved" if self.kind == "push" else "no local file was replaced"
        return f"cancelled: {SAFE}; {where}. Run the {self.kind} again to finish."

    def on_progress_changed(self, _: ProgressChanged) -> None:
        self.refresh_progress()

    def refresh_progress(self) -> None:
        """Draw the reporter's current state (also called once at the end)."""
        if self.progress is None:
            return
        s = self.progress.snapshot()
        phase = s.phase or "starting"
        self.query_one("#phase", Label).update(("cancelling… " if s.cancelling and not self.finished else "") + f"phase: {phase}")
        bar = self.query_one("#bar", ProgressBar)
        if s.total_bytes:
            bar.update(total=s.total_bytes, progress=s.nbytes)
        elif s.total_files:
            bar.update(total=s.total_files, progress=s.files)
        self.query_one("#stats", Label).update(stats_line(s))
        table = self.query_one("#recent", DataTable)
        table.clear()
        for d in reversed(s.recent):
            table.add_row(Text(d.action, style="red" if d.action == "fail" else ""), d.path, num(d.size))
        log = self.query_one("#log", RichLog)
        for d in s.log:
            log.write(f"{'FAILED ' if d.action == 'fail' else ''}{d.action:8} {d.path}  ({human(d.size)})")
        for w in s.warnings:
            log.write(f"warning: {w}")

    def _finish(self, text: str) -> None:
        self.finished = True
        self.outcome = text
        self.refresh_bindings()
        self.refresh_progress()
        self.query_one("#outcome", Static).update(text + "\n(escape: back)")
        if self.quit_after:
            self.app.exit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Once finished there is nothing to cancel: hide the key."""
        return not (action == "cancel" and self.finished)

    def action_cancel(self) -> None:
        if self.finished or self.progress is None:
            return
        self.progress.cancel()
        self.query_one("#outcome", Static).update(f"cancelling at the next safe point: {SAFE}.")

    def action_quit_safely(self) -> None:
        """Quit, after cancelling a running transfer and letting it unwind."""
        if self.finished:
            self.app.exit()
        else:
            self.quit_after = True
            self.action_cancel()

    def action_back(self) -> None:
        if self.finished:
            self.dismiss()
        else:
            self.action_cancel()
