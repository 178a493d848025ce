"""Stream an archive into a staging folder, checking every member as it arrives.

The archive is hostile input. A lobs archive's first member is its manifest:
every later member must be listed there with the same kind, size, mode, link
target and hash, and every entry must appear exactly once. A plain tar (no
manifest) is accepted with a warning that nothing could be verified, under a
hard size cap. Refused in both cases, with IntegrityError: unsafe names
(absolute, ``..``, NUL), reserved ``.lobs/`` names, duplicates, hard links,
devices, FIFOs, sparse files, links that leave the folder, members below a
file or link, truncation, corrupt compression, trailing data, and more bytes
than declared. Nothing here touches the destination: see :mod:`lobs.archive.place`.
"""

from __future__ import annotations

import errno
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lobs import manifest as mf
from lobs.archive import tarfmt
from lobs.errors import IntegrityError, UnsupportedError
from lobs.hashing import CHUNK, hash_bytes, new_hasher
from lobs.links import link_escape
from lobs.model import Entry, Manifest
from lobs.progress import Progress
from lobs.pull import safe_parent

HINT = tarfmt.CORRUPT_HINT
READ_SLACK = 4 << 20  # read-ahead of the tar reader beyond the last member
KIND_BY_TYPE = {
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.CONTTYPE: "a contiguous file",
}


@dataclass
class Item:
    path: str
    kind: str  # file | link | dir
    mode: int = 0
    link: str | None = None


@dataclass
class Extracted:
    manifest: Manifest | None
    items: list[Item] = field(default_factory=list)
    compressed: bool = False


def overhead(m: Manifest) -> int:
    """Most tar bytes the archive of ``m`` can need besides file contents."""
    per = sum(4096 + 2 * (len(e.path.encode()) + len((e.link or "").encode())) for e in m.entries)
    return per + 64 * 1024


def extract(raw: IO[bytes], staging: Path, *, max_size: int, progress: Progress) -> Extracted:
    """Read the archive from ``raw`` into ``staging`` (an empty folder).

    Raises IntegrityError for anything malformed or hostile (see the module
    docstring), UnsupportedError for names this file system cannot hold.
    """
    decoded, compressed = tarfmt.open_decoded(raw)
    capped = tarfmt.CappedReader(decoded, max_size, "the limit for archives without a manifest")
    try:
        with tarfile.open(
            fileobj=capped,  # type: ignore[call-overload]
            mode="r|",
            tarinfo=tarfmt.SafeTarInfo,
            bufsize=1 << 20,
            encoding="utf-8",
            errors="surrogateescape",
        ) as tar:
            return _Reader(tar, capped, staging, progress, compressed).run()
    except (tarfile.TarError, EOFError) as e:
        raise IntegrityError(f"not a valid tar archive ({e})", HINT) from e
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise UnsupportedError(f"a name in the archive is too long for this file system ({e.filename})") from e
        raise


