"""Transports: the programs that move bytes. See :mod:`lobs.transport.base`."""

from lobs.transport.base import Capabilities, RemoteObject, Transfer, TransferEvents, Transport
from lobs.transport.introspect import Probe, TransportInfo, describe_transports, doctor
from lobs.transport.redact import redact
from lobs.transport.registry import open_transport
from lobs.transport.spec import RemoteSpec

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
