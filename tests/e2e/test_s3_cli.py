"""`lobs push DIR s3://…` / `lobs pull s3://… DIR` through the real aws, rclone and s5cmd
against moto: the hostile-name tree round-trips byte for byte with each, and a push with
one tool is pulled correctly with every other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lobs.errors import ExitCode
from tests.conftest import Cli
from tests.s3server import S3Endpoint
from tests.transport.conftest import require_tool
from tests.trees import assert_same_tree, build_tree, tree_state

TOOLS = ["aws", "rclone", "s5cmd"]


def s3(cli: Cli, ep: S3Endpoint, tool: str, *args: str) -> tuple[int, str, str]:
    r = cli(*args, "--transport", tool, "--endpoint-url", ep.url)
    return r.code, r.out, r.err


@pytest.mark.parametrize("layout", ["cas", "mirror"])
@pytest.mark.parametrize("pusher", TOOLS)
def test_round_trip_and_cross_pull(s3_endpoint: S3Endpoint, cli: Cli, tmp_path: Path, pusher: str, layout: str) -> None:
    for tool in TOOLS:
        require_tool(tool)
    src = build_tree(tmp_path / "src")
    tabbed = [p for p in src.rglob("*") if "\t" in p.name]
    if layout == "mirror":
        # A mirror stores files under their own names, and rclone cannot carry a control
        # character in a key (it rewrites a tab to a look-alike): lobs refuses it up front.
        assert tabbed
        code, out, err = s3(cli, s3_endpoint, "rclone", "push", str(src), s3_endpoint.s3_url("tab"), "--layout", layout)
        assert code == ExitCode.UNSUPPORTED and "lobs: error:" in err
        for p in tabbed:
            p.unlink()
    url = s3_endpoint.s3_url(f"{pusher}-{layout}")
    code, out, err = s3(cli, s3_endpoint, pusher, "push", str(src), url, "--layout", layout)
    assert code == 0, err
    snap = out.strip().splitlines()[-1].split()[-1]
    assert len(snap) == 64
    for puller in TOOLS:
        dst = tmp_path / f"dst-{puller}"
        code, out, err = s3(cli, s3_endpoint, puller, "pull", f"{url}@{snap[:10]}", str(dst), "--layout", layout)
        assert code == 0, f"{puller}: {err}"
        assert_same_tree(tree_state(src), tree_state(dst))
    assert not list(tmp_path.rglob("pwned*"))


@pytest.mark.parametrize("tool", TOOLS)
def test_incremental_push_sends_only_changes(s3_endpoint: S3Endpoint, cli: Cli, tmp_path: Path, tool: str) -> None:
    require_tool(tool)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(12):
        (src / f"f{i:02}.txt").write_text(f"file {i}\n" * 100)
    url = s3_endpoint.s3_url(f"inc-{tool}")
    assert s3(cli, s3_endpoint, tool, "push", str(src), url)[0] == 0
    (src / "f03.txt").write_text("changed\n")
    (src / "new.txt").write_text("new\n")
    code, out, err = s3(cli, s3_endpoint, tool, "push", str(src), url, "--json")
    assert code == 0, err
    result = json.loads(out)["results"][0]
    assert sorted(u["path"] for u in result["uploads"]) == ["f03.txt", "new.txt"]
    assert result["counts"]["unchanged"] == 11


@pytest.mark.parametrize("tool", TOOLS)
def test_failures_leave_ref_and_files_alone(s3_endpoint: S3Endpoint, cli: Cli, tmp_path: Path, tool: str) -> None:
    require_tool(tool)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    # a missing bucket
    r = cli("push", str(src), "s3://no-such-bucket-here/x", "--transport", tool, "--endpoint-url", s3_endpoint.url)
    assert r.code in (ExitCode.TRANSPORT, ExitCode.NOT_FOUND), r.err
    assert r.err.startswith("lobs: error:") and "Traceback" not in r.err
    # nothing pushed yet at a prefix
    r = cli("pull", s3_endpoint.s3_url("empty"), str(tmp_path / "d"), "--transport", tool, "--endpoint-url", s3_endpoint.url)
    assert r.code == ExitCode.NOT_FOUND
    # an unreachable endpoint fails fast with a transport error
    r = cli("push", str(src), s3_endpoint.s3_url("x"), "--transport", tool, "--endpoint-url", "http://127.0.0.1:9")
    assert r.code == ExitCode.TRANSPORT and "127.0.0.1:9" in r.err


@pytest.mark.parametrize("tool", [*TOOLS, "local"])
def test_upload_events_name_each_file_once_by_its_path(s3_endpoint: S3Endpoint, cli: Cli, tmp_path: Path, tool: str) -> None:
    """The tool reports keys; lobs reports the files they hold (path and size), once each."""
    src = tmp_path / "src"
    (src / "sub dir").mkdir(parents=True)
    sizes = {"a.txt": 3000, "sub dir/b.json": 10, "raw.bin": 5000}
    for name, n in sizes.items():
        (src / name).write_bytes((b"x" * n) if name != "raw.bin" else bytes(range(256)) * (n // 256) + b"r" * (n % 256))
    if tool == "local":
        r = cli("push", str(src), str(tmp_path / "folder-remote"), "--json")
    else:
        require_tool(tool)
        r = cli("push", str(src), s3_endpoint.s3_url(f"events-{tool}"), "--json", "--transport", tool,
                "--endpoint-url", s3_endpoint.url)
    assert r.code == 0, r.err
    events = [json.loads(line) for line in r.err.splitlines() if line.startswith("{")]
    uploads = [(e["path"], e["size"]) for e in events if e.get("event") == "file" and e.get("action") == "upload"]
    assert sorted(uploads) == sorted(sizes.items())


def test_vv_shows_each_tool_run_without_secrets(s3_endpoint: S3Endpoint, cli: Cli, tmp_path: Path) -> None:
    require_tool("s5cmd")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    r = cli("-vv", "push", str(src), s3_endpoint.s3_url("vv"), "--transport", "s5cmd", "--endpoint-url", s3_endpoint.url)
    assert r.code == 0, r.err
    runs = [line for line in r.err.splitlines() if line.startswith("lobs: ran ")]
    assert runs and all(re.search(r" \(exit -?\d+, \d+\.\d\d s\)$", line) for line in runs), runs
    assert any("s5cmd" in line and " ls " in line for line in runs)  # the objects listing
    assert "AWS_SECRET_ACCESS_KEY" not in r.err  # argv only (redacted), never the environment
    quiet = cli("push", str(src), s3_endpoint.s3_url("vv2"), "--transport", "s5cmd", "--endpoint-url", s3_endpoint.url)
    assert quiet.code == 0 and "lobs: ran" not in quiet.err  # off again in the same process


@pytest.mark.parametrize("tool", TOOLS)
def test_the_tools_get_the_environment_the_cli_is_given(
    s3_endpoint: S3Endpoint, cli: Cli, lobs_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool: str
) -> None:
    """In-process runs (tests, the Python API, the TUI) pass their own environment: credentials,
    config files and LOBS_* settings come from it, not from this process's."""
    require_tool(tool)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SHARED_CREDENTIALS_FILE", "LOBS_RETRIES"):
        monkeypatch.delenv(name)  # this process has no credentials; lobs_env has them
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("hello")
    url = s3_endpoint.s3_url(f"env-{tool}")
    code, _, err = s3(cli, s3_endpoint, tool, "push", str(src), url)
    assert code == 0, err
    code, _, err = s3(cli, s3_endpoint, tool, "pull", url, str(tmp_path / "dst"))
    assert code == 0, err
    assert (tmp_path / "dst" / "a.txt").read_text() == "hello"
    r = cli("push", str(src), url, "--transport", tool, "--endpoint-url", s3_endpoint.url,
            env={**lobs_env, "LOBS_RETRIES": "soon"})
    assert r.code == ExitCode.CONFIG and "retries must be a number" in r.err