class _Reader:
    def __init__(self, tar: tarfile.TarFile, capped: tarfmt.CappedReader, staging: Path, progress: Progress, compressed: bool) -> None:
        self.tar, self.capped, self.staging, self.progress = tar, capped, staging, progress
        self.out = Extracted(None, compressed=compressed)
        self.expect: dict[str, Entry] = {}
        self.manifest_dirs: set[str] = set()
        self.seen: set[str] = set()
        self.leaves: set[str] = set()  # files and links
        self.dirs: set[str] = set()
        self.links: dict[str, str] = {}

    def run(self) -> Extracted:
        first = self.tar.next()
        if first is None:
            raise IntegrityError("the archive is empty", HINT)
        if first.name == tarfmt.MANIFEST_NAME and first.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
            self._read_manifest(first)
            member = self.tar.next()
        else:
            self.progress.warn("this archive has no lobs manifest: nothing could be verified")
            member = first
        algo = self.out.manifest.hash if self.out.manifest else "sha256"
        while member is not None:
            self._member(member, algo)
            self.tar.members.clear()  # type: ignore[attr-defined]
            member = self.tar.next()
        self._finish()
        return self.out

    def _read_manifest(self, ti: tarfile.TarInfo) -> None:
        if ti.size > mf.MAX_MANIFEST_BYTES:
            raise IntegrityError(f"the archive's manifest is too large ({ti.size} bytes)", HINT)
        f = self.tar.extractfile(ti)
        assert f is not None
        data = f.read()
        m = mf.decode(data, source="archive manifest")
        for e in m.entries:
            if e.path.startswith(tarfmt.RESERVED_PREFIX):
                raise IntegrityError(f"archive manifest lists the reserved path {e.path!r}", HINT)
            if e.link is not None:
                why = link_escape(e.path, e.link, {x.path: x.link for x in m.entries if x.link is not None})
                if why:
                    raise IntegrityError(f"archive manifest: link {e.path!r} {why}", HINT)
            parts = e.path.split("/")
            self.manifest_dirs.update("/".join(parts[:k]) for k in range(1, len(parts)))
        self.out.manifest = m
        self.expect = m.by_path()
        self.capped.cap = self.capped.count + m.total_size + overhead(m) + READ_SLACK
        self.capped.what = "more than its manifest declares"
        self.progress.phase("import", len(m.entries), m.total_size)

    def _name(self, ti: tarfile.TarInfo) -> str | None:
        name = ti.name
        if self.out.manifest is None:
            while name.startswith("./"):
                name = name[2:]
            if name in ("", ".") and ti.type == tarfile.DIRTYPE:
                return None
        why = mf.check_path(name)
        if why:
            raise IntegrityError(f"archive member {name!r} has an unsafe name: it {why}", HINT)
        if name.startswith(tarfmt.RESERVED_PREFIX) or name == ".lobs":
            raise IntegrityError(f"archive member {name!r} uses the reserved .lobs/ folder", HINT)
        if name in self.seen:
            raise IntegrityError(f"archive member {name!r} appears twice", HINT)
        return name

    def _member(self, ti: tarfile.TarInfo, algo: str) -> None:
        name = self._name(ti)
        if name is None:
            return
        if ti.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
            kind = "file"
        elif ti.type == tarfile.SYMTYPE:
            kind = "link"
        elif ti.type == tarfile.DIRTYPE:
            kind = "dir"
        else:
            what = KIND_BY_TYPE.get(ti.type, f"an unsupported member type {ti.type!r}")
            raise IntegrityError(f"archive member {name!r} is {what}, which lobs refuses to import", HINT)
        self.seen.add(name)
        self._check_tree(name, kind)
        if self.out.manifest is not None:
            self._check_against_manifest(ti, name, kind, algo)
        if kind == "dir":
            safe_parent(self.staging, name + "/x")
            self.dirs.add(name)
            self.out.items.append(Item(name, "dir"))
        elif kind == "link":
            if self.out.manifest is None:
                why = link_escape(name, ti.linkname, {**self.links, name: ti.linkname})
                if why:
                    raise IntegrityError(f"archive member {name!r}: link {why}", HINT)
            os.symlink(ti.linkname, safe_parent(self.staging, name) / name.rsplit("/", 1)[-1])
            self.links[name] = ti.linkname
            self.leaves.add(name)
            self.out.items.append(Item(name, "link", 0o777, ti.linkname))
        else:
            self._write_file(ti, name, algo)
        self.progress.advance(1, 0)

    def _check_tree(self, name: str, kind: str) -> None:
        parts = name.split("/")
        for k in range(1, len(parts)):
            prefix = "/".join(parts[:k])
            if prefix in self.leaves:
                raise IntegrityError(f"archive member {name!r} lies below the file or link {prefix!r}", HINT)
            self.dirs.add(prefix)
        if kind != "dir" and name in self.dirs:
            raise IntegrityError(f"archive member {name!r} would replace a folder of the archive", HINT)

    def _check_against_manifest(self, ti: tarfile.TarInfo, name: str, kind: str, algo: str) -> None:
        if kind == "dir":
            if name not in self.manifest_dirs:
                raise IntegrityError(f"archive member {name!r}/ is not in the manifest", HINT)
            return
        e = self.expect.get(name)
        if e is None:
            raise IntegrityError(f"archive member {name!r} is not in the manifest", HINT)
        if (kind == "link") != (e.link is not None):
            raise IntegrityError(f"archive member {name!r} is a {kind}, the manifest says otherwise", HINT)
        if kind == "link":
            target = ti.linkname
            if target != e.link or hash_bytes(algo, target.encode("utf-8", "surrogateescape")) != e.hash:
                raise IntegrityError(f"link {name!r} does not match the manifest", HINT)
            return
        if ti.size != e.size:
            raise IntegrityError(f"{name!r} is {ti.size} bytes in the archive, {e.size} in the manifest", HINT)
        if ti.mode & 0o7777 != e.mode:
            raise IntegrityError(f"{name!r} has mode {ti.mode & 0o7777:o} in the archive, {e.mode:o} in the manifest", HINT)

    def _write_file(self, ti: tarfile.TarInfo, name: str, algo: str) -> None:
        parent = safe_parent(self.staging, name)
        dest = parent / name.rsplit("/", 1)[-1]
        src = self.tar.extractfile(ti)
        assert src is not None
        h = new_hasher(algo)
        n = 0
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
                n += len(chunk)
                self.progress.advance(0, len(chunk))
        if n != ti.size:
            raise IntegrityError(f"archive is truncated inside {name!r}", HINT)
        e = self.expect.get(name)
        if e is not None and h.hexdigest() != e.hash:
            raise IntegrityError(f"{name!r}: content does not match the manifest's hash", HINT)
        mode = ti.mode & 0o7777
        if mode & 0o7000:
            self.progress.warn(f"{name}: setuid/setgid/sticky bits dropped")
        os.chmod(dest, mode & 0o777)
        if 0 <= ti.mtime < 1 << 40:
            os.utime(dest, (ti.mtime, ti.mtime))
        self.leaves.add(name)
        self.out.items.append(Item(name, "file", mode))
        self.progress.item("import", name, n)

    def _finish(self) -> None:
        missing = sorted(set(self.expect) - self.seen)
        if missing:
            shown = ", ".join(repr(p) for p in missing[:5])
            raise IntegrityError(f"{len(missing)} manifest entries are missing from the archive: {shown}", HINT)
        if self.out.manifest is None:
            for path, target in self.links.items():
                why = link_escape(path, target, self.links)
                if why:
                    raise IntegrityError(f"archive member {path!r}: link {why}", HINT)
        rest: Any = self.tar.fileobj
        while chunk := rest.read(CHUNK):
            if chunk.count(0) != len(chunk):
                raise IntegrityError("the archive has data after its end marker", HINT)
