"""Verify: check that a remote still holds every object its snapshots name.

A shallow check lists the remote once and compares every entry's key and stored
size (a packed entry: that its pack is long enough). ``deep`` also downloads every object (in batches, into a temp folder) and
checks that it decodes to the size and hash the manifest says. Read-only.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lobs.codec import decode_stream
from lobs.errors import IntegrityError
from lobs.model import Entry, Manifest
from lobs.packs import holds, object_id, open_stored
from lobs.progress import Progress
from lobs.remote import Remote, TransferReporter
from lobs.transport.base import Transfer

BATCH_FILES = 2000


@dataclass
class Problem:
    snapshot: str
    path: str
    key: str
    what: str  # missing | size | corrupt

    def to_json(self) -> dict[str, str]:
        return {"snapshot": self.snapshot, "path": self.path, "key": self.key, "problem": self.what}


@dataclass
class VerifyReport:
    snapshots: list[str] = field(default_factory=list)
    objects: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(remote: Remote, snapshots: list[tuple[str, Manifest]], progress: Progress, *, deep: bool, jobs: int = 0) -> VerifyReport:
    """Check ``snapshots`` against what ``remote`` holds. Raises only TransportError."""
    report = VerifyReport(snapshots=[s for s, _ in snapshots])
    progress.phase("verify")
    objects = remote.objects()
    wanted: dict[str, tuple[str, Entry]] = {}
    for snap, m in snapshots:
        for e in m.entries:
            if e.stored is None:
                continue
            key = remote.layout.key_of(e)
            obj = objects.get(key)
            if obj is None:
                report.problems.append(Problem(snap, e.path, key, "missing"))
            elif not holds(obj.size, e.stored):
                report.problems.append(Problem(snap, e.path, key, "size"))
            else:
                wanted.setdefault(object_id(remote.layout, e), (snap, e))
    report.objects = len(wanted)
    if deep and wanted:
        _deep(remote, wanted, {snap: m.hash for snap, m in snapshots}, report, progress, jobs)
    return report


def _deep(
    remote: Remote,
    wanted: dict[str, tuple[str, Entry]],
    algo_of: dict[str, str],
    report: VerifyReport,
    progress: Progress,
    jobs: int,
) -> None:
    in_key: dict[str, list[tuple[str, Entry]]] = {}  # key -> what it holds (a pack: many)
    for snap, e in wanted.values():
        in_key.setdefault(remote.layout.key_of(e), []).append((snap, e))
    keys = sorted(in_key)
    progress.phase("download", len(keys), sum(_stored_size(e) for _, e in wanted.values()))
    with tempfile.TemporaryDirectory(prefix="lobs-verify-") as tmp:
        for start in range(0, len(keys), BATCH_FILES):
            batch = [
                Transfer(Path(tmp) / str(i), k, sum(_stored_size(e) for _, e in in_key[k]))
                for i, k in enumerate(keys[start : start + BATCH_FILES])
            ]
            paths = {t.key: (in_key[t.key][0][1].path, t.size) for t in batch}
            remote.transport.download(batch, TransferReporter(progress, "fetch", paths), jobs)
            for t in batch:
                for snap, e in in_key[t.key]:
                    assert e.stored is not None
                    try:
                        with open_stored(t.local, e.stored) as fin, open(os.devnull, "wb") as sink:
                            digest, size = decode_stream(fin, sink, e.stored.codec, algo=algo_of[snap], max_size=e.size)
                        if digest != e.hash or size != e.size:
                            raise IntegrityError("mismatch")
                    except (IntegrityError, FileNotFoundError):
                        report.problems.append(Problem(snap, e.path, t.key, "corrupt"))
                t.local.unlink(missing_ok=True)



def _stored_size(e: Entry) -> int:
    return e.stored.size if e.stored is not None else -1
