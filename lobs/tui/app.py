"""The Textual application behind ``lobs tui``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from lobs import api
from lobs.errors import LobsError, from_os_error
from lobs.progress import NullProgress, Progress
from lobs.tui.data import Target, discover_project, discover_url
from lobs.tui.screens_dialogs import ErrorScreen, HelpScreen


class LobsApp(App[None]):
    """Browse remotes, targets, snapshots and files; plan and watch push and pull.

    ``url`` browses a remote with no project; ``directory`` (with ``url``) is the
    local folder that push and pull use then. Everything goes through
    :mod:`lobs.api`.
    """

    CSS_PATH = "lobs.tcss"
    TITLE = "lobs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(
        self,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        url: str | None = None,
        directory: str | None = None,
        options: api.RemoteOptions | None = None,
        jobs: int = 0,
    ) -> None:
        super().__init__()
        self.cwd = cwd or Path.cwd()
        self.env = dict(os.environ) if env is None else dict(env)
        self.url = url
        self.directory = directory
        self.options = options or api.RemoteOptions()
        self.jobs = jobs

    def context(self, progress: Progress | None = None) -> api.Context:
        """A fresh engine context for one operation."""
        return api.Context(cwd=self.cwd, env=self.env, progress=progress or NullProgress(), jobs=self.jobs)

    def discover(self) -> list[Target]:
        """The targets to list (runs in a worker)."""
        ctx = self.context()
        if self.url:
            return discover_url(ctx, self.url, self.directory, self.options)
        return discover_project(ctx)

    def on_mount(self) -> None:
        from lobs.tui.screens_browse import BrowseScreen

        self.sub_title = self.url or self.cwd.name
        self.push_screen(BrowseScreen())

    def show_error(self, err: BaseException) -> None:
        """The CLI's message and hint in a dialog (a bug shows its type)."""
        if isinstance(err, OSError):
            err = from_os_error(err) or err
        if isinstance(err, LobsError):
            self.push_screen(ErrorScreen(err.message, err.hint, getattr(err, "paths", None)))
        else:
            self.push_screen(ErrorScreen(f"{type(err).__name__}: {err}", "this is a bug in lobs; please report it"))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
