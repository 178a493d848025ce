"""Write the SVG screenshots in docs/img/ from the test fixture: `python -m tests.tui.screenshots`."""

from __future__ import annotations

import asyncio
import datetime as real_dt
import tempfile
import types
from pathlib import Path

import lobs.push
from lobs.tui.app import LobsApp
from tests.tui.conftest import _Clock, make_project, push_from_other, settle

OUT = Path(__file__).resolve().parents[2] / "docs" / "img"
SHOTS: list[tuple[str, tuple[str, ...], tuple[int, int]]] = [
    ("tui-history", (), (80, 24)),
    ("tui-files", ("enter", "enter"), (80, 24)),
    ("tui-working", ("3",), (80, 24)),
    ("tui-compare", ("enter", "space", "down", "space", "c"), (100, 24)),
    ("tui-push-plan", ("p",), (80, 24)),
    ("tui-transfer", ("p", "y"), (80, 24)),
    ("tui-pull-refused", ("l",), (80, 24)),
    ("tui-help", ("question_mark",), (100, 40)),
]


async def shoot(name: str, keys: tuple[str, ...], size: tuple[int, int]) -> None:
    lobs.push.dt = types.SimpleNamespace(datetime=_Clock(), timezone=real_dt.timezone)  # type: ignore[assignment,attr-defined]
    base = Path(tempfile.mkdtemp())
    p = make_project(base)
    p.write({"a.txt": b"edited locally\n", "fresh.txt": b"new\n"})
    (p.data / "b" / "readme.md").unlink()
    if name == "tui-pull-refused":
        push_from_other(p, {"a.txt": b"their version\n"})
    app = LobsApp(cwd=p.root, env=p.env)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for k in keys:
            await pilot.press(k)
            await settle(pilot)
        app.save_screenshot(f"{name}.svg", str(OUT))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, keys, size in SHOTS:
        asyncio.run(shoot(name, keys, size))
        print(OUT / f"{name}.svg")


if __name__ == "__main__":
    main()
