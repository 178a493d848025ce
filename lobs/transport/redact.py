"""Remove secrets from commands and tool output before anything is shown or logged.

lobs stores no credentials, but a user's rclone connection string or environment
can carry them into an argv or a tool's stderr. Every command lobs echoes (logs,
error messages, ``--verbose``) goes through :func:`redact` first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import overload

MASK = "***"

# key=value inside rclone connection strings / config dumps: value up to , or : or space,
# or a quoted value ('...' or "...").
_KV = re.compile(
    r"(?i)(\b(?:access_key_id|secret_access_key|session_token|sse_customer_key|password|pass|token)=)"
    r"('(?:[^']|'')*'|\"[^\"]*\"|[^,:\s'\"]+)"
)
# environment assignments echoed in text: AWS_SECRET_ACCESS_KEY=..., AWS_SESSION_TOKEN=...
_ENV = re.compile(
    r"(?i)(\b(?:AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_SECURITY_TOKEN|RCLONE_CONFIG_PASS"
    r"|RCLONE_[A-Z0-9_]*(?:SECRET_ACCESS_KEY|SESSION_TOKEN|PASSWORD|PASS))[=:]\s*)(\S+)"
)
# --secret-foo=value, --s3-secret-access-key=value, --password=value in text
_FLAG_EQ = re.compile(r"(?i)(--[\w-]*(?:secret|token|password|passwd)[\w-]*=)(\S+)")
_SECRET_FLAG = re.compile(r"(?i)^--[\w-]*(?:secret|token|password|passwd)[\w-]*$")


def redact_text(text: str) -> str:
    """Mask secret values in free text (a command line, a tool's stderr)."""
    text = _KV.sub(lambda m: m.group(1) + MASK, text)
    text = _ENV.sub(lambda m: m.group(1) + MASK, text)
    return _FLAG_EQ.sub(lambda m: m.group(1) + MASK, text)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """Mask secrets in an argument list; ``--secret-x VALUE`` masks the next element."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if _SECRET_FLAG.match(arg):
            hide_next = True
            out.append(arg)
            continue
        out.append(redact_text(arg))
    return out


@overload
def redact(value: str) -> str: ...  # type: ignore[overload-overlap]
@overload
def redact(value: Sequence[str]) -> list[str]: ...
def redact(value: str | Sequence[str]) -> str | list[str]:
    """Redact a command (list of arguments) or a piece of text. Never raises."""
    if isinstance(value, str):
        return redact_text(value)
    return redact_argv(value)


def display_argv(argv: Sequence[str]) -> str:
    """A redacted, shell-quoted rendering of ``argv`` for messages."""
    import shlex

    return " ".join(shlex.quote(a) for a in redact_argv(argv))
