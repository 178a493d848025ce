"""A remote as lobs sees it: objects, snapshots and refs arranged by a layout.

``cas``: ``objects/ab/cdef…[.zst]`` (one per distinct content; small files are
sent many to an object, ``objects/packs/<id>``),
``snapshots/<id>.json.zst``, ``refs/<remote_path>.ref`` (``refs/HEAD`` for a
URL used with no project). ``mirror``: files at readable keys
``<remote_path>/<path>[.zst]``, snapshots and the ref under
``<remote_path>/.lobs/``. Snapshots are verified against their id on every read,
and validated as untrusted input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import zstandard

from lobs import manifest as mf
from lobs.errors import IntegrityError, NotFoundError, TransportError
from lobs.model import Entry, Manifest
from lobs.progress import Progress
from lobs.transport.base import RemoteObject, Transfer, Transport

SNAP_SUFFIX = ".json.zst"


@dataclass(frozen=True)
class Layout:
    kind: str  # cas | mirror
    remote_path: str  # "" for a URL used directly

    def key_of(self, entry: Entry) -> str:
        """The key that holds a stored entry's bytes: its own object, or its pack."""
        st = entry.stored
        assert st is not None
        return self.pack_key(st.pack) if st.pack is not None else self.object_key(entry, st.codec)

    @staticmethod
    def pack_key(pack: str) -> str:
        return f"objects/packs/{pack}"

    def object_key(self, entry: Entry, codec: str) -> str:
        suffix = ".zst" if codec == "zstd" else ""
        if self.kind == "cas":
            return f"objects/{entry.hash[:2]}/{entry.hash[2:]}{suffix}"
        return self._under(entry.path) + suffix

    def _under(self, key: str) -> str:
        return f"{self.remote_path}/{key}" if self.remote_path else key

    @property
    def meta(self) -> str:
        return "" if self.kind == "cas" else self._under(".lobs/")

    def snapshot_key(self, snap_id: str) -> str:
        return f"{self.meta}snapshots/{snap_id}{SNAP_SUFFIX}"

    @property
    def snapshots_prefix(self) -> str:
        return f"{self.meta}snapshots/"

    @property
    def ref_key(self) -> str:
        if self.kind == "mirror":
            return self._under(".lobs/ref")
        return f"refs/{self.remote_path}.ref" if self.remote_path else "refs/HEAD"

    @property
    def objects_prefix(self) -> str:
        return "objects/" if self.kind == "cas" else (self._under("") if self.remote_path else "")


class TransferReporter:
    """Turns a transport's per-object events into Progress calls, keys mapped back to paths."""

    def __init__(self, progress: Progress, action: str, paths: Mapping[str, tuple[str, int]]) -> None:
        self._progress, self._action, self._paths = progress, action, paths

    def done(self, transfer: Transfer) -> None:
        if transfer.contents:  # a pack: each file it carries
            for f in transfer.contents:
                self._progress.item(self._action, f.path, f.size)
            self._progress.advance(files=len(transfer.contents))
            return
        path, size = transfer.item or self._paths.get(transfer.key, (transfer.key, transfer.size))
        self._progress.item(self._action, path, size)
        self._progress.advance(files=1)

    def progress(self, nbytes: int) -> None:
        self._progress.advance(nbytes=nbytes)


