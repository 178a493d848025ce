"""How a remote is reached: its URL and the options passed through to the tool."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lobs.errors import UnsupportedError


@dataclass(frozen=True)
class RemoteSpec:
    """Everything a transport needs to reach a remote root. Holds no secrets.

    ``transport`` None means: pick one that can reach ``url`` (local for folders;
    s5cmd, rclone, aws for ``s3://``; rclone for ``name:path``).
    """

    url: str
    transport: str | None = None
    name: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    no_sign_request: bool = False
    options: Mapping[str, str] = field(default_factory=dict)  # e.g. sse, sse_kms_key_id, storage_class

    @property
    def display(self) -> str:
        return self.name or self.url


def url_scheme(url: str) -> str:
    """``file`` for folders, ``s3`` for s3://, ``rclone`` for ``name:path``."""
    if url.startswith("s3://"):
        return "s3"
    if url.startswith(("file://", "/", ".")):
        return "file"
    head, sep, _ = url.partition(":")
    if sep and head and "/" not in head and len(head) > 1:
        return "rclone"
    return "file"


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid relative object key, else raise UnsupportedError."""
    if (
        not key
        or key.startswith("/")
        or "\x00" in key
        or "\n" in key
        or "\r" in key
        or any(part in ("", ".", "..") for part in key.split("/"))
    ):
        raise UnsupportedError(f"invalid object key {key!r}")
    return key
