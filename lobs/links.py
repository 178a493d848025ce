"""Decide whether a symlink of a manifest or an archive stays inside the folder it lands in.

Resolution is simulated, not left to the file system: each component of the
target is walked from the link's folder, ``..`` pops a level, and a component
that is itself a link of the archive is expanded in turn (so ``a -> .`` plus
``b -> a/..`` is seen to escape). A target that is absolute, climbs above the
root, or loops is refused. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_HOPS = 40


def link_escape(path: str, target: str, links: Mapping[str, str]) -> str | None:
    """Return why the link ``path -> target`` escapes the root, or None if it stays inside.

    ``links`` maps every link path of the archive to its target.
    """
    if not target:
        return "has an empty target"
    if "\x00" in target:
        return "has a NUL in its target"
    if target.startswith("/"):
        return f"points to the absolute path {target!r}"
    parent = path.split("/")[:-1]
    try:
        _walk(parent, target, links, [0])
    except _Escape as e:
        return f"points outside the folder ({target!r} {e.reason})"
    return None


class _Escape(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _walk(start: list[str], target: str, links: Mapping[str, str], hops: list[int]) -> list[str]:
    """Resolve ``target`` relative to the folder ``start``; return the resolved components."""
    if target.startswith("/"):
        raise _Escape("goes through an absolute link")
    cur = list(start)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not cur:
                raise _Escape("climbs above the root")
            cur.pop()
            continue
        cur.append(part)
        here = "/".join(cur)
        if here in links:
            hops[0] += 1
            if hops[0] > MAX_HOPS:
                raise _Escape("loops through other links")
            cur = _walk(cur[:-1], links[here], links, hops)
    return cur
