"""lobs.yml: find it, read it (with the user config merged underneath), validate it.

Reading never changes the file. Every problem is a ConfigError naming the file,
the line and the key. ``${VAR}`` (and ``${VAR:-default}``) in string values
expand from the environment; a missing variable is an error, not an empty string.
Editing lives in :mod:`lobs.config_edit` and keeps comments and key order.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lobs.codec import Compression
from lobs.errors import ConfigError
from lobs.transport.spec import RemoteSpec, url_scheme

CONFIG_NAME = "lobs.yml"
LAYOUTS = ("cas", "mirror")
REMOTE_KEYS = {
    "url", "transport", "endpoint_url", "profile", "region", "no_sign_request", "layout", "hash", "pack", "options",
}
TARGET_KEYS = {"path", "remote", "remote_path", "compression", "exclude", "include"}
TOP_KEYS = {"remotes", "default_remote", "targets", "transports"}
SECRET_KEY = re.compile(r"(secret|password|passwd|token|access_key|private_key|credential)", re.IGNORECASE)
SECRET_VALUE = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$|^[A-Za-z0-9/+]{40}$")
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class RemoteConfig:
    name: str
    spec: RemoteSpec
    layout: str = "cas"
    hash: str = "sha256"
    pack: bool = True  # cas: send small files in packs


@dataclass(frozen=True)
class TargetConfig:
    path: str  # project-relative POSIX path
    remote: str | None
    remote_path: str
    compression: Compression = field(default_factory=Compression)
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()


@dataclass
class Config:
    root: Path | None  # the project folder; None without lobs.yml
    remotes: dict[str, RemoteConfig] = field(default_factory=dict)
    default_remote: str | None = None
    targets: list[TargetConfig] = field(default_factory=list)
    transports: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def remote(self, name: str | None) -> RemoteConfig:
        name = name or self.default_remote
        if name is None:
            if len(self.remotes) == 1:
                return next(iter(self.remotes.values()))
            raise ConfigError("no remote given and no default_remote set", "pass --remote NAME or set default_remote")
        if name not in self.remotes:
            known = ", ".join(sorted(self.remotes)) or "none"
            raise ConfigError(f"unknown remote {name!r} (known: {known})", "add it with `lobs remote add NAME URL`")
        return self.remotes[name]


def find_project(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding lobs.yml, like git finds .git."""
    cur = start.absolute()
    for folder in (cur, *cur.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None


def user_config_path(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME", "~"), ".config")
    return Path(base).expanduser() / "lobs" / "config.yml"


def load(cwd: Path, env: Mapping[str, str], *, require_project: bool = True) -> Config:
    root = find_project(cwd)
    if root is None and require_project:
        raise ConfigError(f"no {CONFIG_NAME} in {cwd} or any parent folder", "run `lobs init` to start a project")
    cfg = Config(root=root)
    user = user_config_path(env)
    if user.is_file():
        _merge(cfg, _read(user), user, env, project=False)
    if root is not None:
        _merge(cfg, _read(root / CONFIG_NAME), root / CONFIG_NAME, env, project=True)
    return cfg


def _read(path: Path) -> Any:
    from ruamel.yaml import YAML  # (imported when there is a file to read: 6 ms of start-up)
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read ({e})") from e
    try:
        doc = YAML(typ="rt").load(text)
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}{where}: invalid YAML: {problem}") from e
    if doc is None:
        return CommentedMap()
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return doc


class _Where:
    def __init__(self, path: Path) -> None:
        self.path = path

    def err(self, node: Any, key: Any, keypath: str, msg: str, hint: str | None = None) -> ConfigError:
        line = ""
        lc = getattr(node, "lc", None)  # where ruamel read each key or item of a mapping or list
        try:
            if lc is not None and isinstance(node, dict) and key in node:
                line = f":{lc.key(key)[0] + 1}"
            elif lc is not None and isinstance(key, int):
                line = f":{lc.item(key)[0] + 1}"
        except (AttributeError, KeyError, IndexError, TypeError):
            pass
        return ConfigError(f"{self.path}{line}: {keypath}: {msg}", hint)


def _expand(value: Any, env: Mapping[str, str], where: _Where, node: Any, key: Any, keypath: str) -> Any:
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise where.err(node, key, keypath, f"environment variable {name} is not set", f"export {name}=… or use ${{{name}:-default}}")

    return VAR.sub(sub, value)


def _str(node: Any, key: str, keypath: str, where: _Where, env: Mapping[str, str], *, required: bool = False) -> str | None:
    if key not in node or node[key] is None:
        if required:
            raise where.err(node, None, keypath, f"missing required key {key!r}")
        return None
    v = node[key]
    if not isinstance(v, (str, int, float)) or isinstance(v, bool):
        raise where.err(node, key, f"{keypath}.{key}", "must be a string")
    return str(_expand(str(v), env, where, node, key, f"{keypath}.{key}"))


def _merge(cfg: Config, doc: Any, path: Path, env: Mapping[str, str], *, project: bool) -> None:
    where = _Where(path)
    for k in doc:
        if k not in TOP_KEYS:
            raise where.err(doc, k, str(k), "unknown key", f"known keys: {', '.join(sorted(TOP_KEYS))}")
    remotes = doc.get("remotes") or {}
    if not isinstance(remotes, dict):
        raise where.err(doc, "remotes", "remotes", "must be a mapping of name to remote")
    for name, node in remotes.items():
        cfg.remotes[str(name)] = _remote(str(name), node, where, env, cfg.warnings, project)
    if doc.get("default_remote") is not None:
        cfg.default_remote = _str(doc, "default_remote", "default_remote", where, env)
    transports = doc.get("transports") or {}
    if not isinstance(transports, dict):
        raise where.err(doc, "transports", "transports", "must be a mapping of name to definition")
    for name, node in transports.items():
        if not isinstance(node, dict):
            raise where.err(transports, name, f"transports.{name}", "must be a mapping")
        cfg.transports[str(name)] = {str(k): v for k, v in node.items()}
    targets = doc.get("targets") or []
    if not isinstance(targets, list):
        raise where.err(doc, "targets", "targets", "must be a list")
    if targets and not project:
        raise where.err(doc, "targets", "targets", "targets belong in a project's lobs.yml, not the user config")
    seen: set[str] = set()
    for i, node in enumerate(targets):
        t = _target(node, i, targets, where, env)
        if t.path in seen:
            raise where.err(targets, i, f"targets[{i}]", f"target {t.path!r} is listed twice")
        seen.add(t.path)
        cfg.targets.append(t)
    if project and cfg.default_remote and cfg.default_remote not in cfg.remotes:
        raise where.err(doc, "default_remote", "default_remote", f"no remote named {cfg.default_remote!r}")


def _remote(name: str, node: Any, where: _Where, env: Mapping[str, str], warnings: list[str], project: bool) -> RemoteConfig:
    kp = f"remotes.{name}"
    if not isinstance(node, dict):
        raise where.err(node, None, kp, "must be a mapping with at least url")
    for k in node:
        if k not in REMOTE_KEYS:
            raise where.err(node, k, f"{kp}.{k}", "unknown key", f"known keys: {', '.join(sorted(REMOTE_KEYS))}")
        if project and SECRET_KEY.search(str(k)) or (isinstance(node[k], str) and SECRET_VALUE.match(node[k])):
            warnings.append(f"{where.path}: {kp}.{k} looks like a secret; keep credentials in ~/.aws, rclone.conf or the environment")
    url = _str(node, "url", kp, where, env, required=True)
    assert url is not None
    if url_scheme(url) == "file" and not url.startswith(("file://", "/", "~")):
        url = str(where.path.parent / url)  # a relative folder is relative to the config file
    layout = _str(node, "layout", kp, where, env) or "cas"
    if layout not in LAYOUTS:
        raise where.err(node, "layout", f"{kp}.layout", f"must be one of {', '.join(LAYOUTS)}")
    algo = _str(node, "hash", kp, where, env) or "sha256"
    if algo not in ("sha256", "xxh128"):
        raise where.err(node, "hash", f"{kp}.hash", "must be sha256 or xxh128")
    pack = node.get("pack", True)
    if not isinstance(pack, bool):
        raise where.err(node, "pack", f"{kp}.pack", "must be true or false")
    nsr = node.get("no_sign_request", False)
    if not isinstance(nsr, bool):
        raise where.err(node, "no_sign_request", f"{kp}.no_sign_request", "must be true or false")
    options_node = node.get("options") or {}
    if not isinstance(options_node, dict):
        raise where.err(node, "options", f"{kp}.options", "must be a mapping")
    options = {str(k): str(_expand(v, env, where, options_node, k, f"{kp}.options.{k}")) for k, v in options_node.items()}
    for k, v in options.items():
        if SECRET_KEY.search(k) or SECRET_VALUE.match(v):
            warnings.append(f"{where.path}: {kp}.options.{k} looks like a secret; keep it out of lobs.yml")
    spec = RemoteSpec(
        url=url,
        transport=_str(node, "transport", kp, where, env),
        name=name,
        endpoint_url=_str(node, "endpoint_url", kp, where, env),
        profile=_str(node, "profile", kp, where, env),
        region=_str(node, "region", kp, where, env),
        no_sign_request=nsr,
        options=options,
    )
    return RemoteConfig(name=name, spec=spec, layout=layout, hash=algo, pack=pack)


def _target(node: Any, i: int, parent: Any, where: _Where, env: Mapping[str, str]) -> TargetConfig:
    kp = f"targets[{i}]"
    if isinstance(node, str):
        node = {"path": node}
    if not isinstance(node, dict):
        raise where.err(parent, i, kp, "must be a mapping with at least path")
    for k in node:
        if k not in TARGET_KEYS:
            raise where.err(node, k, f"{kp}.{k}", "unknown key", f"known keys: {', '.join(sorted(TARGET_KEYS))}")
    path = _str(node, "path", kp, where, env, required=True)
    assert path is not None
    norm = normalize_target_path(path)
    if norm is None:
        raise where.err(node, "path", f"{kp}.path", f"{path!r} must be a relative path inside the project")
    remote_path = (_str(node, "remote_path", kp, where, env) or norm).strip("/")
    if not remote_path or ".." in remote_path.split("/"):
        raise where.err(node, "remote_path", f"{kp}.remote_path", "must be a relative path without '..'")
    try:
        comp = Compression.parse(_str(node, "compression", kp, where, env))
    except ConfigError as e:
        raise where.err(node, "compression", f"{kp}.compression", e.message, e.hint) from e
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("exclude", "include"):
        v = node.get(key) or []
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise where.err(node, key, f"{kp}.{key}", "must be a list of gitignore-style patterns")
        lists[key] = tuple(v)
    return TargetConfig(
        path=norm,
        remote=_str(node, "remote", kp, where, env),
        remote_path=remote_path,
        compression=comp,
        exclude=lists["exclude"],
        include=lists["include"],
    )


def normalize_target_path(path: str) -> str | None:
    p = path.replace("\\", "/").strip()
    if p.startswith("/"):
        return None
    parts = [x for x in p.split("/") if x not in ("", ".")]
    if any(x == ".." for x in parts):
        return None
    return "/".join(parts) or "."
