"""``lobs import``: archive in, verified folder out.

Order of work: check the destination (refuse a non-empty one without
``force``), extract into a staging folder beside it while verifying every
member, move into place only when the whole archive checked out, then
optionally register the folder as a target (``track``). The staging folder is
removed whatever happens.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lobs import api
from lobs.archive import DEFAULT_MAX_SIZE
from lobs.archive.importer import Extracted, extract
from lobs.archive.place import check_destination, place
from lobs.archive.track import track_import
from lobs.errors import NotFoundError, UsageError

SUFFIXES = (".tar.zst", ".tar.zstd", ".tzst", ".tar")


@dataclass
class ImportResult:
    dest: Path
    extracted: Extracted
    verified: bool
    target: str | None = None

    @property
    def files(self) -> int:
        return sum(1 for i in self.extracted.items if i.kind != "dir")


def default_dest(src: str) -> str:
    """``data.tar.zst`` -> ``data``. Raises UsageError for stdin."""
    if src == "-":
        raise UsageError("importing from stdin needs a destination", "lobs import - -o DIR")
    name = os.path.basename(src)
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name + ".d"


@contextmanager
def _input(src: str, cwd: Path) -> Iterator[IO[bytes]]:
    if src == "-":
        yield sys.stdin.buffer
        return
    path = cwd / src
    if not path.is_file():
        raise NotFoundError(f"{src}: no such file", "check the archive's path")
    with open(path, "rb") as f:
        yield f


def import_archive(
    ctx: api.Context,
    src: str,
    dest: str | None = None,
    *,
    force: bool = False,
    track: bool = False,
    remote: str | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
) -> ImportResult:
    """Import ``src`` (a path or ``-``) into ``dest``.

    Raises ConflictError (non-empty destination without ``force``, or a file or
    folder in the way), IntegrityError (anything wrong with the archive; the
    destination is untouched), NotFoundError (no such file), UsageError,
    UnsupportedError (a name the file system cannot hold), ConfigError (``track``
    outside a project).
    """
    target = Path(os.path.abspath(ctx.cwd / (dest or default_dest(src))))
    if track:
        ctx.config()  # fail early when there is no project
    empty = check_destination(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".lobs-staging-import-{target.name[:40]}-", dir=target.parent))
    try:
        with _input(src, ctx.cwd) as raw:
            got = extract(raw, staging, max_size=max_size, progress=ctx.progress)
        empty = check_destination(target, force)  # again: it may have changed meanwhile
        place(staging, target, got.items, empty=empty)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result = ImportResult(target, got, got.manifest is not None)
    if track:
        if got.manifest is None:
            ctx.progress.warn("not tracked: --track needs a lobs archive (this one has no manifest)")
            return result
        result.target = track_import(ctx, target, got.manifest, remote)
    return result
