"""Kill `lobs push` and `lobs pull` at random points; re-running must converge.

The processes are real subprocesses killed with SIGKILL (no cleanup code runs).
Half of the kill points are a random delay after start (startup, scan, hash);
the other half come right after the k-th per-file event of ``--json`` output, so
that many kills land in the middle of the transfer and apply phases. After each
kill the invariants are checked:

- push: the remote ref points at a snapshot that loads and verifies, is exactly
  the old or the new tree, and every object it names exists with its stored
  size; every object file under its final name decodes to its own hash.
- pull: every file of the destination is the old or the new version, byte for
  byte (never half-written), no lobs temp file is tracked content.

The RNG seed is printed; set LOBS_CRASH_SEED to replay a run and
LOBS_CRASH_KILLS to change the number of kills.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import zstandard

from lobs.ignore import Rules
from lobs.remote import Layout, Remote
from lobs.scan import scan
from lobs.transport.local import LocalTransport
from tests.conftest import Cli
from tests.trees import Node, assert_same_tree, build_many, leftover_temps, tree_state

KILLS = int(os.environ.get("LOBS_CRASH_KILLS", "16"))
FILES = 240
BIG_EVERY = 40  # 6 files of BIG_SIZE
BIG_SIZE = 3 << 20
HANG_LIMIT = 120.0  # a process that runs this long is hung: fail instead of waiting forever


@pytest.fixture(scope="module")
def seed() -> int:
    s = int(os.environ.get("LOBS_CRASH_SEED", str(random.SystemRandom().randrange(1 << 30))))
    print(f"\ncrash test seed: LOBS_CRASH_SEED={s}")
    return s


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "lobs.cli.main", *args]


@dataclass
class Versions:
    old: Path
    new: Path
    old_state: dict[bytes, Node]
    new_state: dict[bytes, Node]


def make_versions(tmp: Path, seed: int) -> Versions:
    old = build_many(tmp / "v1", FILES, seed=seed, big_every=BIG_EVERY, big_size=BIG_SIZE, tag=b"v1")
    new = build_many(tmp / "v2", FILES, seed=seed, big_every=BIG_EVERY, big_size=BIG_SIZE, tag=b"v2")
    # the new version also removes some files, adds others, and changes modes
    for i, p in enumerate(sorted(new.rglob("*.dat"))):
        if i % 11 == 0:
            p.unlink()
        elif i % 17 == 0:
            p.write_bytes(p.with_name("x").name.encode())  # a tiny file now
        elif i % 19 == 0:
            shutil.copyfile(old / p.relative_to(new), p)  # same content as before, new mode
            os.chmod(p, 0o700)
    (new / "added").mkdir()
    for i in range(20):
        (new / "added" / f"n{i}.txt").write_bytes(b"added %d\n" % i * (i + 1))
    os.symlink("added/n1.txt", new / "link-new")
    os.symlink("g0", old / "link-old")
    return Versions(old, new, tree_state(old), tree_state(new))


def copy_tree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)


class Runner:
    """Starts lobs as a subprocess with the test's environment, and kills it."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.last_duration = 1.0  # of the last run_to_end: the range of random kill delays

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            _cmd(*args, "--json"), cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def run_to_end(self, *args: str) -> tuple[int, str]:
        t0 = time.monotonic()
        p = subprocess.run(_cmd(*args), check=False, cwd=self.cwd, env=self.env, capture_output=True, timeout=HANG_LIMIT)
        self.last_duration = time.monotonic() - t0
        return p.returncode, p.stderr.decode("utf-8", "replace")

    def interrupt(self, args: tuple[str, ...], rng: random.Random, sig: int, events: int, span: float) -> tuple[int, str]:
        """Run, deliver ``sig`` at a random point, return (exit code, how it was chosen).

        The point is a random delay below ``span`` seconds (the duration of a
        similar complete run), or the moment the k-th per-file event is seen.
        """
        proc = self.start(*args)
        assert proc.stderr is not None
        if rng.random() < 0.5:
            delay = rng.uniform(0.0, span)
            how = f"after {delay:.2f}s"
            time.sleep(delay)
        else:
            k = rng.randrange(1, max(2, events))
            how = f"after file event {k}"
            seen = 0
            for line in iter(proc.stderr.readline, b""):
                if line.startswith(b"{") and json.loads(line).get("event") == "file":
                    seen += 1
                    if seen >= k:
                        break
        if proc.poll() is None:
            proc.send_signal(sig)
        drain = threading.Thread(target=proc.stderr.read, daemon=True)
        drain.start()
        try:
            code = proc.wait(timeout=HANG_LIMIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"lobs {' '.join(args)} did not exit after signal {sig} ({how})") from None
        return code, how


