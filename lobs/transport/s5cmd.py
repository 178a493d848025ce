"""The s5cmd adapter: s3:// roots and readable messages from its JSON errors."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from lobs.errors import TransportError
from lobs.transport.command import CommandTransport
from lobs.transport.definition import TransportDef
from lobs.transport.failure import tool_error
from lobs.transport.run import Result
from lobs.transport.s3url import parse_s3_url
from lobs.transport.settings import Settings
from lobs.transport.spec import RemoteSpec


def error_text(stderr: str) -> str:
    """s5cmd --json prints errors as JSON lines: keep their ``error`` text, one per line."""
    lines = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except ValueError:
                lines.append(line)
                continue
            if isinstance(doc, dict) and "error" in doc:
                lines.append(f"{doc.get('command', doc.get('operation', ''))}: {doc['error']}")
                continue
        lines.append(line)
    return "\n".join(lines)


class S5cmdTransport(CommandTransport):
    def __init__(
        self, tdef: TransportDef, spec: RemoteSpec, exe: str | None, settings: Settings, env: Mapping[str, str] | None = None
    ) -> None:
        self.s3 = parse_s3_url(spec.url)
        super().__init__(tdef, spec, exe, settings, env)

    @property
    def root_url(self) -> str:
        return self.s3.url

    def fail(self, result: Result, what: str, failed: Sequence[str] = (), kind: str | None = None) -> TransportError:
        return tool_error(
            transport=self.name,
            remote=self.display,
            what=what,
            result=result,
            failed=failed,
            kind=kind,
            text=error_text(result.stderr_text),
        )