class Remote:
    """Snapshot and ref I/O on one target of a remote. Raises TransportError/IntegrityError."""

    def __init__(self, transport: Transport, layout: Layout, display: str) -> None:
        self.transport = transport
        self.layout = layout
        self.display = display

    def read_ref(self) -> str | None:
        data = self.transport.read(self.layout.ref_key)
        if data is None:
            return None
        ref = data.decode("ascii", "replace").strip()
        if not mf.is_snapshot_id(ref):
            raise IntegrityError(f"{self.display}: ref {self.layout.ref_key} is corrupt ({ref[:80]!r})")
        return ref

    def prefetch_ref(self) -> None:
        """Hint: :meth:`read_ref` follows (the transport may start the read now)."""
        self.transport.prefetch_read(self.layout.ref_key)

    def write_ref(self, snap_id: str) -> None:
        self.transport.write(self.layout.ref_key, (snap_id + "\n").encode())

    def read_snapshot(self, snap_id: str) -> Manifest:
        """The snapshot, verified against its id. Raises NotFoundError, IntegrityError."""
        return self.read_snapshot_packed(snap_id)[0]

    def read_snapshot_packed(self, snap_id: str) -> tuple[Manifest, bytes]:
        """The snapshot and the bytes it was read from (to keep in a cache), verified."""
        if not mf.is_snapshot_id(snap_id):
            raise NotFoundError(f"{snap_id!r} is not a snapshot id")
        packed = self.transport.read(self.layout.snapshot_key(snap_id))
        if packed is None:
            raise NotFoundError(f"snapshot {snap_id[:12]} is not on {self.display}", "check the id with `lobs log`")
        return decode_snapshot(packed, snap_id, f"{self.display} snapshot {snap_id[:12]}"), packed

    def resolve_snapshot(self, prefix: str) -> str:
        """Expand an abbreviated id (>= 4 hex digits) by listing snapshots."""
        prefix = prefix.lower()
        if mf.is_snapshot_id(prefix):
            return prefix
        if len(prefix) < 4 or not all(c in "0123456789abcdef" for c in prefix):
            raise NotFoundError(f"{prefix!r} is not a snapshot id", "give at least 4 hex digits")
        found = [
            o.key[len(self.layout.snapshots_prefix) :][: -len(SNAP_SUFFIX)]
            for o in self.transport.list(self.layout.snapshots_prefix + prefix)
            if o.key.endswith(SNAP_SUFFIX)
        ]
        if not found:
            raise NotFoundError(f"no snapshot {prefix} on {self.display}", "see `lobs log`")
        if len(found) > 1:
            raise NotFoundError(f"snapshot id {prefix} is ambiguous ({len(found)} match)", "give more digits")
        return found[0]

    def prefetch_objects(self) -> None:
        """Start listing the objects in the background (a pull lists them to choose how to
        download): call it first, before reading the ref and snapshot, to overlap them."""
        self.transport.prefetch_list(self.layout.objects_prefix)

    def objects(self) -> dict[str, RemoteObject]:
        """Every stored object by key (one listing). A missing root is an empty remote."""
        try:
            return {o.key: o for o in self.transport.list(self.layout.objects_prefix)}
        except TransportError as e:
            if e.kind == "not_found":
                return {}
            raise

    def history(self, start: str | None, limit: int = 0) -> Iterable[tuple[str, Manifest]]:
        snap_id = start
        n = 0
        while snap_id is not None and (limit <= 0 or n < limit):
            m = self.read_snapshot(snap_id)
            yield snap_id, m
            snap_id = m.parent
            n += 1


def decode_snapshot(packed: bytes, snap_id: str, source: str, *, trusted: bool = False) -> Manifest:
    """Decompress, check against ``snap_id`` and :func:`~lobs.manifest.decode`. Raises IntegrityError."""
    data = bytearray()  # grown as it is decoded: a one-call decompress of a frame without a
    try:  # size in its header allocates the whole cap (2 GiB) first
        reader = zstandard.ZstdDecompressor().stream_reader(packed)
        while chunk := reader.read(16 << 20):
            data += chunk
            if len(data) > mf.MAX_MANIFEST_BYTES:
                raise IntegrityError(f"{source}: manifest is too large (over {mf.MAX_MANIFEST_BYTES} bytes)")
    except zstandard.ZstdError as e:
        raise IntegrityError(f"{source}: corrupt snapshot ({e})") from e
    if mf.snapshot_id(data) != snap_id:
        raise IntegrityError(f"{source}: content does not match its id", "the remote copy is corrupt")
    text = mf.text_of(data, source)
    data.clear()  # not needed any more: the parse runs without the bytes beside the text
    return mf.decode_text(text, source=source, trusted=trusted)
