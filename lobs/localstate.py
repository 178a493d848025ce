"""The working tree of a workspace as manifest entries, hashed through the index."""

from __future__ import annotations

from dataclasses import dataclass

from lobs.index import Index, resolve_hashes
from lobs.model import Entry
from lobs.progress import Progress
from lobs.scan import LocalFile, scan
from lobs.workspace import Workspace


@dataclass
class LocalState:
    files: dict[str, LocalFile]
    entries: dict[str, Entry]  # stored is None: not stored anywhere yet
    index: Index
    skipped: list[str]


def read_local(
    ws: Workspace, progress: Progress, jobs: int = 0, *, algo: str | None = None, save_index: bool = True
) -> LocalState:
    """Scan and hash the workspace (only what the index does not know).

    Raises NotFoundError if the directory is missing, UnsupportedError for names
    that cannot round-trip.
    """
    progress.phase("scan")
    res = scan(ws.root, ws.rules)
    for s in res.skipped:
        progress.warn(s)
    algo = algo or ws.hash_algo
    index = Index(ws.index_path)
    files = res.by_path()
    todo_bytes = sum(f.size for f in res.files if f.link is None and index.lookup(f, algo) is None)
    progress.phase("hash", len(res.files), todo_bytes)
    hashes = resolve_hashes(
        ws.root, res.files, index, algo, jobs=jobs, on_hashed=lambda f, n: progress.advance(1, n)
    )
    index.forget_missing(files.keys())
    if save_index:
        index.save()
    entries = {
        p: Entry(path=p, size=f.size, mode=f.mode, hash=hashes[p], stored=None, link=f.link)
        for p, f in files.items()
        if p in hashes
    }
    files = {p: f for p, f in files.items() if p in hashes}
    return LocalState(files=files, entries=entries, index=index, skipped=res.skipped)
