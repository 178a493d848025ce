"""Helpers of :class:`~lobs.transport.command.CommandTransport`: key checks, the keys'
common folder, SSE template variables, and running a function per item on threads."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lobs.errors import ObjectMissing, TransportError, UnsupportedError
from lobs.transport.base import Transfer
from lobs.transport.spec import check_key


def check_name(key: str) -> str:
    """check_key plus what no tool can carry: raises UnsupportedError."""
    check_key(key)
    if "\r" in key or "\n" in key:
        raise UnsupportedError(f"object key {key!r} contains a line break, which no transport tool can carry")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsupportedError(f"object key {key!r} is not valid UTF-8") from None
    return key


def common_folder(keys: Sequence[str]) -> str:
    """The longest folder (ending in "/", or "") that holds every key."""
    folders = [k.rpartition("/")[0] for k in keys]
    if not all(folders):
        return ""
    shared = os.path.commonpath(folders) if len(folders) > 1 else folders[0]
    return shared + "/" if shared else ""


def sse_context(options: Mapping[str, Any]) -> dict[str, Any]:
    """Template variables for server-side encryption (``sse``, ``sse_kms_key_id``)."""
    sse = str(options.get("sse") or "")
    kms = str(options.get("sse_kms_key_id") or "")
    args = ([f"--sse={sse}"] if sse else []) + ([f"--sse-kms-key-id={kms}"] if kms else [])
    return {
        "sse": sse,
        "sse_kms_key_id": kms,
        "sse_args": args,
        "sse_line": "".join(shlex.quote(a) + " " for a in args),
    }


def run_each(items: Sequence[Any], one: Callable[[Any], None], jobs: int) -> None:
    """Call ``one`` on every item, ``jobs`` at a time; raise a combined error with ``failed``."""
    failed: list[str] = []
    first: TransportError | None = None
    stop: list[TransportError] = []

    def guarded(item: Any) -> None:
        if stop:  # the remote is unreachable or refuses us: do not try the rest
            raise stop[0]
        try:
            one(item)
        except TransportError as e:
            if e.kind in ("network", "permission", "prompt", "timeout", "tool_missing"):
                stop.append(e)
            raise

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [(item, pool.submit(guarded, item)) for item in items]
        for item, fut in futures:
            try:
                fut.result()
            except TransportError as e:
                failed.append(item.key if isinstance(item, Transfer) else str(item))
                first = first or e
    if first is None:
        return
    if isinstance(first, ObjectMissing):
        raise ObjectMissing(f"{len(failed)} of {len(items)} failed: {first.message}", first.hint, failed=failed)
    raise TransportError(
        f"{len(failed)} of {len(items)} failed: {first.message}", first.hint, kind=first.kind, failed=failed, stderr=first.stderr
    )
