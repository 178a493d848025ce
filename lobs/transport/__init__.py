"""Transports: the programs that move bytes. See :mod:`lobs.transport.base`.

:mod:`lobs.transport.introspect` (``describe_transports``, ``doctor``) and
:mod:`lobs.transport.registry` (``open_transport``, with the templates) are imported
on first use: a push or pull does not need the first, ``lobs status`` neither.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lobs.transport.base import Capabilities, RemoteObject, Transfer, TransferEvents, Transport
from lobs.transport.redact import redact
from lobs.transport.spec import RemoteSpec

if TYPE_CHECKING:
    from lobs.transport.introspect import Probe, TransportInfo, describe_transports, doctor
    from lobs.transport.registry import open_transport

_LAZY = {"Probe": "introspect", "TransportInfo": "introspect", "describe_transports": "introspect",
         "doctor": "introspect", "open_transport": "registry"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"lobs.transport.{_LAZY[name]}")
        return getattr(module, name)
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
