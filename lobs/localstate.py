"""The working tree of a workspace as manifest entries, hashed through the index."""

from __future__ import annotations

from dataclasses import dataclass

from lobs.index import Index, hash_files, split_known
from lobs.model import Entry, Manifest
from lobs.progress import Progress
from lobs.scan import LocalFile, ScanResult, scan
from lobs.workspace import Workspace


@dataclass
class LocalState:
    files: dict[str, LocalFile]
    entries: dict[str, Entry]  # stored is None: not stored anywhere yet
    index: Index
    skipped: list[str]

    @staticmethod
    def empty() -> LocalState:
        """A directory that does not exist yet."""
        return LocalState({}, {}, Index(None), [])


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
) -> LocalState:
    """Scan (unless ``scanned`` is given) and hash the workspace (only what the index does not know).

    Raises NotFoundError if the directory is missing, UnsupportedError for names
    that cannot round-trip.
    """
    res = scanned if scanned is not None else scan_workspace(ws, progress)
    algo = algo or ws.hash_algo
    index = index if index is not None else Index(ws.index_path)
    hashes, todo = split_known(res.files, index, algo)
    progress.phase("hash", len(todo), sum(f.size for f in todo))
    hashes.update(hash_files(ws.root, todo, index, algo, jobs=jobs, on_hashed=lambda f, n: progress.advance(1, n)))
    files = res.by_path()
    index.forget_missing(files.keys())
    if save_index:
        index.save()
    entries: dict[str, Entry] = {}
    for p, f in files.items():
        h = hashes.get(p)
        if h is not None:
            entries[p] = Entry(p, f.size, f.mode, h, None, f.link)
    if len(entries) != len(files):
        files = {p: f for p, f in files.items() if p in entries}
    return LocalState(files=files, entries=entries, index=index, skipped=res.skipped)


def mark_synced(local: LocalState, snap_id: str, manifest: Manifest) -> None:
    """After a push or pull (or a clean status): the tree is ``snap_id``; remember it in the index."""
    local.index.mark_synced(snap_id, manifest.hash, manifest.by_path(), local.files)
    local.index.save()
