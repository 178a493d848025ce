"""Write a lobs archive: a deterministic pax tar, manifest first, optionally zstd-compressed.

Members follow the manifest's order (paths sorted by their UTF-8 bytes); every
member has uid/gid 0, empty user/group names, and the same mtime (the
manifest's ``created``, or 0). Each file is streamed from disk in 1 MiB chunks
and hashed again on the way, so a file that changed since it was hashed fails
the export instead of producing an archive that lies. See docs/archive.md.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import zstandard

from lobs import api
from lobs import manifest as mf
from lobs.archive import tarfmt
from lobs.archive.sources import Source, open_source
from lobs.errors import ConflictError, IntegrityError, UnsupportedError, UsageError
from lobs.fsutil import atomic_writer
from lobs.hashing import CHUNK, new_hasher
from lobs.links import link_escape
from lobs.model import Entry, Manifest
from lobs.progress import Progress

FORMATS = ("tar.zst", "tar")
LONG_WINDOW_LOG = 27  # 128 MiB: within what every zstd decoder accepts by default


@dataclass(frozen=True)
class ExportOptions:
    format: str = "tar.zst"
    level: int = 19
    threads: int = 0  # 0: every core
    long: bool = False


@dataclass
class ExportResult:
    manifest: Manifest
    manifest_id: str  # sha256 of the embedded manifest bytes
    output: str
    bytes_written: int


def member_mtime(m: Manifest) -> int:
    """The mtime of every member: the manifest's ``created`` (UTC), else 0."""
    if not m.created:
        return 0
    try:
        t = dt.datetime.strptime(m.created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return 0
    return max(0, int(t.timestamp()))


def compressor(opts: ExportOptions) -> zstandard.ZstdCompressor:
    """A multi-threaded compressor; output is the same for any thread count >= 1."""
    threads = opts.threads if opts.threads > 0 else (os.cpu_count() or 1)
    if not 1 <= opts.level <= 22:
        raise UsageError(f"--level {opts.level} is out of range", "use 1-22")
    params = zstandard.ZstdCompressionParameters.from_level(
        opts.level,
        threads=threads,
        write_checksum=True,
        enable_ldm=opts.long,
        **({"window_log": LONG_WINDOW_LOG} if opts.long else {}),
    )
    return zstandard.ZstdCompressor(compression_params=params)


class _HashingReader:
    """Reads exactly ``size`` bytes of a file, hashing them; checks the hash at the end."""

    def __init__(self, f: IO[bytes], e: Entry, progress: Progress) -> None:
        self._f, self._e, self._progress = f, e, progress
        self._h = new_hasher("sha256")
        self._left = e.size

    def read(self, n: int = -1) -> bytes:
        want = self._left if n is None or n < 0 else min(n, self._left)
        data = self._f.read(want) if want else b""
        if len(data) < want:
            raise IntegrityError(f"{self._e.path} shrank while it was being exported", "export again")
        self._left -= len(data)
        self._h.update(data)
        self._progress.advance(0, len(data))
        if self._left == 0 and self._h.hexdigest() != self._e.hash:
            raise IntegrityError(f"{self._e.path} changed while it was being exported", "export again")
        return data


def write_archive(src: Source, out: IO[bytes], opts: ExportOptions, progress: Progress) -> str:
    """Stream ``src`` as an archive into ``out``. Returns the manifest id.

    Raises IntegrityError if a file changed since it was hashed, OSError on I/O.
    """
    m = src.manifest
    data = mf.encode(m)
    mtime = member_mtime(m)
    progress.phase("export", len(m.entries), m.total_size)
    zw: Any = None
    sink: Any = out
    if opts.format == "tar.zst":
        zw = compressor(opts).stream_writer(out, closefd=False, write_size=1 << 20)
        sink = zw
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT, bufsize=1 << 20, encoding="utf-8") as tar:
        t: Any = tar
        t.copybufsize = CHUNK
        tar.addfile(tarfmt.manifest_member(len(data), mtime), _BytesReader(data))
        for e in m.entries:
            if e.link is not None:
                tar.addfile(tarfmt.link_member(e.path, e.link, mtime))
            else:
                with open(src.files[e.path], "rb") as f:
                    tar.addfile(tarfmt.file_member(e.path, e.size, e.mode, mtime), _HashingReader(f, e, progress))
            t.members.clear()  # nothing to remember: keep memory flat for big trees
            progress.advance(1, 0)
            progress.item("export", e.path, e.size)
    if zw is not None:
        zw.flush(zstandard.FLUSH_FRAME)
        zw.close()
    return mf.snapshot_id(data)


def refuse_escaping_links(m: Manifest) -> None:
    """Raise UnsupportedError if a link leaves the tree: an import would refuse the archive."""
    links = {e.path: e.link for e in m.entries if e.link is not None}
    bad = [f"{p} -> {t}" for p, t in links.items() if link_escape(p, t, links)]
    if bad:
        raise UnsupportedError(
            f"{len(bad)} symlink(s) point outside the folder: {', '.join(bad[:5])}",
            "an archive may only hold links that stay inside; exclude or fix them",
        )


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)

    def read(self, n: int = -1) -> bytes:
        n = len(self._data) if n is None or n < 0 else n
        out, self._data = bytes(self._data[:n]), self._data[n:]
        return out


class _Counter:
    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.n = out, 0

    def write(self, b: bytes) -> int:
        self.out.write(b)
        self.n += len(b)
        return len(b)

    def flush(self) -> None:
        self.out.flush()


@contextmanager
def _output(dest: str, cwd: Path, force: bool) -> Iterator[tuple[IO[bytes], Path | None]]:
    if dest == "-":
        yield sys.stdout.buffer, None
        return
    path = Path(os.path.abspath(cwd / dest))
    if path.exists() and not force:
        raise ConflictError(f"{dest} already exists", "choose another name, or pass --force to replace it")
    with atomic_writer(path) as f:
        yield f, path


def export_archive(
    ctx: api.Context,
    src: str,
    dest: str,
    opts: ExportOptions,
    *,
    remote_name: str | None = None,
    remote_opts: api.RemoteOptions | None = None,
    force: bool = False,
) -> ExportResult:
    """Export ``src`` to ``dest`` (a path, or ``-`` for stdout), atomically.

    Raises UsageError (bad format/level), ConflictError (``dest`` exists and no
    ``force``), NotFoundError (unknown source), IntegrityError (a remote object is
    damaged or a file changed meanwhile), TransportError, UnsupportedError (names).
    """
    if opts.format not in FORMATS:
        raise UsageError(f"unknown format {opts.format!r}", "use tar.zst or tar")
    if opts.format == "tar.zst":
        compressor(opts)  # validate the level before any work
    skip = None if dest == "-" else Path(os.path.abspath(ctx.cwd / dest))
    work_parent = skip.parent if skip is not None else Path(os.environ.get("TMPDIR", "/tmp"))
    with _output(dest, ctx.cwd, force) as (out, _path):
        source = open_source(
            ctx, src, remote_name=remote_name, opts=remote_opts or api.RemoteOptions(), work_parent=work_parent, skip=skip
        )
        try:
            refuse_escaping_links(source.manifest)
            counter = _Counter(out)
            mid = write_archive(source, counter, opts, ctx.progress)  # type: ignore[arg-type]
            out.flush()
        finally:
            source.close()
    return ExportResult(source.manifest, mid, dest, counter.n)