# ------------------------------------------------------------------ invariants


def remote_state(remote: Path) -> dict[str, str]:
    """Check the remote through lobs.remote; return the ref'd snapshot as path -> hash (or link)."""
    r = Remote(LocalTransport(str(remote), create=False), Layout("cas", ""), str(remote))
    sid = r.read_ref()
    assert sid is not None
    m = r.read_snapshot(sid)  # verifies bytes against the id and validates
    for e in m.entries:
        if e.stored is None:
            continue
        obj = remote / r.layout.key_of(e)  # its own object, or its pack
        assert obj.is_file(), f"ref {sid[:12]} names a missing object for {e.path}"
        end = e.stored.offset + e.stored.size if e.stored.pack else e.stored.size
        assert obj.stat().st_size == end or (e.stored.pack and obj.stat().st_size > end), f"object of {e.path} has the wrong size"
    return {e.path: (e.link if e.link is not None else e.hash) for e in m.entries}


def check_objects(remote: Path, checked: dict[Path, float]) -> None:
    """Every object under its final name is complete: its decoded bytes hash to its key."""
    for p in (remote / "objects").rglob("*"):
        if not p.is_file() or p.name.startswith(".lobs-tmp-"):
            continue
        st = p.stat()
        if checked.get(p) == st.st_mtime:
            continue
        data = p.read_bytes()
        if p.parent.name == "packs":  # a pack is named by its own sha256
            assert hashlib.sha256(data).hexdigest()[:32] == p.name, f"half-written pack {p}"
            checked[p] = st.st_mtime
            continue
        if p.name.endswith(".zst"):
            data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        digest = p.parent.name + p.name.removesuffix(".zst")
        assert hashlib.sha256(data).hexdigest() == digest, f"half-written object {p}"
        checked[p] = st.st_mtime


def as_manifest(state: dict[bytes, Node]) -> dict[str, str]:
    out = {}
    for p, n in state.items():
        if n.kind in ("file", "link"):  # lobs keeps a link as its target
            out[os.fsdecode(p)] = n.digest
    return out


def check_old_or_new(dst: Path, v: Versions) -> None:
    now = tree_state(dst, skip_top=(".lobs",))
    for p, n in now.items():
        if n.kind == "dir":
            continue
        name = os.fsdecode(p)
        if name.startswith(".lobs-tmp-") or "/.lobs-tmp-" in name:
            continue  # a temp file is not content (checked below: never tracked)
        choices = [s[p] for s in (v.old_state, v.new_state) if p in s]
        assert choices, f"{name} is neither in the old nor the new version"
        ok = any(n.kind == c.kind and n.digest == c.digest for c in choices)
        assert ok, f"{name} is half-written or foreign: {n} not in {choices}"
        if n.kind == "file":
            assert n.mode in {c.mode for c in choices}, f"{name} has mode {oct(n.mode)}"
    tracked = scan(dst, Rules.root(), strict_names=False).files
    assert not [f.path for f in tracked if ".lobs-tmp-" in f.path or ".lobs-staging-" in f.path]


# ------------------------------------------------------------------ tests


