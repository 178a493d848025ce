"""Edit lobs.yml in place, keeping the user's comments and key order (ruamel round trip).

Each function validates the result by loading it before the atomic write, so a
failed edit leaves the file as it was.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from lobs import config as cfgmod
from lobs.errors import ConfigError, NotFoundError
from lobs.fsutil import atomic_write_bytes

TEMPLATE = """\
# lobs.yml: what lobs syncs, and where. See lobs.yml.example for every key.
remotes: {}
targets: []
"""
GITIGNORE_LINES = ("/.lobs/", ".lobs-staging-*/")


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _load(root: Path) -> Any:
    path = root / cfgmod.CONFIG_NAME
    doc = _yaml().load(path.read_text(encoding="utf-8"))
    return doc if doc is not None else CommentedMap()


def _save(root: Path, doc: Any, env: Mapping[str, str]) -> None:
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    path = root / cfgmod.CONFIG_NAME
    old = path.read_bytes()
    atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
    try:
        cfgmod.load(root, env)
    except ConfigError:
        atomic_write_bytes(path, old)
        raise


def init(folder: Path, *, remote_url: str | None = None) -> Path:
    """Create lobs.yml (and .gitignore lines for .lobs/). Refuses if one exists."""
    path = folder / cfgmod.CONFIG_NAME
    if path.exists():
        raise ConfigError(f"{path} already exists", "edit it, or use `lobs remote add` / `lobs track`")
    text = TEMPLATE
    if remote_url:
        text = text.replace("remotes: {}", f"remotes:\n  origin:\n    url: {remote_url}\ndefault_remote: origin")
    atomic_write_bytes(path, text.encode())
    gi = folder / ".gitignore"
    existing = gi.read_text(encoding="utf-8").splitlines() if gi.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in existing]
    if missing:
        prefix = "" if not existing or (gi.read_bytes().endswith(b"\n")) else "\n"
        atomic_write_bytes(gi, (gi.read_text(encoding="utf-8") if gi.exists() else "").encode() + (prefix + "\n".join(missing) + "\n").encode())
    return path


def remote_add(root: Path, env: Mapping[str, str], name: str, url: str, settings: Mapping[str, Any], *, make_default: bool) -> None:
    doc = _load(root)
    remotes = doc.get("remotes")
    if not isinstance(remotes, dict):
        remotes = CommentedMap()
        doc["remotes"] = remotes
    if name in remotes:
        raise ConfigError(f"remote {name!r} already exists", f"change it with `lobs remote set {name} KEY VALUE`")
    node = CommentedMap(url=url)
    for k, v in settings.items():
        if v is not None:
            node[k] = v
    remotes[name] = node
    if make_default or not doc.get("default_remote"):
        doc["default_remote"] = name
    _save(root, doc, env)


def remote_remove(root: Path, env: Mapping[str, str], name: str) -> None:
    doc = _load(root)
    remotes = doc.get("remotes") or {}
    if name not in remotes:
        raise NotFoundError(f"no remote named {name!r}")
    del remotes[name]
    if doc.get("default_remote") == name:
        del doc["default_remote"]
    _save(root, doc, env)


def remote_set(root: Path, env: Mapping[str, str], name: str, key: str, value: str | None) -> None:
    doc = _load(root)
    remotes = doc.get("remotes") or {}
    if name not in remotes:
        raise NotFoundError(f"no remote named {name!r}")
    if key not in cfgmod.REMOTE_KEYS:
        raise ConfigError(f"unknown remote key {key!r}", f"known keys: {', '.join(sorted(cfgmod.REMOTE_KEYS))}")
    parsed: Any = value
    if value is not None and value.lower() in ("true", "false"):
        parsed = value.lower() == "true"
    if parsed is None:
        remotes[name].pop(key, None)
    else:
        remotes[name][key] = parsed
    _save(root, doc, env)


def track(root: Path, env: Mapping[str, str], path: str, *, remote: str | None, remote_path: str | None) -> str:
    norm = cfgmod.normalize_target_path(path)
    if norm is None or norm == ".":
        raise ConfigError(f"{path!r} must be a folder inside the project", "give a relative path like data/corpus")
    doc = _load(root)
    targets = doc.get("targets")
    if not isinstance(targets, list):
        targets = CommentedSeq()
        doc["targets"] = targets
    for t in targets:
        existing = t.get("path") if isinstance(t, dict) else t
        if cfgmod.normalize_target_path(str(existing)) == norm:
            raise ConfigError(f"{norm} is already tracked")
    node = CommentedMap(path=norm)
    if remote:
        node["remote"] = remote
    if remote_path:
        node["remote_path"] = remote_path
    targets.append(node)
    _save(root, doc, env)
    return norm
