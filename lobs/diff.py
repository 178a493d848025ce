"""Differences between two sets of entries. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import overload

from lobs.model import Entry


@dataclass(slots=True)
class Change:
    path: str
    kind: str  # added | removed | modified | mode
    old: Entry | None
    new: Entry | None

    @property
    def size_delta(self) -> int:
        return (self.new.size if self.new else 0) - (self.old.size if self.old else 0)

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "change": self.kind,
            "old_size": self.old.size if self.old else None,
            "new_size": self.new.size if self.new else None,
        }


class AllAdded(Sequence[Change]):
    """Every entry (sorted by path) as an added change, each made when asked for: the diff
    of a first push of a million files holds no million Change objects."""

    __slots__ = ("_entries",)

    def __init__(self, entries: list[Entry]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, i: int) -> Change: ...
    @overload
    def __getitem__(self, i: slice) -> list[Change]: ...
    def __getitem__(self, i: int | slice) -> Change | list[Change]:
        if isinstance(i, slice):
            return [Change(e.path, "added", None, e) for e in self._entries[i]]
        e = self._entries[i]
        return Change(e.path, "added", None, e)

    def __iter__(self) -> Iterator[Change]:
        return (Change(e.path, "added", None, e) for e in self._entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


@dataclass
class Diff:
    changes: Sequence[Change] = field(default_factory=list)
    unchanged: int = 0

    def of(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        out = {"added": 0, "removed": 0, "modified": 0, "mode": 0}
        if isinstance(self.changes, AllAdded):
            out["added"] = len(self.changes)
        else:
            for c in self.changes:
                out[c.kind] += 1
        out["unchanged"] = self.unchanged
        return out


def diff_entries(old: Mapping[str, Entry], new: Mapping[str, Entry]) -> Diff:
    """Changes from ``old`` to ``new``, sorted by path. Linear in the number of entries."""
    if not old:
        return Diff(AllAdded(sorted(new.values(), key=attrgetter("path"))))
    changes: list[Change] = []
    unchanged = 0
    for path, b in new.items():
        a = old.get(path)
        if a is None:
            changes.append(Change(path, "added", None, b))
        elif a.hash != b.hash or a.size != b.size or a.link != b.link:
            changes.append(Change(path, "modified", a, b))
        elif a.mode != b.mode and a.link is None:
            changes.append(Change(path, "mode", a, b))
        else:
            unchanged += 1
    for path, a in old.items():
        if path not in new:
            changes.append(Change(path, "removed", a, None))
    changes.sort(key=attrgetter("path"))
    return Diff(changes, unchanged)