@pytest.fixture
def versions(tmp_path: Path, seed: int) -> Versions:
    return make_versions(tmp_path, seed)


@pytest.fixture
def runner(env: dict[str, str], tmp_path: Path) -> Runner:
    return Runner(env, tmp_path)


def test_push_killed_converges(runner: Runner, versions: Versions, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    src, remote = tmp_path / "src", tmp_path / "remote"
    copy_tree(versions.old, src)
    code, err = runner.run_to_end("push", "src", str(remote))
    assert code == 0, err
    span = runner.last_duration
    old_m = as_manifest(versions.old_state)
    new_m = as_manifest(versions.new_state)
    assert remote_state(remote) == old_m
    copy_tree(versions.new, src)
    checked: dict[Path, float] = {}
    outcomes = []
    current = versions.new_state
    for i in range(KILLS):
        code, how = runner.interrupt(("push", "src", str(remote)), rng, signal.SIGKILL, FILES, span)
        outcomes.append((code, how))
        assert code in (-signal.SIGKILL, 0), f"kill {i} ({how}): exit {code}"
        got = remote_state(remote)
        assert got in (old_m, new_m), f"kill {i} ({how}): the ref is neither the old nor the new tree"
        if code == 0:
            assert got == as_manifest(current)
        check_objects(remote, checked)
        assert tree_state(src) == current, "push changed its source"
        if code == 0:  # it finished first: push the other version next, so there is work again
            current = versions.old_state if current is versions.new_state else versions.new_state
            copy_tree(versions.old if current is versions.old_state else versions.new, src)
    if current is not versions.new_state:
        copy_tree(versions.new, src)
    print(f"push kills: {outcomes}")
    # not a timing assertion: with delays drawn below a full run's duration, a few must land
    assert sum(1 for c, _ in outcomes if c != 0) >= 3, "too few kills landed during the push"
    code, err = runner.run_to_end("push", "src", str(remote))
    assert code == 0, err
    assert remote_state(remote) == new_m
    check_objects(remote, checked)
    code, err = runner.run_to_end("pull", str(remote), "out")
    assert code == 0, err
    assert_same_tree(versions.new_state, tree_state(tmp_path / "out"))


def test_pull_killed_converges(runner: Runner, versions: Versions, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed + 1)
    remote = tmp_path / "remote"
    # the old version is pulled from the same remote, so the new pull is an update
    copy_tree(versions.old, tmp_path / "src")
    assert runner.run_to_end("push", "src", str(remote))[0] == 0
    assert runner.run_to_end("pull", str(remote), "dst")[0] == 0
    assert_same_tree(versions.old_state, tree_state(tmp_path / "dst"))
    span = runner.last_duration
    copy_tree(versions.new, tmp_path / "src")
    code, err = runner.run_to_end("push", "src", str(remote))
    assert code == 0, err
    dst = tmp_path / "dst"
    outcomes = []
    finished = 0
    for i in range(KILLS):
        code, how = runner.interrupt(("pull", str(remote), "dst"), rng, signal.SIGKILL, 2 * FILES, span)
        outcomes.append((code, how))
        assert code in (-signal.SIGKILL, 0), f"kill {i} ({how}): exit {code}"
        check_old_or_new(dst, versions)
        if code == 0:
            assert_same_tree(versions.new_state, tree_state(dst))
            finished += 1
            # back to the old version for the next round, through lobs itself
            r = runner.run_to_end("pull", f"{remote}@{_first_snapshot(remote)}", "dst")
            assert r[0] == 0, r[1]
            assert_same_tree(versions.old_state, tree_state(dst))
    print(f"pull kills: {outcomes}")
    code, err = runner.run_to_end("pull", str(remote), "dst")
    assert code == 0, err
    assert_same_tree(versions.new_state, tree_state(dst))
    assert leftover_temps(tmp_path) == [], "temp or staging files left after a complete pull"
    assert sum(1 for c, _ in outcomes if c != 0) >= 3, "too few kills landed during the pull"


def _first_snapshot(remote: Path) -> str:
    r = Remote(LocalTransport(str(remote), create=False), Layout("cas", ""), str(remote))
    history = list(r.history(r.read_ref()))
    return history[-1][0]


@pytest.mark.parametrize("command", ["push", "pull"])
def test_ctrl_c_exits_130_and_converges(runner: Runner, versions: Versions, tmp_path: Path, seed: int, command: str) -> None:
    rng = random.Random(seed + 2)
    remote = tmp_path / "remote"
    copy_tree(versions.old, tmp_path / "src")
    assert runner.run_to_end("push", "src", str(remote))[0] == 0
    assert runner.run_to_end("pull", str(remote), "dst")[0] == 0
    copy_tree(versions.new, tmp_path / "src")
    if command == "pull":
        assert runner.run_to_end("push", "src", str(remote))[0] == 0
    args = ("push", "src", str(remote)) if command == "push" else ("pull", str(remote), "dst")
    interrupted = 0
    for _ in range(4):
        proc = runner.start(*args)
        assert proc.stderr is not None
        k = rng.randrange(1, 60)
        seen = 0
        for line in iter(proc.stderr.readline, b""):
            if line.startswith(b"{") and json.loads(line).get("event") == "file":
                seen += 1
                if seen >= k:
                    break
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        code = proc.wait(timeout=HANG_LIMIT)
        if code == 0:
            break  # it finished first
        assert code == 130, (code, rest[-2000:])
        assert b"Traceback" not in rest, rest[-2000:]
        interrupted += 1
        if command == "push":
            got = remote_state(remote)
            assert got == as_manifest(versions.old_state), "an interrupted push moved the ref"
            check_objects(remote, {})
        else:
            check_old_or_new(tmp_path / "dst", versions)
    assert interrupted >= 1
    assert runner.run_to_end(*args)[0] == 0
    if command == "push":
        assert remote_state(remote) == as_manifest(versions.new_state)
    else:
        assert_same_tree(versions.new_state, tree_state(tmp_path / "dst"))
        assert leftover_temps(tmp_path) == []


def _wait_for_event(proc: subprocess.Popen[bytes]) -> Iterator[dict[str, object]]:
    assert proc.stderr is not None
    for line in iter(proc.stderr.readline, b""):
        if line.startswith(b"{"):
            yield json.loads(line)


def test_concurrent_push_fails_fast_with_locked(runner: Runner, cli: Cli, versions: Versions, tmp_path: Path) -> None:
    copy_tree(versions.new, tmp_path / "src")
    remote = tmp_path / "remote"
    first = runner.start("push", "src", str(remote))
    try:
        next(_wait_for_event(first))  # the first phase event: the lock is held from before the scan
        first.send_signal(signal.SIGSTOP)  # keep it holding the lock, deterministically
        r = cli("push", "src", str(remote))
        assert r.code == 8, (r.code, r.err)
        assert len(r.error_lines) == 1 and str(first.pid) in r.error_lines[0], r.err
        r = cli("pull", str(remote), "src")
        assert r.code == 8, (r.code, r.err)
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.stderr is not None
    first.stderr.read()
    assert first.wait(timeout=HANG_LIMIT) == 0
    assert remote_state(remote) == as_manifest(versions.new_state)


def test_lock_of_a_killed_process_does_not_block(runner: Runner, cli: Cli, versions: Versions, tmp_path: Path) -> None:
    copy_tree(versions.new, tmp_path / "src")
    remote = tmp_path / "remote"
    first = runner.start("push", "src", str(remote))
    next(_wait_for_event(first))
    first.send_signal(signal.SIGSTOP)
    assert cli("push", "src", str(remote)).code == 8  # it really held the lock
    first.kill()
    first.wait(timeout=HANG_LIMIT)
    r = cli("push", "src", str(remote))
    assert r.code == 0, r.err
    assert remote_state(remote) == as_manifest(versions.new_state)
