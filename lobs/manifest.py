"""Canonical JSON for manifests, snapshot ids, and validation of untrusted input.

``encode`` gives the canonical bytes (sorted keys, entries sorted by path, UTF-8,
compact separators, a trailing newline); the snapshot id is the sha256 of those
bytes. ``decode`` treats its input as hostile: it checks the format, every field's
type, and every path (relative, POSIX, no ``..``, no NUL/newline, no duplicates,
no entry below a symlink entry) and raises IntegrityError before anything uses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

import zstandard

from lobs.errors import IntegrityError
from lobs.model import (
    CODECS,
    HASHES,
    MANIFEST_FORMAT,
    MANIFEST_FORMATS,
    PACKED_FORMAT,
    Entry,
    Manifest,
    Stored,
)

HEX_LEN = {"sha256": 64, "xxh128": 32}
MAX_MANIFEST_BYTES = 2 << 30  # a manifest larger than this is refused as hostile
PACKED_MAX = 4 << 20  # a packed entry is no bigger than this, stored or decoded (push packs far smaller files)
_PACK_ID = re.compile(r"[0-9a-f]{32}")


def encode(m: Manifest) -> bytes:
    """The canonical bytes."""
    return b"".join(encode_chunks(m))


def encode_chunks(m: Manifest, batch: int = 4096) -> Iterator[bytes]:
    """The canonical bytes in pieces of ``batch`` entries (never a million dicts or strings
    at once); joined, they are :func:`encode`'s bytes."""
    entries = sorted(m.entries, key=lambda e: e.path.encode("utf-8"))
    dumps = _CANONICAL.encode
    # keys sorted: created, entries, format, hash, message, parent, target
    head = dumps({"created": m.created})[:-1] + ',"entries":['
    fmt = PACKED_FORMAT if any(e.stored is not None and e.stored.pack is not None for e in entries) else MANIFEST_FORMAT
    tail = "]," + dumps({"format": fmt, "hash": m.hash, "message": m.message, "parent": m.parent, "target": m.target})[1:] + "\n"
    yield head.encode("utf-8")
    for start in range(0, len(entries), batch):
        text = ",".join([_entry_json(e) for e in entries[start : start + batch]])
        yield (text if start == 0 else "," + text).encode("utf-8")
    yield tail.encode("utf-8")


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_str = json.encoder.encode_basestring  # JSON string, non-ASCII kept (as ensure_ascii=False)


def _entry_json(e: Entry) -> str:
    """``_CANONICAL.encode(e.to_json())``, written out (keys in sorted order) for speed."""
    if type(e.size) is not int or type(e.mode) is not int or type(e.hash) is not str:
        return _CANONICAL.encode(e.to_json())  # not what lobs builds: the general path
    st = e.stored
    if st is None:
        stored = "null"
    elif type(st.size) is int and type(st.codec) is str and (st.zdict is None or type(st.zdict) is str) and (
            st.pack is None or (type(st.pack) is str and type(st.offset) is int)):
        where = "" if st.pack is None else f',"offset":{st.offset},"pack":{_str(st.pack)}'
        stored = f'{{"codec":{_str(st.codec)},"dict":{"null" if st.zdict is None else _str(st.zdict)}{where},"size":{st.size}}}'
    else:
        return _CANONICAL.encode(e.to_json())
    link = "" if e.link is None else f',"link":{_str(e.link)}'
    return f'{{"hash":{_str(e.hash)}{link},"mode":{e.mode},"path":{_str(e.path)},"size":{e.size},"stored":{stored}}}'


def pack(m: Manifest, level: int = 9) -> tuple[str, bytes]:
    """(snapshot id, zstd-compressed canonical bytes), streamed: the uncompressed JSON is
    never whole in memory."""
    h = hashlib.sha256()
    z = zstandard.ZstdCompressor(level=level).compressobj()
    out = bytearray()
    for chunk in encode_chunks(m):
        h.update(chunk)
        out += z.compress(chunk)
    out += z.flush()
    return h.hexdigest(), bytes(out)


def snapshot_id(data: bytes | bytearray) -> str:
    return hashlib.sha256(data).hexdigest()


def is_snapshot_id(text: str) -> bool:
    """Exactly 64 lowercase hex digits (nothing around them: an id names files and keys)."""
    return _HEX[64].fullmatch(text) is not None


