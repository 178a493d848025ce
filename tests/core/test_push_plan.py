"""What a push asks of the remote: its snapshot is trusted, a listing is taken only when
there is much new content (to send none of it twice), or when asked to repair."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import lobs.push_plan
from lobs.transport.base import RemoteObject
from lobs.transport.local import LocalTransport
from tests.conftest import Cli


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every listing of a folder remote, by prefix."""
    seen: list[str] = []
    real = LocalTransport.list

    def spy(self: LocalTransport, prefix: str = "") -> Iterator[RemoteObject]:
        seen.append(prefix)
        return real(self, prefix)

    monkeypatch.setattr(LocalTransport, "list", spy)
    return seen


def _uploads(out: str) -> list[str]:
    return sorted(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("upload "))


def test_a_push_lists_the_remote_only_when_it_pays(cli: Cli, tmp_path: Path, listings: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    src, remote = tmp_path / "src", str(tmp_path / "remote")
    src.mkdir()
    for i in range(5):
        (src / f"f{i}.txt").write_text(f"file {i}\n" * 30)
    assert cli("push", "--no-pack", "src", remote).code == 0
    assert listings == []  # five small files: sending them costs less than asking

    r = cli("push", "--no-pack", "src", remote)
    assert r.code == 0 and "up to date" in r.out
    assert listings == []  # nothing new: the snapshot says what is there

    (src / "f0.txt").write_text("changed\n")
    r = cli("push", "--no-pack", "src", remote)
    assert r.code == 0 and _uploads(r.out) == ["f0.txt"]
    assert listings == []  # a little new content is sent without asking

    # f0's first content is still stored (an older snapshot names it); a new file holding it
    (src / "again.txt").write_text("file 0\n" * 30)
    r = cli("push", "--no-pack", "src", remote, "--dry-run", "--json")
    planned = json.loads(r.out.splitlines()[0])["results"][0]["uploads"]
    assert [u["path"] for u in planned] == ["again.txt"] and listings == []  # below the threshold: sent again
    monkeypatch.setattr(lobs.push_plan, "LIST_ABOVE_FILES", 0)
    r = cli("push", "--no-pack", "src", remote)
    assert r.code == 0 and _uploads(r.out) == []
    assert listings == ["objects/"]  # above it: listed, found there, not sent


def test_repair_sends_what_the_remote_lost(cli: Cli, tmp_path: Path, listings: list[str]) -> None:
    src, remote = tmp_path / "src", tmp_path / "remote"
    src.mkdir()
    (src / "a.txt").write_text("alpha\n" * 40)
    (src / "b.txt").write_text("beta\n" * 40)
    assert cli("push", "--no-pack", "src", str(remote)).code == 0
    lost = min(p for p in (remote / "objects").rglob("*") if p.is_file())
    lost.unlink()
    r = cli("push", "--no-pack", "src", str(remote))
    assert r.code == 0 and "up to date" in r.out and not lost.exists()  # trusted: not noticed
    listings.clear()
    r = cli("push", "--no-pack", "src", str(remote), "--repair")
    assert r.code == 0, r.err
    assert len(_uploads(r.out)) == 1 and lost.exists()
    assert listings == ["objects/"]
    r = cli("pull", str(remote), "back")
    assert r.code == 0, r.err
    assert (tmp_path / "back" / "a.txt").read_bytes() == (src / "a.txt").read_bytes()


def test_small_files_are_compressed_once_and_kept_so_only_if_it_pays(cli: Cli, tmp_path: Path) -> None:
    """In cas, a file no bigger than a sample is not sampled: it is compressed when staged
    and sent compressed only if that saves 10%. The dry run shows what a sample says."""
    import os

    src, remote = tmp_path / "src", tmp_path / "remote"
    src.mkdir()
    (src / "text.json").write_text('{"k": "value"}\n' * 500)
    (src / "noise.bin").write_bytes(os.urandom(5000))
    (src / "big.txt").write_text("line of text\n" * 20000)  # over a sample: decided by sampling
    r = cli("push", "--no-pack", "src", str(remote), "--dry-run", "--json")
    planned = {u["path"]: u["codec"] for u in json.loads(r.out.splitlines()[0])["results"][0]["uploads"]}
    assert planned == {"text.json": "zstd", "noise.bin": "none", "big.txt": "zstd"}
    r = cli("push", "--no-pack", "src", str(remote), "--json")
    assert r.code == 0, r.err
    stored = sorted(p.name.endswith(".zst") for p in (remote / "objects").rglob("*") if p.is_file())
    assert stored == [False, True, True]  # noise raw, the two texts compressed
    r = cli("pull", str(remote), "back")
    assert r.code == 0, r.err
    for name in ("text.json", "noise.bin", "big.txt"):
        assert (tmp_path / "back" / name).read_bytes() == (src / name).read_bytes()


def test_a_mirror_that_changed_is_listed_and_its_touched_files_sent_again(cli: Cli, tmp_path: Path, listings: list[str]) -> None:
    """A mirror's files are meant to be read, and may be touched: when anything changed, the
    push lists the remote and sends again a file whose object is gone or has another size;
    with nothing changed it trusts its snapshot (`--repair` checks)."""
    src, remote = tmp_path / "src", tmp_path / "remote"
    src.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (src / name).write_text(f"{name}\n" * 40)
    assert cli("push", "src", str(remote), "--layout", "mirror").code == 0
    objects = {p.name: p for p in remote.rglob("*") if p.is_file() and p.name[0] in "abc"}
    objects.pop(min(k for k in objects if k.startswith("a"))).unlink()  # someone deleted a's object
    b_obj = next(v for k, v in objects.items() if k.startswith("b"))
    b_obj.write_bytes(b"shorter")  # and shortened b's
    listings.clear()
    r = cli("push", "src", str(remote), "--layout", "mirror")
    assert r.code == 0 and "up to date" in r.out and listings == []  # nothing changed here: trusted
    (src / "c.txt").write_text("c changed\n")
    r = cli("push", "src", str(remote), "--layout", "mirror")
    assert r.code == 0, r.err
    assert _uploads(r.out) == ["a.txt", "b.txt", "c.txt"] and listings
    r = cli("pull", str(remote), "back", "--layout", "mirror")
    assert r.code == 0, r.err
    for name in ("a.txt", "b.txt", "c.txt"):
        assert (tmp_path / "back" / name).read_bytes() == (src / name).read_bytes()
