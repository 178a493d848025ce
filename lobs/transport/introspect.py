"""What transports exist here (``lobs transports``) and whether a remote works (``lobs doctor``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from lobs.errors import LobsError
from lobs.transport.registry import all_definitions, open_transport
from lobs.transport.spec import RemoteSpec
from lobs.transport.tools import find_executable, tool_version


@dataclass
class TransportInfo:
    name: str
    builtin: bool
    installed: bool
    executable: str | None
    version: str | None
    schemes: list[str]
    description: str
    capabilities: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def describe_transports(user_transports: Mapping[str, Any] | None = None) -> list[TransportInfo]:
    """Every known transport, built-in then user-defined. Runs each tool's version command.

    Raises ConfigError for a malformed user definition. Idempotent, read-only.
    """
    out: list[TransportInfo] = []
    for name, tdef in all_definitions(user_transports).items():
        if name == "local":
            exe, installed, version = None, True, None
        elif tdef.executables or tdef.python_package_file:
            exe = find_executable(tdef)
            installed = exe is not None
            version = tool_version(exe, tdef.version_argv, tdef.version_pattern) if exe else None
        else:  # a user transport: its program is named in each template
            exe, installed, version = None, True, None
        caps = {
            "batch": "upload" in tdef.batch and "download" in tdef.batch,
            "list": "list" in tdef.commands or name == "local",
            "delete": "delete" in tdef.commands or "delete" in tdef.batch or name == "local",
            "read": "cat" in tdef.commands or "get" in tdef.commands or name == "local",
            **{k: v for k, v in tdef.capabilities.items()},
        }
        if name == "local":
            caps.update(batch=True, read_in_place=True)
        out.append(
            TransportInfo(
                name=name,
                builtin=tdef.builtin,
                installed=installed,
                executable=exe,
                version=version,
                schemes=list(tdef.schemes),
                description=tdef.description,
                capabilities=caps,
            )
        )
    return out


@dataclass
class Probe:
    name: str  # list | write | read | delete
    ok: bool
    message: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def doctor(
    spec: RemoteSpec, user_transports: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> list[Probe]:
    """Probe a remote: list, write, read back, delete a small object under ``.lobs-doctor/``.

    Never raises for a failing probe (each result says ok or the error); a probe
    after a failed write is skipped. Leaves nothing behind when delete works.
    """
    probes: list[Probe] = []
    try:
        transport = open_transport(spec, user_transports, env)
    except LobsError as e:
        return [Probe("open", False, _msg(e), 0.0)]
    key = f".lobs-doctor/probe-{uuid.uuid4().hex[:12]}"
    payload = f"lobs doctor {time.time()}\n".encode()

    def step(name: str, fn: Callable[[], str]) -> bool:
        start = time.monotonic()
        try:
            message = fn()
            ok = True
        except LobsError as e:
            message, ok = _msg(e), False
        probes.append(Probe(name, ok, message, round(time.monotonic() - start, 3)))
        return ok

    def do_list() -> str:
        n = sum(1 for _ in transport.list(".lobs-doctor/"))
        return f"listed {n} object(s) under .lobs-doctor/"

    def do_write() -> str:
        transport.write(key, payload)
        return f"wrote {key} ({len(payload)} bytes)"

    def do_read() -> str:
        got = transport.read(key)
        if got != payload:
            raise LobsError("read back " + ("nothing" if got is None else f"{len(got)} different bytes"))
        return "read back the same bytes"

    def do_delete() -> str:
        transport.delete([key])
        if transport.read(key) is not None:
            raise LobsError("the object is still there after delete")
        return "deleted"

    try:
        step("list", do_list)
        if step("write", do_write):
            step("read", do_read)
            step("delete", do_delete)
    finally:
        transport.close()
    return probes


def _msg(e: LobsError) -> str:
    return e.message + (f" ({e.hint.splitlines()[0]})" if e.hint else "")
