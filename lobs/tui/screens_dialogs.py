"""Modal dialogs: errors and help."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

KEYS = """\
[b]Everywhere[/b]
  ?            this help
  q            quit
  escape       back / close a dialog
  tab          next pane

[b]Browse[/b]
  enter        on a target: load it; on a snapshot: show its files
  1 2 3        History, Files, Working tree tabs
  space        mark a snapshot for compare (two at most)
  c            compare two marked snapshots, or one (or the cursor's)
               with the working tree
  p            plan a push of the selected target
  l            plan a pull of the newest snapshot, or of the one
               under the History cursor
  r            reload

[b]File tables[/b]
  /            filter by name
  s            sort: name, size, state (click a column header too)
  t            filter by state (working tree)

[b]Plan[/b]
  y            run it
  f            pull: plan again with force (overwrite local edits)
  n / escape   cancel

[b]Transfer[/b]
  x / escape   cancel safely (done files stay done, nothing is half-written)
  escape       back, once finished

[b]States[/b] (symbols read without colour)
  ~ modified   + new   - deleted locally   R changed remotely   ! conflict
"""


class ErrorScreen(ModalScreen[None]):
    """An error with the same message and hint the CLI prints."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "dismiss", "Close")]

    def __init__(self, message: str, hint: str | None = None, paths: list[str] | None = None) -> None:
        super().__init__()
        self.message = message
        self.hint = hint
        self.paths = paths or []

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box", classes="dialog"):
            yield Label("error", classes="dialog-title")
            yield Static(f"error: {self.message}", id="error-message", markup=False)
            if self.hint:
                yield Static(f"hint: {self.hint}", id="error-hint", markup=False)
            if self.paths:
                shown = "\n".join(f"  {p}" for p in self.paths[:20])
                more = f"\n  … and {len(self.paths) - 20} more" if len(self.paths) > 20 else ""
                yield Static(shown + more, id="error-paths", markup=False)
            yield Button("Close", id="close", variant="primary")

    def on_button_pressed(self) -> None:
        self.dismiss()


class HelpScreen(ModalScreen[None]):
    """Every key binding."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Label("lobs tui: keys", classes="dialog-title")
            yield Static(KEYS, id="help-text")
