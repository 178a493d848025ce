"""Transports: the programs that move bytes. See :mod:`lobs.transport.base`.

:mod:`lobs.transport.introspect` (``describe_transports``, ``doctor``) is imported
on first use: a push or pull does not need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lobs.transport.base import Capabilities, RemoteObject, Transfer, TransferEvents, Transport
from lobs.transport.redact import redact
from lobs.transport.registry import open_transport
from lobs.transport.spec import RemoteSpec

if TYPE_CHECKING:
    from lobs.transport.introspect import Probe, TransportInfo, describe_transports, doctor

_LAZY = ("Probe", "TransportInfo", "describe_transports", "doctor")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from lobs.transport import introspect

        return getattr(introspect, name)
    raise AttributeError(f"module 'lobs.transport' has no attribute {name!r}")


__all__ = [
    "Capabilities",
    "Probe",
    "RemoteObject",
    "RemoteSpec",
    "Transfer",
    "TransferEvents",
    "Transport",
    "TransportInfo",
    "describe_transports",
    "doctor",
    "open_transport",
    "redact",
]
