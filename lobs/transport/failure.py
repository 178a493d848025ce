"""Turn a failed tool run into a classified, redacted :class:`TransportError`."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lobs.errors import ObjectMissing, TransportError
from lobs.transport.redact import display_argv, redact_text
from lobs.transport.run import Result

# Checked in this order: an auth error mentioning "does not exist in our records"
# is a permission problem, not a missing object.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "network",
        re.compile(
            r"(?i)could not connect to the endpoint|connection refused|connect: |no such host|"
            r"name or service not known|network is unreachable|timeout awaiting|read timeout|"
            r"connect timeout|i/o timeout|EndpointConnectionError|send request failed|"
            r"temporary failure in name resolution|connection reset"
        ),
    ),
    (
        "permission",
        re.compile(
            r"(?i)AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|\b403\b|Forbidden|"
            r"Unable to locate credentials|NoCredentialProviders|ExpiredToken|InvalidToken|"
            r"permission denied|not authorized|AuthorizationHeaderMalformed|NoValidCredential"
        ),
    ),
    (
        "not_found",
        re.compile(
            r"(?i)NoSuchBucket|NoSuchKey|\b404\b|does not exist|directory not found|not found|"
            r"didn't find section in config file|no such file"
        ),
    ),
]

HINTS = {
    "not_found": "check the remote URL (bucket and prefix) and that the bucket exists",
    "permission": "check the credentials the tool uses (profile, environment, rclone.conf) "
    "and that they may access this bucket",
    "network": "check the endpoint URL and your network; timeouts and retries can be set with "
    "the remote's options or LOBS_CONNECT_TIMEOUT / LOBS_RETRIES",
    "tool_missing": "install the tool, or pick another transport (`lobs transports` lists them)",
    "tool_failed": "run the command above by hand to see the tool's full output",
    "prompt": "configure the tool so it does not need to ask (e.g. RCLONE_CONFIG_PASS, cached MFA "
    "credentials), or run lobs from a terminal",
    "timeout": "raise the timeout with the remote's idle_timeout/timeout options or "
    "LOBS_IDLE_TIMEOUT, or check the endpoint",
}


def classify(text: str) -> str:
    """The error kind a tool's stderr suggests; ``tool_failed`` when nothing matches."""
    for kind, pattern in _PATTERNS:
        if pattern.search(text):
            return kind
    return "tool_failed"


def trim(text: str, lines: int = 6, width: int = 400) -> str:
    """The last few non-empty lines of ``text``, redacted and shortened."""
    kept = [ln.strip()[:width] for ln in text.splitlines() if ln.strip()]
    return redact_text("\n".join(kept[-lines:]))


def tool_error(
    *,
    transport: str,
    remote: str,
    what: str,
    result: Result,
    failed: Sequence[str] = (),
    kind: str | None = None,
    text: str | None = None,
) -> TransportError:
    """A TransportError describing ``result``; ``kind`` None means classify the stderr."""
    stderr = trim(text if text is not None else result.stderr_text)
    if result.prompt:
        kind = "prompt"
        message = (
            f"{transport} asked {result.prompt!r} while trying to {what} on {remote}, "
            "and lobs has no terminal to relay the question"
        )
    elif result.timed_out:
        kind = "timeout"
        message = (
            f"{transport} timed out ({'no output' if result.timed_out == 'idle' else 'total time'} "
            f"for {result.seconds:.0f}s) trying to {what} on {remote}; it was stopped"
        )
    else:
        kind = kind or classify(stderr or result.stdout.decode("utf-8", "replace")[-2000:])
        first = stderr.splitlines()[-1] if stderr else f"exit status {result.returncode}"
        message = f"{transport} could not {what} on {remote}: {first}"
    hint = HINTS[kind] + f"\ncommand: {display_argv(result.argv)}"
    if kind == "not_found" and failed and what.startswith(("download", "read")):
        return ObjectMissing(message, hint, failed=list(failed))
    return TransportError(message, hint, kind=kind, failed=list(failed), stderr=stderr)


def missing(transport: str, remote: str, keys: Sequence[str]) -> ObjectMissing:
    shown = ", ".join(repr(k) for k in keys[:3]) + (" …" if len(keys) > 3 else "")
    return ObjectMissing(
        f"{len(keys)} object(s) missing from {remote} ({transport}): {shown}",
        "the remote does not hold these keys; `lobs verify` checks a target's snapshots against the remote",
        failed=list(keys),
    )
