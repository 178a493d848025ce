"""What each target was last synced as: ``lobs.lock`` in a project; a state file in the user state folder for a bare directory.

``lobs.lock`` is committed and merge-friendly: one line per target, sorted, so
that ``git checkout <commit> && lobs pull`` brings back that commit's data.
Both files are written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lobs.errors import ConfigError
from lobs.fsutil import atomic_write_bytes
from lobs.manifest import is_snapshot_id

LOCK_NAME = "lobs.lock"
HEADER = "# lobs.lock: the snapshot each target was last pushed as or pulled from. Written by lobs; commit it.\n"


@dataclass(frozen=True)
class SyncState:
    remote: str  # remote name, or the URL without a project
    snapshot: str
    files: int
    size: int

    def to_json(self) -> dict[str, object]:
        return {"remote": self.remote, "snapshot": self.snapshot, "files": self.files, "size": self.size}


def _parse(raw: object, where: str) -> SyncState:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: malformed entry", "fix it by hand or delete it and pull again")
    try:
        state = SyncState(str(raw["remote"]), str(raw["snapshot"]), int(raw["files"]), int(raw["size"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"{where}: malformed entry ({e})", "fix it by hand or delete it and pull again") from e
    if not is_snapshot_id(state.snapshot):  # (said here with the file's name; the cache checks again)
        raise ConfigError(f"{where}: malformed entry (snapshot {state.snapshot[:80]!r} is not a snapshot id)",
                          "fix it by hand or delete it and pull again")
    return state


class LockFile:
    """``lobs.lock`` of a project: target path -> SyncState."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, SyncState]:
        if not self.path.exists():
            return {}
        from ruamel.yaml import YAML  # (only for a project's lock: 6 ms of start-up otherwise)
        from ruamel.yaml.error import YAMLError

        try:
            doc = YAML(typ="safe").load(self.path.read_text(encoding="utf-8")) or {}
        except (OSError, YAMLError) as e:
            raise ConfigError(f"{self.path}: cannot read ({str(e).splitlines()[0]})", "resolve merge conflicts in it, or delete it") from e
        targets = doc.get("targets") or {} if isinstance(doc, dict) else {}
        if not isinstance(targets, dict):
            raise ConfigError(f"{self.path}: 'targets' must be a mapping")
        return {str(k): _parse(v, f"{self.path}: {k}") for k, v in targets.items()}

    def get(self, target: str) -> SyncState | None:
        return self.read().get(target)

    def set(self, target: str, state: SyncState | None) -> None:
        all_ = self.read()
        if state is None:
            all_.pop(target, None)
        else:
            all_[target] = state
        lines = [HEADER, "version: 1\n", "targets:\n" if all_ else "targets: {}\n"]
        for name in sorted(all_):
            lines.append(f"  {json.dumps(name, ensure_ascii=False)}: {json.dumps(all_[name].to_json())}\n")
        atomic_write_bytes(self.path, "".join(lines).encode("utf-8"))


class StateFile:
    """``$XDG_STATE_HOME/lobs/dirs/<key>/state.json`` for a directory synced without a project."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, target: str) -> SyncState | None:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise ConfigError(f"{self.path}: unreadable ({e})", "delete it; the next pull re-creates it") from e
        return _parse(doc, str(self.path)) if doc else None

    def set(self, target: str, state: SyncState | None) -> None:
        atomic_write_bytes(self.path, (json.dumps(state.to_json() if state else None) + "\n").encode())
