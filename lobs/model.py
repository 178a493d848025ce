"""The data model: entries, manifests and how an object is stored. Pure, no I/O.

Entries are plain slotted dataclasses (not frozen: a frozen dataclass costs twice the
time to build, which shows at a million entries); treat them as immutable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MANIFEST_FORMAT = "lobs.manifest/1"
PACKED_FORMAT = "lobs.manifest/2"  # written when an entry lies in a pack; /1 never names one
MANIFEST_FORMATS = (MANIFEST_FORMAT, PACKED_FORMAT)
HASHES = ("sha256", "xxh128")
CODECS = ("none", "zstd")


@dataclass(slots=True)
class Stored:
    """How an entry's content is stored on a remote: codec and stored size, and for a
    small file sent in a pack, the pack's id and where in it the bytes start."""

    codec: str  # "none" | "zstd"
    size: int
    zdict: str | None = None  # "dict" in JSON: a zstd dictionary id (reserved)
    pack: str | None = None  # 32 hex digits: the bytes are packs/<pack>[offset:offset + size]
    offset: int = 0

    def to_json(self) -> dict[str, object]:
        if self.pack is not None:
            return {"codec": self.codec, "size": self.size, "dict": self.zdict, "pack": self.pack, "offset": self.offset}
        return {"codec": self.codec, "size": self.size, "dict": self.zdict}


@dataclass(slots=True)
class Entry:
    """One file (or symlink) of a target.

    ``hash`` is the hash of the uncompressed bytes (for a link: of its target
    string). ``link`` is the link target for symlinks, else None; links have no
    stored object (``stored`` None).
    """

    path: str
    size: int
    mode: int
    hash: str
    stored: Stored | None = None
    link: str | None = None

    @property
    def is_link(self) -> bool:
        return self.link is not None

    def same_content(self, other: Entry) -> bool:
        return self.hash == other.hash and self.link == other.link and self.size == other.size

    def to_json(self) -> dict[str, object]:
        d: dict[str, object] = {
            "path": self.path,
            "size": self.size,
            "mode": self.mode,
            "hash": self.hash,
            "stored": self.stored.to_json() if self.stored else None,
        }
        if self.link is not None:
            d["link"] = self.link
        return d


@dataclass
class Manifest:
    """All entries of a target at one moment. ``entries`` is kept sorted by path."""

    target: str
    hash: str = "sha256"
    parent: str | None = None
    created: str | None = None
    message: str | None = None
    entries: list[Entry] = field(default_factory=list)

    def by_path(self) -> dict[str, Entry]:
        return {e.path: e for e in self.entries}

    @property
    def total_size(self) -> int:
        return sum(e.size for e in self.entries)

    @property
    def stored_size(self) -> int:
        return sum(e.stored.size for e in self.entries if e.stored)

    def same_tree(self, other: Manifest) -> bool:
        """True when both list the same paths with the same content and modes."""
        if len(self.entries) != len(other.entries):
            return False
        return all(
            a.path == b.path and a.same_content(b) and a.mode == b.mode
            for a, b in zip(self.entries, other.entries)
        )
