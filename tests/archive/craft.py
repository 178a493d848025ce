"""Build tar and tar.zst archives member by member, including malformed and hostile ones.

A test lists members (files, links, anything) and an optional manifest; this
module writes the bytes with Python's tarfile so that each archive is exactly
as broken as the test wants and no more.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Any

import zstandard

MANIFEST = ".lobs/manifest.json"


@dataclass
class M:
    """One member: ``kind`` is file, link, dir, hardlink, fifo, chr, blk."""

    name: str
    data: bytes = b""
    kind: str = "file"
    mode: int = 0o644
    link: str = ""
    size: int | None = None  # header size override (a lying header)


@dataclass
class Arch:
    members: list[M] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    manifest_first: bool = True


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_for(members: list[M], **over: Any) -> dict[str, Any]:
    """A correct manifest for the file and link members."""
    entries = []
    for m in members:
        if m.kind == "file":
            entries.append({"path": m.name, "size": len(m.data), "mode": m.mode, "hash": sha(m.data),
                            "stored": {"codec": "none", "size": len(m.data), "dict": None}})
        elif m.kind == "link":
            entries.append({"path": m.name, "size": len(m.link.encode()), "mode": 0o777,
                            "hash": sha(m.link.encode()), "stored": None, "link": m.link})
    doc = {"format": "lobs.manifest/1", "hash": "sha256", "parent": None, "created": None,
           "target": "t", "message": None, "entries": entries}
    doc.update(over)
    return doc


def _info(m: M) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(m.name)
    ti.mode = m.mode
    types = {"file": tarfile.REGTYPE, "link": tarfile.SYMTYPE, "dir": tarfile.DIRTYPE, "hardlink": tarfile.LNKTYPE,
             "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE}
    ti.type = types[m.kind]
    ti.linkname = m.link
    ti.size = len(m.data) if m.size is None else m.size
    return ti


def tar_bytes(a: Arch) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        mdata = None
        if a.manifest is not None:
            mdata = json.dumps(a.manifest, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        if mdata is not None and a.manifest_first:
            tar.addfile(_info(M(MANIFEST, mdata)), io.BytesIO(mdata))
        for m in a.members:
            data = m.data
            ti = _info(m)
            if m.kind == "file":
                if ti.size > len(data):
                    data = data + b"\0" * (ti.size - len(data))
                tar.addfile(ti, io.BytesIO(data[: ti.size]))
            else:
                tar.addfile(ti)
        if mdata is not None and not a.manifest_first:
            tar.addfile(_info(M(MANIFEST, mdata)), io.BytesIO(mdata))
    return buf.getvalue()


def zst(data: bytes, level: int = 3) -> bytes:
    return zstandard.ZstdCompressor(level=level, write_checksum=True).compress(data)


def lobs_archive(members: list[M], **over: Any) -> bytes:
    """A well-formed compressed lobs archive of ``members`` (manifest override with ``over``)."""
    return zst(tar_bytes(Arch(members, manifest_for(members, **over))))
