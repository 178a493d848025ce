"""``lobs transports`` and ``lobs doctor``."""

from __future__ import annotations

from typing import Any

import click

from lobs.cli.common import emit_json, json_option, looks_like_url, remote_flags, say
from lobs.config import load
from lobs.errors import ExitCode, LobsError
from lobs.transport.spec import RemoteSpec


@click.command("transports")
@json_option
@click.pass_obj
def transports(obj: Any, /, json_mode: bool) -> None:
    """Which transports exist here, their versions and what they can do."""
    obj.json = json_mode
    cfg = load(obj.cwd, obj.env, require_project=False)
    from lobs.transport.introspect import describe_transports  # only this command needs it

    infos = describe_transports(cfg.transports)
    if json_mode:
        emit_json({"command": "transports", "transports": [i.to_json() for i in infos]})
        return
    for i in infos:
        state = "installed" if i.installed else "not installed"
        version = f" {i.version}" if i.version else ""
        where = f"  ({i.executable})" if i.executable else ""
        origin = "" if i.builtin else " [user]"
        say(obj, f"{i.name:<8}{origin} {state}{version}{where}")
        caps = [k for k, v in i.capabilities.items() if v is True]
        schemes = ", ".join(i.schemes) or "any"
        say(obj, f"          urls: {schemes}; can: {', '.join(caps)}")


@click.command("doctor")
@click.argument("where", required=False)
@remote_flags
@json_option
@click.pass_obj
def doctor_cmd(obj: Any, /, where: str | None, json_mode: bool, **kw: Any) -> None:
    """Check that a remote works: list, write, read back and delete a small object."""
    obj.json = json_mode
    cfg = load(obj.cwd, obj.env, require_project=False)
    if where and (looks_like_url(where) or where not in cfg.remotes):
        spec = RemoteSpec(
            url=where,
            transport=kw.get("transport"),
            endpoint_url=kw.get("endpoint_url"),
            profile=kw.get("profile"),
            region=kw.get("region"),
            no_sign_request=bool(kw.get("no_sign_request")),
        )
    else:
        spec = cfg.remote(where).spec
    from lobs.transport.introspect import doctor

    probes = doctor(spec, cfg.transports, obj.env)
    ok = all(p.ok for p in probes)
    if json_mode:
        emit_json({"command": "doctor", "remote": spec.display, "ok": ok, "probes": [p.to_json() for p in probes]})
    else:
        say(obj, f"remote {spec.display} ({spec.transport or 'auto'})")
        for p in probes:
            say(obj, f"  {'ok  ' if p.ok else 'FAIL'} {p.name:<7} {p.message} ({p.seconds:.2f}s)")
    if not ok:
        err = LobsError("the remote failed some checks", "see the messages above")
        err.exit_code = ExitCode.TRANSPORT
        raise err


COMMANDS = [transports, doctor_cmd]
