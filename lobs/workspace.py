"""A workspace: one local directory bound to one place on one remote.

It is a project target (lobs.yml) or a bare directory with a URL (no project).
It knows where the directory's local state lives (index, lock, cached
manifests, sync state) and opens the remote. Nothing here talks to the network
until :meth:`open_remote` is called.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lobs import manifest as mf
from lobs import manifest_cache
from lobs.codec import Compression
from lobs.config import Config, RemoteConfig, TargetConfig
from lobs.errors import NotFoundError
from lobs.fsutil import atomic_write_bytes, pid_alive, remove_dead_temps
from lobs.ignore import Rules
from lobs.model import Manifest
from lobs.remote import Layout, Remote, decode_snapshot
from lobs.syncstate import LOCK_NAME, LockFile, StateFile, SyncState


@dataclass
class Workspace:
    name: str  # target path in the project, or the directory as given
    root: Path  # the directory tracked
    state_dir: Path  # the .lobs folder
    remote_cfg: RemoteConfig
    remote_path: str
    rules: Rules
    compression: Compression
    sync: StateFile  # what the working tree was last synced to (local, never committed)
    user_transports: Mapping[str, Any]
    pins: LockFile | None = None  # lobs.lock of a project (committed)
    no_pack: bool = False  # `push --no-pack`: every file its own object, whatever the remote says
    env: Mapping[str, str] | None = None  # the caller's environment, for the transport (None: this process's)

    @property
    def pack(self) -> bool:
        """Send small files in packs (cas only; see :mod:`lobs.packs`)."""
        return self.remote_cfg.pack and self.remote_cfg.layout == "cas" and not self.no_pack

    @property
    def key(self) -> str:
        return hashlib.sha256(str(self.root).encode("utf-8", "surrogateescape")).hexdigest()[:16]

    @property
    def index_path(self) -> Path:
        return self.state_dir / "index" / f"{self.key}.idx"

    @property
    def lock_path(self) -> Path:
        return self.state_dir / "locks" / f"{self.key}.lock"

    @property
    def hash_algo(self) -> str:
        return self.remote_cfg.hash

    @property
    def remote_name(self) -> str:
        return self.remote_cfg.name

    @property
    def layout(self) -> Layout:
        return Layout(self.remote_cfg.layout, self.remote_path)

    @property
    def staging(self) -> Path:
        return self.root.parent / f".lobs-staging-{self.root.name or 'root'}"

    def base(self) -> SyncState | None:
        """What the working tree was last pushed as or pulled from, on this machine."""
        return self.sync.get(self.name)

    def pin(self) -> SyncState | None:
        """What lobs.lock says (the committed pin), or None without a project."""
        return self.pins.get(self.name) if self.pins is not None else None

    def set_base(self, state: SyncState | None) -> None:
        """Record a completed sync: the local state, and lobs.lock in a project."""
        self.sync.set(self.name, state)
        if self.pins is not None:
            self.pins.set(self.name, state)

    # A push that started sending and did not finish (failed, cancelled, killed) leaves a
    # marker: the next push lists the remote, to send only what is still missing.
    @property
    def _unfinished_marker(self) -> Path:
        return self.state_dir / "unfinished" / self.key

    def push_unfinished(self) -> bool:
        return self._unfinished_marker.exists()

    def mark_push_unfinished(self, unfinished: bool) -> None:
        """Set (before the first object is sent) or clear (once the ref moved) the marker."""
        if unfinished:
            self._unfinished_marker.parent.mkdir(parents=True, exist_ok=True)
            self._unfinished_marker.touch()
        else:
            self._unfinished_marker.unlink(missing_ok=True)

    def remove_dead_temps(self) -> None:
        """Clear what killed lobs processes left in this workspace's state folders: temp
        files of atomic writes and push staging folders (``staging/push-PID``). Call it
        holding the target lock. Never raises."""
        sync_dir = self.sync.path.parent
        folders = {self.state_dir, self.state_dir / "index", self.state_dir / "manifests", sync_dir}
        if self.pins is not None:
            folders.add(self.pins.path.parent)  # lobs.lock's folder
        for folder in folders:
            remove_dead_temps(folder)
        with contextlib.suppress(OSError):
            for d in (self.state_dir / "staging").iterdir():
                pid = d.name.removeprefix("push-")
                if pid.isdigit() and not pid_alive(int(pid)):
                    shutil.rmtree(d, ignore_errors=True)

    def open_remote(self) -> Remote:
        from lobs.transport.registry import open_transport

        transport = open_transport(self.remote_cfg.spec, self.user_transports, self.env)
        return Remote(transport, self.layout, self.remote_cfg.spec.display)

    # Cached manifests: immutable, keyed by snapshot id. The verified JSON (zstd) is
    # kept, and beside it a fast copy (lobs.manifest_cache) that loads several times
    # faster (status reads the base manifest whenever something changed).
    def _cache_path(self, snap_id: str, fast: bool = False) -> Path:
        return self.state_dir / "manifests" / (f"{snap_id}.m" if fast else f"{snap_id}.json.zst")

    def cache_manifest(self, snap_id: str, manifest: Manifest, *, packed: bytes | None = None) -> None:
        """Keep a verified snapshot: its zstd-``packed`` canonical bytes (encoded from
        ``manifest`` if not given and not cached yet), and the fast copy."""
        p = self._cache_path(snap_id)
        if not p.exists():
            if packed is None:
                packed = mf.pack(manifest, level=3)[1]
            atomic_write_bytes(p, packed)
        fast = self._cache_path(snap_id, fast=True)
        if not fast.exists():
            manifest_cache.write(fast, manifest)

    def cached_manifest(self, snap_id: str) -> Manifest | None:
        if not mf.is_snapshot_id(snap_id):
            return None  # (an id names the cache files: anything else is no snapshot we keep)
        m = manifest_cache.read(self._cache_path(snap_id, fast=True))
        if m is not None:
            return m
        try:
            packed = self._cache_path(snap_id).read_bytes()
        except FileNotFoundError:
            return None
        m = decode_snapshot(packed, snap_id, f"cached snapshot {snap_id[:12]}", trusted=True)
        manifest_cache.write(self._cache_path(snap_id, fast=True), m)
        return m

    def snapshot(self, remote: Remote, snap_id: str) -> Manifest:
        """A snapshot from the cache, else read from ``remote`` (verified) and kept, so that
        the next command does not read it again. Raises NotFoundError, IntegrityError,
        TransportError."""
        m = self.cached_manifest(snap_id)
        if m is None:
            m, packed = remote.read_snapshot_packed(snap_id)
            self.cache_manifest(snap_id, m, packed=packed)
        return m

    def base_manifest(self, remote: Remote | None) -> Manifest | None:
        """The manifest of the last sync, from the cache, else from ``remote`` if given."""
        b = self.base()
        if b is None:
            return None
        if remote is None:
            return self.cached_manifest(b.snapshot)
        try:
            return self.snapshot(remote, b.snapshot)
        except NotFoundError:
            return None


def project_workspace(
    cfg: Config, target: TargetConfig, remote_name: str | None, env: Mapping[str, str] | None = None
) -> Workspace:
    assert cfg.root is not None
    remote = cfg.remote(remote_name or target.remote)
    return Workspace(
        name=target.path,
        root=(cfg.root / target.path).absolute(),
        state_dir=cfg.root / ".lobs",
        remote_cfg=remote,
        remote_path=target.remote_path,
        rules=Rules.root(target.exclude, target.include),
        compression=target.compression,
        sync=StateFile(cfg.root / ".lobs" / "state" / (hashlib.sha256(target.path.encode()).hexdigest()[:16] + ".json")),
        user_transports=cfg.transports,
        pins=LockFile(cfg.root / LOCK_NAME),
        env=env,
    )


def state_home(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base).expanduser() / "lobs"


def adhoc_workspace(
    directory: Path, remote: RemoteConfig, compression: Compression, user_transports: Mapping[str, Any], env: Mapping[str, str]
) -> Workspace:
    """A directory with no project: its state lives in the user's state folder, keyed by its path."""
    root = Path(os.path.abspath(directory))
    state = state_home(env) / "dirs" / hashlib.sha256(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return Workspace(
        name=str(directory),
        root=root,
        state_dir=state,
        remote_cfg=remote,
        remote_path="",
        rules=Rules.root(),
        compression=compression,
        sync=StateFile(state / "state.json"),
        user_transports=user_transports,
        env=env,
    )
