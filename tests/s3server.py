"""A local S3 server (moto) for tests, importable by any test package.

Use it through pytest fixtures (``pytest_plugins = ["tests.s3server"]`` or the
fixtures re-exported in ``tests/transport/conftest.py``):

* ``moto_server`` (session): a moto server on 127.0.0.1 on a free port.
* ``s3_endpoint``: resets the server, creates a bucket and sets a clean test
  environment (credentials ``test``/``test``, temp AWS config files, an empty
  ``RCLONE_CONFIG``, short timeouts). Returns :class:`S3Endpoint` with ``url``
  (the endpoint URL for ``--endpoint-url``) and ``bucket``.
* ``s3_auth_endpoint``: a second server that refuses the test credentials.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BUCKET = "lobs-test"


@dataclass(frozen=True)
class S3Endpoint:
    url: str  # http://127.0.0.1:PORT
    bucket: str

    def s3_url(self, prefix: str = "") -> str:
        return f"s3://{self.bucket}/{prefix}" if prefix else f"s3://{self.bucket}"


class MotoServer:
    """``python -m moto.server`` in a subprocess, output to a log file (never a pipe)."""

    def __init__(self, log: Path, extra_env: dict[str, str] | None = None) -> None:
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", **(extra_env or {}))
        env.pop("AWS_CA_BUNDLE", None)
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self.url = self._wait_for_port()

    def _wait_for_port(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = re.search(rb"Running on (http://127\.0\.0\.1:\d+)", self.log_path.read_bytes())
            if m:
                return m.group(1).decode()
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError("moto did not start within 30 s")

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read()).get("status") == "ok"

    def create_bucket(self, name: str) -> None:
        req = urllib.request.Request(f"{self.url}/{name}", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def clean_test_env(monkeypatch: pytest.MonkeyPatch, home: Path, also: dict[str, str] | None = None) -> None:
    """Credentials that moto accepts, config files of our own, short timeouts: set in this
    process's environment (transports opened directly) and in ``also`` (the environment an
    in-process CLI run is given: its transports use that one)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "aws-credentials").write_text("[default]\naws_access_key_id = test\naws_secret_access_key = test\n")
    (home / "aws-config").write_text("[default]\nregion = us-east-1\n")
    values = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "RCLONE_CONFIG": str(home / "rclone.conf"),  # does not exist: no remotes
        "LOBS_RETRIES": "0",
        "LOBS_CONNECT_TIMEOUT": "2",
        "LOBS_IO_TIMEOUT": "10",
        "LOBS_IDLE_TIMEOUT": "30",
    }
    stale = ("AWS_", "RCLONE_", "S3_", "LOBS_")
    for name in list(os.environ):
        if name.startswith(stale):
            monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    if also is not None:
        for name in [n for n in also if n.startswith(stale)]:
            del also[name]
        also.update(values)


def _cli_env(request: pytest.FixtureRequest) -> dict[str, str] | None:
    """The ``lobs_env`` of tests/conftest.py when the test has it (the ``cli`` fixture's)."""
    try:
        env = request.getfixturevalue("lobs_env")
    except pytest.FixtureLookupError:
        return None
    return env if isinstance(env, dict) else None


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto that enforces authentication after its first request (which creates the bucket)."""
    server = MotoServer(tmp_path_factory.mktemp("moto-auth") / "moto.log", {"INITIAL_NO_AUTH_ACTION_COUNT": "1"})
    server.create_bucket(BUCKET)
    yield server
    server.stop()


@pytest.fixture
def s3_endpoint(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> S3Endpoint:
    """A fresh, empty bucket on the shared moto server and a clean environment."""
    clean_test_env(monkeypatch, tmp_path / "home", _cli_env(request))
    moto_server.reset()
    moto_server.create_bucket(BUCKET)
    return S3Endpoint(moto_server.url, BUCKET)


@pytest.fixture
def s3_auth_endpoint(
    moto_auth_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> S3Endpoint:
    clean_test_env(monkeypatch, tmp_path / "home", _cli_env(request))
    return S3Endpoint(moto_auth_server.url, BUCKET)
