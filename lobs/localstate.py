"""The working tree of a workspace as manifest entries, hashed through the index."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from lobs.index import Index, hash_files, split_known
from lobs.model import Entry, Manifest
from lobs.progress import Progress
from lobs.scan import LocalFile, ScanResult, pack_stat, scan
from lobs.workspace import Workspace


@dataclass
class LocalState:
    files: Mapping[str, LocalFile]  # the same paths as entries
    entries: dict[str, Entry]  # stored is None (not stored anywhere yet), unless read with a prior
    index: Index
    skipped: list[str]

    @staticmethod
    def empty() -> LocalState:
        """A directory that does not exist yet."""
        return LocalState({}, {}, Index(None), [])


class LocalFiles(Mapping[str, LocalFile]):
    """The scanned files by path, made on lookup from the entries and the index rows
    (every hashed file's row starts with its stat key as scanned): a million files are
    not held as both a LocalFile and an Entry. Links have no row and are kept as scanned.

    A file whose row is gone reads as empty with no times: it never looks unchanged.
    """

    def __init__(self, entries: Mapping[str, Entry], index: Index, links: Mapping[str, LocalFile]) -> None:
        self._entries, self._index, self._links = entries, index, links

    def __getitem__(self, path: str) -> LocalFile:
        e = self._entries[path]
        if e.link is not None:
            return self._links[path]
        return LocalFile(path, self._index.stat_key(path) or _NO_STAT, e.mode)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


_NO_STAT = pack_stat(0, 0, 0, 0)


def scan_workspace(ws: Workspace, progress: Progress) -> ScanResult:
    """List the workspace's files (no hashing). Raises NotFoundError, UnsupportedError."""
    progress.phase("scan")
    res = scan(ws.root, ws.rules)
    for s in res.skipped:
        progress.warn(s)
    return res


def read_local(
    ws: Workspace,
    progress: Progress,
    jobs: int = 0,
    *,
    algo: str | None = None,
    save_index: bool = True,
    scanned: ScanResult | None = None,
    index: Index | None = None,
    prior: Mapping[str, Entry] | None = None,
) -> LocalState:
    """Scan (unless ``scanned`` is given) and hash the workspace (only what the index does not know).

    Raises NotFoundError if the directory is missing, UnsupportedError for names
    that cannot round-trip. ``scanned`` is consumed: its ``files`` list is emptied.
    ``prior`` (say, the last synced manifest by path): hash strings equal to its are
    shared (see :func:`~lobs.index.split_known`), and a file exactly as in ``prior`` is
    given ``prior``'s entry itself, whose ``stored`` may be set: for reading (status),
    not for pushing.
    """
    res = scanned if scanned is not None else scan_workspace(ws, progress)
    algo = algo or ws.hash_algo
    index = index if index is not None else Index(ws.index_path)
    hashes, todo = split_known(res.files, index, algo, prior)
    progress.phase("hash", len(todo), sum(f.size for f in todo))
    hashes.update(hash_files(ws.root, todo, index, algo, jobs=jobs, on_hashed=lambda f, n: progress.advance(1, n), prior=prior))
    index.forget_missing(hashes)  # (files that vanished while being hashed are gone too)
    if save_index:
        index.save()
    entries: dict[str, Entry] = {}
    links: dict[str, LocalFile] = {}
    scanned_files, res.files = res.files, []  # consumed: each LocalFile is let go as its entry is made
    scanned_files.reverse()
    same = prior.get if prior else None
    while scanned_files:
        f = scanned_files.pop()
        h = hashes.get(f.path)
        if h is not None:
            size = f.size
            p = same(f.path) if same else None
            if p is not None and p.hash is h and p.size == size and p.mode == f.mode and p.link == f.link:
                entries[f.path] = p  # unchanged: prior's entry itself (not a second object per file)
            else:
                entries[f.path] = Entry(f.path, size, f.mode, h, None, f.link)
            if f.link is not None:
                links[f.path] = f
    return LocalState(LocalFiles(entries, index, links), entries, index, res.skipped)


def mark_synced(local: LocalState, snap_id: str, manifest: Manifest, by_path: Mapping[str, Entry] | None = None) -> None:
    """After a push or pull (or a clean status): the tree is ``snap_id``; remember it in the
    index. ``by_path`` is the manifest's entries by path, where the caller has them already
    (a million-entry dict is not built twice)."""
    local.index.mark_synced(snap_id, manifest.hash, manifest.by_path() if by_path is None else by_path, local.files)
    local.index.save()
