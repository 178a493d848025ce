"""A fault-injecting fake tool (fake_tool.py as a user transport) and the runner's guarantees."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from lobs.errors import TransportError
from lobs.transport import Transfer
from lobs.transport.env import child_env
from lobs.transport.run import run
from lobs.transport.settings import Settings
from lobs.transport.spec import RemoteSpec
from tests.transport.conftest import OpenRemote
from tests.transport.test_conformance import Recorder, make_files


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _gone(pids: list[int]) -> bool:
    for _ in range(50):  # the reparented child is reaped by init asynchronously
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def faulty(open_remote: OpenRemote, monkeypatch: pytest.MonkeyPatch) -> OpenRemote:
    for name in list(os.environ):
        if name.startswith("LOBS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LOBS_IDLE_TIMEOUT", "30")
    return open_remote


def test_exit_halfway_reports_failed_and_done(faulty: OpenRemote, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    remote = faulty("mytool")
    items = make_files(tmp_path / "src", [f"k{i}" for i in range(6)])
    monkeypatch.setenv("FAKE_FAULT", "fail-half")
    rec = Recorder()
    with pytest.raises(TransportError) as info:
        remote.upload(items, rec)
    assert rec.keys == ["k0", "k1", "k2"]
    assert info.value.failed == ["k3", "k4", "k5"]
    assert info.value.kind == "network"  # "connection reset" in the tool's stderr
    assert "connection reset" in info.value.message
    assert "command:" in (info.value.hint or "")
    monkeypatch.delenv("FAKE_FAULT")
    remote.upload(items, rec)  # re-running finishes the job
    assert sorted(o.key for o in remote.list("")) == [t.key for t in items]


def test_hang_is_killed_with_its_process_group(faulty: OpenRemote, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOBS_IDLE_TIMEOUT", "1")
    remote = faulty("mytool")
    pidfile = tmp_path / "pids"
    monkeypatch.setenv("FAKE_FAULT", "hang")
    monkeypatch.setenv("FAKE_PIDFILE", str(pidfile))
    with pytest.raises(TransportError) as info:
        remote.upload(make_files(tmp_path / "src", ["a", "b"]), Recorder())
    assert info.value.kind == "timeout"
    assert info.value.failed == ["a", "b"]
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == 2
    assert _gone(pids), "the tool or its child is still running"


def test_garbage_output_is_a_tool_failure(faulty: OpenRemote, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    remote = faulty("mytool")
    monkeypatch.setenv("FAKE_FAULT", "garbage")
    rec = Recorder()
    with pytest.raises(TransportError) as info:
        remote.download([Transfer(tmp_path / "x", "x", 1)], rec)
    assert info.value.kind == "tool_failed"
    assert info.value.failed == ["x"]
    assert rec.keys == []


def test_truncating_tool_is_reported_as_success(faulty: OpenRemote, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The transport trusts the tool; the engine's hash check is what catches this."""
    remote = faulty("mytool")
    items = make_files(tmp_path / "src", ["t"])
    monkeypatch.setenv("FAKE_FAULT", "truncate")
    rec = Recorder()
    remote.upload(items, rec)
    assert rec.keys == ["t"]
    assert [o.size for o in remote.list("")] == [items[0].size // 2]


def test_prompt_without_terminal_fails_at_once(faulty: OpenRemote, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    remote = faulty("mytool", batch=False)  # a batch form's stdin carries the file list
    monkeypatch.setenv("FAKE_FAULT", "prompt")
    with pytest.raises(TransportError) as info:
        remote.upload(make_files(tmp_path / "src", ["p"]), Recorder())
    assert info.value.kind == "prompt"
    assert "Enter MFA code for arn:aws:iam::1:mfa/me:" in info.value.message
    assert info.value.failed == ["p"]


def test_prompt_waiting_on_a_terminal_is_detected(faulty: OpenRemote, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    remote = faulty("mytool", batch=False)
    monkeypatch.setenv("FAKE_FAULT", "prompt-block")
    with pytest.raises(TransportError) as info:
        remote.read("anything")
    assert info.value.kind == "prompt"
    assert "Enter configuration password:" in info.value.message


def test_per_file_fallback_without_batch_form(faulty: OpenRemote, tmp_path: Path) -> None:
    remote = faulty("mytool", batch=False)
    assert not remote.capabilities.batch
    items = make_files(tmp_path / "src", ["a", "b/c", "d e"])
    rec = Recorder()
    remote.upload(items, rec, jobs=2)
    assert sorted(rec.keys) == ["a", "b/c", "d e"]
    back = [Transfer(tmp_path / f"g{i}", t.key, t.size) for i, t in enumerate(items)]
    remote.download(back, Recorder())
    assert [b.local.read_bytes() for b in back] == [t.local.read_bytes() for t in items]


def test_missing_program_is_tool_missing(open_remote: OpenRemote, tmp_path: Path) -> None:
    from lobs.transport import RemoteSpec as Spec
    from lobs.transport import open_transport

    user = {"ghost": {"upload": "/nonexistent/ghost put {{ local }} {{ url }}", "download": "/nonexistent/ghost get"}}
    remote = open_transport(Spec(url=str(tmp_path / "r"), transport="ghost"), user)
    with pytest.raises(TransportError) as info:
        remote.upload(make_files(tmp_path / "src", ["a"]), Recorder())
    assert info.value.kind == "tool_missing"


def test_ctrl_c_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    script = (
        "import os, subprocess, sys, time\n"
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pidfile)!r}, 'w').write(f'{{os.getpid()}} {{c.pid}}')\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )

    def interrupt(line: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(
            [sys.executable, "-c", script],
            env=child_env("test", RemoteSpec(url=".")),
            settings=Settings(idle_timeout=30),
            on_stdout=interrupt,
            interactive=False,
        )
    pids = [int(p) for p in pidfile.read_text().split()]
    assert _gone(pids)


def test_a_cancelled_tool_that_flushes_output_as_it_stops_is_not_stuck(tmp_path: Path) -> None:
    """s5cmd, told to stop, prints what it still holds: with our end of its pipe still open
    and unread it blocked until the SIGKILL two seconds later. The pipe is closed first
    now, so the child's write fails and it exits on its own (it gets to write its marker)."""
    import threading

    marker = tmp_path / "stopped-by-itself"
    script = (
        "import os, signal, sys, time\n"
        "def term(*_):\n"
        "    try:\n"
        "        sys.stdout.write('x' * (1 << 20)); sys.stdout.flush()\n"
        "    except BrokenPipeError:\n"
        "        pass\n"
        f"    open({str(marker)!r}, 'w').write('yes')\n"
        "    os._exit(0)\n"
        "signal.signal(signal.SIGTERM, term)\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    cancel = threading.Event()
    with pytest.raises(TransportError):
        run(
            [sys.executable, "-c", script],
            env=child_env("test", RemoteSpec(url=".")),
            settings=Settings(idle_timeout=30),
            on_stdout=lambda line: cancel.set(),
            interactive=False,
            cancel=cancel,
        )
    assert marker.read_text() == "yes"
