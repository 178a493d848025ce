"""Planning a push: what the remote lacks, from its snapshot and, when it pays, a listing.

Content the remote's latest snapshot names is trusted to be there: a snapshot is
written only after all its objects (``lobs verify`` checks that they still are;
``repair`` lists them and sends again any that went missing). A mirror remote that
changed is listed first, as before: its keys no longer in the tree are deleted, and its
files, which people read and may touch, are checked by size. New content is sent; when there is a lot of it, or the last push from here did not
finish, the remote's objects are listed first (in the background from the start
of the push when that is known early) so that content already there, from an
interrupted push or another target, is not sent again.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from lobs.codec import SAMPLE, choose_codec
from lobs.diff import Diff, diff_entries
from lobs.errors import ConflictError
from lobs.lazyjson import LazyList
from lobs.localstate import LocalState
from lobs.model import Entry, Manifest, Stored
from lobs.packs import PACK_FILE_MAX
from lobs.packs import groups as pack_groups
from lobs.parallel import batched, bounded_map
from lobs.remote import Layout, Remote
from lobs.transport.base import RemoteObject
from lobs.workspace import Workspace

# New content up to this much is sent without listing the remote: a listing costs a
# request per 1,000 objects stored, more than sending a little content twice.
LIST_ABOVE_FILES = 1000
LIST_ABOVE_BYTES = 64 << 20


@dataclass(slots=True)
class Upload:
    """One object to send: read from ``root / entry.path``, stored at ``key``. Neither
    path nor key is kept per file (a million uploads would hold a million of each);
    both are made when asked for."""

    entry: Entry  # the first entry with this content
    codec: str  # zstd | none | auto: a small file, compressed when staged and kept so if it pays
    packed: bool = False  # a small file sent in a pack (lobs.packs): its key is the pack's, known once staged

    def key(self, layout: Layout) -> str:
        st = self.entry.stored
        if self.packed and st is not None and st.pack is not None:
            return layout.pack_key(st.pack)
        return layout.object_key(self.entry, self.codec)

    def local(self, root: Path) -> Path:
        return root / self.entry.path


@dataclass
class PushPlan:
    ws: Workspace
    local: LocalState
    remote_ref: str | None
    remote_manifest: Manifest | None
    diff: Diff  # remote's latest snapshot -> local tree
    uploads: list[Upload]
    stored: dict[str, Stored]  # hash -> how it is stored, for content already on the remote
    deletes: list[str] = field(default_factory=list)  # mirror: keys no longer in the tree
    message: str | None = None

    @property
    def up_to_date(self) -> bool:
        return self.remote_manifest is not None and self.diff.empty and not self.uploads

    @property
    def objects_to_send(self) -> int:
        """How many objects the uploads go as: one per upload of its own, one per pack."""
        packed = [u.entry for u in self.uploads if u.packed]
        return len(self.uploads) - len(packed) + sum(1 for _ in pack_groups(packed))

    @property
    def upload_bytes(self) -> int:
        return sum(u.entry.size for u in self.uploads)

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.ws.name,
            "remote": self.ws.remote_name,
            "remote_ref": self.remote_ref,
            "changes": LazyList(c.to_json() for c in self.diff.changes),
            "counts": self.diff.counts(),
            "uploads": LazyList(
                {"path": u.entry.path, "key": None if u.packed else u.key(self.ws.layout), "size": u.entry.size,
                 "codec": u.codec, "packed": u.packed}
                for u in map(self._sampled, self.uploads)
            ),
            "deletes": self.deletes,
        }

    def _sampled(self, u: Upload) -> Upload:
        """``u`` with the codec a sample chooses, for showing a plan that is not run."""
        if u.codec != "auto":
            return u
        return Upload(u.entry, choose_codec(u.local(self.ws.root), u.entry.size, self.ws.compression), u.packed)


def plan_push(
    ws: Workspace, remote: Remote, local: LocalState, *, force: bool, message: str | None = None, jobs: int = 0,
    repair: bool = False,
) -> PushPlan:
    """Work out a push (see the module docstring). Raises ConflictError when the remote
    moved since our last sync; TransportError, IntegrityError from reading the remote."""
    ref = remote.read_ref()
    remote_m = ws.snapshot(remote, ref) if ref else None
    base = ws.base() or ws.pin()  # a fresh clone knows the pin from lobs.lock
    base_id = base.snapshot if base and base.remote == ws.remote_name else None
    if ref is not None and ref != base_id and not force:
        same = remote_m is not None and remote_m.same_tree(Manifest(ws.name, ws.hash_algo, entries=sorted(local.entries.values(), key=path_order)))
        if not same:
            who = "someone else pushed" if base_id else "it already holds data for this target"
            raise ConflictError(
                f"{remote.display}: {ws.name} is at snapshot {ref[:12]}, not the one you last synced ({(base_id or 'none')[:12]}): {who}",
                "run `lobs pull` to merge their changes first, or push with --force to replace them",
            )
    old = remote_m.by_path() if remote_m else {}
    diff = diff_entries(old, local.entries)
    layout = ws.layout
    cas = layout.kind == "cas"
    had = {e.hash: e.stored for e in old.values() if e.stored is not None} if cas else {}
    stored: dict[str, Stored] = {}
    needed_keys: set[str] = set()
    new: dict[str, Entry] = {}  # hash (cas) or path (mirror) -> entry the snapshot does not hold
    lost: dict[str, str] = {}  # hash -> codec of an object of its own the snapshot names but the listing lacks
    # A mirror that changed is listed first (its keys no longer in the tree are deleted, and
    # its files, which people read and may touch, are checked by size); a repair lists too.
    listing = remote.objects() if repair or (not cas and not diff.empty) else None

    def there(e: Entry, st: Stored) -> bool:  # trusted, unless listed
        if listing is None:
            return True
        if st.pack is not None:
            obj = listing.get(layout.pack_key(st.pack))
            return obj is not None and obj.size >= st.offset + st.size
        obj = listing.get(layout.object_key(e, st.codec))
        return obj is not None and obj.size == st.size

    for e in sorted(local.entries.values(), key=path_order):
        if e.is_link:
            continue
        if cas:
            if e.hash in stored or e.hash in new:
                continue
            st = had.get(e.hash)
            if st is not None and there(e, st):
                stored[e.hash] = st
            else:
                new[e.hash] = e
                if st is not None and st.pack is None:
                    lost[e.hash] = st.codec  # repaired where the snapshot says it is
            continue
        prev = old.get(e.path)
        if prev is not None and prev.hash == e.hash and prev.stored is not None and there(e, prev.stored):
            stored[e.path] = prev.stored
            needed_keys.add(layout.object_key(e, prev.stored.codec))
        else:
            new[e.path] = e
    objects = listing
    if objects is None and cas and _much_new(new, ws.push_unfinished()):
        objects = remote.objects()
    todo: dict[str, Entry] = {}
    for k, e in new.items():
        if cas and objects is not None and (st := _already_there(layout, e, objects)) is not None:
            stored[k] = st
        else:
            todo[k] = e
    codecs = _codecs(ws, list(todo.values()), jobs, defer_small=cas)
    uploads: list[Upload] = []
    pack = ws.pack
    for e in todo.values():
        codec = codecs[e.path]
        if layout.kind == "mirror" and codec == "zstd" and (e.path + ".zst") in local.entries:
            codec = "none"  # the name x.zst is taken by a real file
        if e.hash in lost:  # sent again under the key the snapshots name (not into a pack)
            uploads.append(Upload(e, lost[e.hash]))
            continue
        u = Upload(e, codec, pack and e.size <= PACK_FILE_MAX)
        if layout.kind == "mirror":
            needed_keys.add(u.key(layout))
        uploads.append(u)
    deletes: list[str] = []
    if layout.kind == "mirror":
        meta = layout.meta
        known = objects if objects is not None else {layout.object_key(p, p.stored.codec) for p in old.values() if p.stored}
        deletes = sorted(k for k in known if k not in needed_keys and not k.startswith(meta))
    return PushPlan(ws, local, ref, remote_m, diff, uploads, stored, deletes, message)


def _much_new(new: dict[str, Entry], resuming: bool) -> bool:
    """Is a listing worth it (cas): new content after an unfinished push, or a lot of it?"""
    if not new:
        return False
    return resuming or len(new) > LIST_ABOVE_FILES or sum(e.size for e in new.values()) > LIST_ABOVE_BYTES


def _already_there(layout: Layout, e: Entry, objects: dict[str, RemoteObject]) -> Stored | None:
    for codec in ("zstd", "none"):
        obj = objects.get(layout.object_key(e, codec))
        if obj is not None:
            return Stored(codec, obj.size)
    return None


def _codecs(ws: Workspace, entries: list[Entry], jobs: int, *, defer_small: bool) -> dict[str, str]:
    """path -> codec for each entry, sampled on a few threads (zstd and reads release the GIL).

    ``defer_small`` (cas, where the key is made when the file is staged): files no bigger
    than a sample are not read here but compressed once when staged (codec ``auto``)."""
    out: dict[str, str] = {}
    sample: list[Entry] = []
    for e in entries:
        if defer_small and e.size <= SAMPLE:
            out[e.path] = choose_codec(ws.root / e.path, e.size, ws.compression, defer_small=True)  # reads nothing
        else:
            sample.append(e)
    workers = max(1, min(jobs or (os.cpu_count() or 2), 8))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lobs-sample") as pool:
        def one(batch: list[Entry]) -> list[str]:
            return [choose_codec(ws.root / e.path, e.size, ws.compression) for e in batch]

        found = (c for cs in bounded_map(pool, one, batched(sample, 64), workers * 2) for c in cs)
        out.update((e.path, c) for e, c in zip(sample, found, strict=True))
    return out


# Entries sort by path: scanned names are valid UTF-8, whose byte order is code point order.
path_order = attrgetter("path")
