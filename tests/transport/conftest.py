"""Fixtures for the transport tests: the moto server and a transport per kind."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lobs.transport import RemoteSpec, Transport, open_transport
from lobs.transport.definition import builtin_definitions
from lobs.transport.tools import find_executable
from tests.s3server import (  # noqa: F401 - fixtures
    MotoServer,
    S3Endpoint,
    moto_auth_server,
    moto_server,
    s3_auth_endpoint,
    s3_endpoint,
)

FAKE_TOOL = Path(__file__).with_name("fake_tool.py")
S3_TOOLS = ("aws", "rclone", "s5cmd")
ALL_KINDS = ("local", "mytool", *S3_TOOLS)


def require_tool(name: str) -> None:
    """Skip when a tool is missing, except in CI (CI=true), where it is a failure."""
    if name not in S3_TOOLS or find_executable(builtin_definitions()[name]):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} is not installed, and CI must test every transport")
    pytest.skip(f"{name} is not installed (set CI=true to make this a failure)")


def fake_tool_transports(batch: bool = True) -> dict[str, Any]:
    """A user-defined transport `mytool` (instaclone style) backed by fake_tool.py."""
    tool = f"{shlex.quote(sys.executable)} {shlex.quote(str(FAKE_TOOL))}"
    spec: dict[str, Any] = {
        "upload": f"{tool} put {{{{ local }}}} {{{{ url }}}}",
        "download": f"{tool} get {{{{ url }}}} {{{{ local }}}}",
        "list": f"{tool} ls {{{{ root }}}} {{{{ prefix }}}}",
        "list_output": {"pattern": r"^(?P<size>\d+)\t(?P<key>.*)$", "empty_when": "^$"},
        "delete": f"{tool} rm {{{{ url }}}}",
        "cat": f"{tool} cat {{{{ url }}}}",
    }
    if batch:
        spec["upload_batch"] = {
            "argv": f"{tool} batch",
            "stdin": "{{ local }}\t{{ url }}",
            "output": {"pattern": r"^done\t(?P<url>.*)$"},
        }
        spec["download_batch"] = {
            "argv": f"{tool} batch",
            "stdin": "{{ url }}\t{{ local }}",
            "output": {"pattern": r"^done\t(?P<local>.*)$"},
        }
    return {"mytool": spec}


OpenRemote = Callable[..., Transport]


@pytest.fixture
def open_remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenRemote]:
    """``open_remote(kind, **spec_fields)``: a transport of that kind on a fresh root."""
    opened: list[Transport] = []

    def make(kind: str, prefix: str = "root", **fields: Any) -> Transport:
        if kind in S3_TOOLS:
            require_tool(kind)
            ep: S3Endpoint = request.getfixturevalue("s3_endpoint")
            fields.setdefault("endpoint_url", ep.url)
            spec = RemoteSpec(url=fields.pop("url", ep.s3_url(prefix)), transport=kind, **fields)
            transport = open_transport(spec)
        elif kind == "local":
            transport = open_transport(RemoteSpec(url=str(tmp_path / "remote" / prefix), transport="local"))
        else:
            root = tmp_path / "remote" / prefix
            root.mkdir(parents=True, exist_ok=True)
            batch = fields.pop("batch", True)
            spec = RemoteSpec(url=fields.pop("url", str(root)), transport="mytool", **fields)
            transport = open_transport(spec, fake_tool_transports(batch))
        opened.append(transport)
        return transport

    yield make
    for t in opened:
        t.close()


@pytest.fixture(params=ALL_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)