def decode(data: bytes | bytearray, *, source: str = "manifest", trusted: bool = False) -> Manifest:
    """Parse and validate manifest bytes. Raises IntegrityError naming ``source``.

    Each entry is checked and made an :class:`Entry` as soon as the parser has read it
    (:class:`_EntryMaker`): a million entries never exist as a million dicts at once.
    ``trusted`` skips the checks across entries (duplicates, entries below others) and the
    sort: only for manifests lobs wrote itself and has verified against their id (the
    local cache), never for remote input.
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise IntegrityError(f"{source}: manifest is too large ({len(data)} bytes)")
    return decode_text(text_of(data, source), source=source, trusted=trusted)


def text_of(data: bytes | bytearray, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise IntegrityError(f"{source}: not a valid manifest ({e})", "the remote or archive may be corrupt") from e


def decode_text(text: str, *, source: str = "manifest", trusted: bool = False) -> Manifest:
    """:func:`decode` of text already decoded from UTF-8 (the caller may let the bytes go first)."""
    try:
        doc = json.loads(text, object_pairs_hook=_EntryMaker(_complaint(source)))
    except json.JSONDecodeError as e:
        raise IntegrityError(f"{source}: not a valid manifest ({e})", "the remote or archive may be corrupt") from e
    return from_doc(doc, source=source, trusted=trusted)


def _complaint(source: str) -> Any:
    def bad(msg: str) -> IntegrityError:
        return IntegrityError(f"{source}: {msg}", "refusing to use a corrupt or malicious manifest")

    return bad


class _EntryMaker:
    """``object_pairs_hook`` of the parse: an object with a ``path`` and a ``hash`` is an
    entry, checked (:func:`_entry`, all but the hash's length, which needs the manifest's
    algorithm) and returned as an :class:`Entry`; any other object is a dict. An entry met
    anywhere else than in ``entries`` is then not of the type that place wants, and refused."""

    def __init__(self, bad: Any) -> None:
        self.bad, self.count = bad, 0

    def __call__(self, pairs: list[tuple[str, Any]]) -> Any:
        obj = dict(pairs)  # (a repeated key: the last wins, as in a plain parse)
        if "path" in obj and "hash" in obj:
            self.count += 1
            return _entry(obj, None, self.bad, self.count - 1)
        return obj


def from_doc(doc: Any, *, source: str, trusted: bool = False) -> Manifest:
    """A Manifest from a parsed document, whose entries may be dicts or already-checked
    :class:`Entry` objects (:func:`decode`). Raises IntegrityError."""
    bad = _complaint(source)
    if not isinstance(doc, dict):
        raise bad("not a JSON object")
    fmt = doc.get("format")
    if fmt not in MANIFEST_FORMATS:
        raise bad(f"unknown format {fmt!r} (this lobs reads {' and '.join(MANIFEST_FORMATS)})")
    algo = doc.get("hash")
    if algo not in HASHES:
        raise bad(f"unknown hash {algo!r}")
    for key in ("parent", "created", "message"):
        if doc.get(key) is not None and not isinstance(doc.get(key), str):
            raise bad(f"{key} must be a string or null")
    target = doc.get("target")
    if not isinstance(target, str):
        raise bad("target must be a string")
    raw_entries = doc.get("entries")
    if not isinstance(raw_entries, list):
        raise bad("entries must be a list")
    entries: list[Entry] = []
    hex_len = HEX_LEN[algo]
    for i, raw in enumerate(raw_entries):
        if isinstance(raw, Entry):
            if len(raw.hash) != hex_len:
                raise bad(f"{raw.path!r}: hash must be {hex_len} lowercase hex digits")
            entries.append(raw)
        else:
            entries.append(_entry(raw, algo, bad, i))
    if fmt == MANIFEST_FORMAT and any(e.stored is not None and e.stored.pack is not None for e in entries):
        raise bad(f"a {MANIFEST_FORMAT} manifest names a pack (packs came with {PACKED_FORMAT})")
    if not trusted:
        _check_tree(entries, bad)
        entries.sort(key=lambda e: e.path.encode("utf-8"))
    return Manifest(
        target=target,
        hash=algo,
        parent=doc.get("parent"),
        created=doc.get("created"),
        message=doc.get("message"),
        entries=entries,
    )


def _check_tree(entries: list[Entry], bad: Any) -> None:
    """No two entries with one path; nothing below a symlink or below a file (writing it
    would go through the link)."""
    seen: set[str] = set()
    links: set[str] = set()
    for e in entries:
        if e.path in seen:
            raise bad(f"duplicate path {e.path!r}")
        seen.add(e.path)
        if e.is_link:
            links.add(e.path)
    for e in entries:
        parts = e.path.split("/")
        for k in range(1, len(parts)):
            prefix = "/".join(parts[:k])
            if prefix in seen:
                kind = "symlink" if prefix in links else "file"
                raise bad(f"path {e.path!r} lies below the {kind} {prefix!r}")


def check_path(path: object) -> str | None:
    """Return why ``path`` is not a safe relative manifest path, or None if it is."""
    if not isinstance(path, str) or not path:
        return "empty or not a string"
    if "\x00" in path or "\n" in path or "\r" in path:
        return "contains NUL or a line break"
    if path.startswith("/") or (os.name == "nt" and len(path) > 1 and path[1] == ":" and path[0].isalpha()):
        return "is absolute"  # "c:x" is a drive path only on Windows; on POSIX an ordinary name
    if os.sep == "\\" and "\\" in path:
        # A separator on Windows (``..\\x`` would escape); an ordinary character on POSIX.
        return "contains a backslash, a path separator on this system"
    if _BAD_COMPONENT.search(path):
        for part in path.split("/"):
            if part in ("", ".", ".."):
                return f"has a {part!r} component" if part else "has an empty component"
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    return None


# An empty, "." or ".." component: at the start, between slashes, or at the end.
_BAD_COMPONENT = re.compile(r"(?:^|/)(?:\.{1,2})?(?:/|$)")
_HEX = {64: re.compile(r"[0-9a-f]{64}"), 32: re.compile(r"[0-9a-f]{32}"), 0: re.compile(r"[0-9a-f]{32}|[0-9a-f]{64}")}


def _entry(raw: Any, algo: str | None, bad: Any, i: int) -> Entry:
    """Check one entry object (``algo`` None: a hash of either length, checked later)."""
    if not isinstance(raw, dict):
        raise bad(f"entry {i} is not an object")
    path = raw.get("path")
    why = check_path(path)
    if why:
        raise bad(f"entry {i}: path {path!r} {why}")
    assert isinstance(path, str)
    size, mode, digest = raw.get("size"), raw.get("mode"), raw.get("hash")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise bad(f"{path!r}: size must be a non-negative integer")
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o7777:
        raise bad(f"{path!r}: mode must be permission bits")
    if not isinstance(digest, str) or not _HEX[HEX_LEN[algo] if algo else 0].fullmatch(digest):
        raise bad(f"{path!r}: hash must be {HEX_LEN[algo] if algo else '32 or 64'} lowercase hex digits")
    link = raw.get("link")
    if link is not None and (not isinstance(link, str) or not link or "\x00" in link):
        raise bad(f"{path!r}: link target must be a non-empty string")
    stored_raw = raw.get("stored")
    stored: Stored | None = None
    if stored_raw is not None:
        if not isinstance(stored_raw, dict):
            raise bad(f"{path!r}: stored must be an object")
        codec, ssize, sdict = stored_raw.get("codec"), stored_raw.get("size"), stored_raw.get("dict")
        if codec not in CODECS:
            raise bad(f"{path!r}: unknown codec {codec!r}")
        if not isinstance(ssize, int) or isinstance(ssize, bool) or ssize < 0:
            raise bad(f"{path!r}: stored size must be a non-negative integer")
        if sdict is not None:
            raise bad(f"{path!r}: zstd dictionaries are not supported by this version")
        pack, offset = stored_raw.get("pack"), stored_raw.get("offset", 0)
        if pack is not None:
            if not isinstance(pack, str) or not _PACK_ID.fullmatch(pack):
                raise bad(f"{path!r}: pack must be 32 lowercase hex digits")
            if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < 1 << 48:
                raise bad(f"{path!r}: offset must be a non-negative integer below 2**48")
            if ssize > PACKED_MAX or size > PACKED_MAX:
                raise bad(f"{path!r}: a packed file may not be larger than {PACKED_MAX} bytes")
        elif "offset" in stored_raw:
            raise bad(f"{path!r}: an offset needs a pack")
        stored = Stored(codec=codec, size=ssize, zdict=None, pack=None if pack is None else sys.intern(pack), offset=offset)
    elif link is None:
        raise bad(f"{path!r}: a file entry needs 'stored'")
    return Entry(path=path, size=size, mode=mode & 0o7777, hash=digest, stored=stored, link=link)

