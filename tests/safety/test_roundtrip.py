"""Round trips of a hostile tree through a folder remote: byte-identical, modes and links kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.trees import (
    CR_NAME,
    HOSTILE_NAMES,
    INVALID_UTF8_NAME,
    NEWLINE_NAME,
    Node,
    assert_same_tree,
    build_tree,
    leftover_temps,
    tree_state,
)

COMBOS = [("cas", "sha256"), ("cas", "xxh128"), ("mirror", "sha256"), ("mirror", "xxh128")]


def _check_clean(*roots: Path) -> None:
    for r in roots:
        assert leftover_temps(r) == [], f"temp files left under {r}"


def test_tree_has_what_the_brief_asks(tmp_path: Path) -> None:
    src = build_tree(tmp_path / "src")
    state = tree_state(src)
    assert len(HOSTILE_NAMES) >= 30
    for name in HOSTILE_NAMES:
        assert state[os.fsencode(name)].kind == "file", name
    assert state[b"cafe\xcc\x81"] != state[b"caf\xc3\xa9"]  # NFD and NFC: two files
    assert state[b"bin/run.sh"].mode == 0o755
    assert state[b"empty"].kind == "file"
    kinds = {n.kind for n in state.values()}
    assert kinds == {"file", "link", "dir"}
    assert state[b"links/to dir"] == Node("link", 0, "../nested/a")
    assert state[b"links/to file"] == Node("link", 0, "../with space")
    assert max(len(os.path.basename(p)) for p in state) == 200
    assert max(p.count(b"/") for p in state) >= 40


@pytest.mark.parametrize(("layout", "algo"), COMBOS)
def test_adhoc_round_trip(cli: Cli, tmp_path: Path, layout: str, algo: str) -> None:
    src = build_tree(tmp_path / "src")
    remote = tmp_path / "remote"
    before = tree_state(src)

    r = cli("push", "src", str(remote), "--layout", layout, "--hash", algo)
    assert r.code == 0, r.err
    assert tree_state(src) == before  # pushing never touches the source
    uploads = [line for line in r.out.splitlines() if line.startswith("upload ")]
    # every distinct content is one upload in cas, every file one in mirror
    files = [n for n in before.values() if n.kind == "file"]
    expected = len({n.digest for n in files}) if layout == "cas" else len(files)
    assert len(uploads) == expected

    r = cli("pull", str(remote), "dst", "--layout", layout)
    assert r.code == 0, r.err
    assert_same_tree(before, tree_state(tmp_path / "dst"))

    # nothing left to do, both ways
    r = cli("push", "src", str(remote), "--layout", layout, "--hash", algo)
    assert r.code == 0, r.err
    assert "up to date" in r.out
    assert not [line for line in r.out.splitlines() if line.startswith("upload ")]
    r = cli("pull", str(remote), "dst", "--layout", layout)
    assert r.code == 0, r.err
    assert "up to date" in r.out
    assert_same_tree(before, tree_state(tmp_path / "dst"))
    _check_clean(tmp_path)
    if layout == "mirror":  # readable paths on the remote, the name taken by a real x.zst kept apart
        assert (remote / "with space").is_file() or (remote / "with space.zst").is_file()
        assert (remote / "nested" / "c" / "name.zst").read_bytes() == (src / "nested" / "c" / "name.zst").read_bytes()


@pytest.mark.parametrize(("layout", "algo"), [("cas", "sha256"), ("mirror", "xxh128")])
def test_project_round_trip(cli: Cli, tmp_path: Path, layout: str, algo: str) -> None:
    remote = tmp_path / "remote"
    a = tmp_path / "a"
    a.mkdir()
    assert cli("init", cwd=a).code == 0
    r = cli("remote", "add", "origin", str(remote), "--layout", layout, "--hash", algo, cwd=a)
    assert r.code == 0, r.err
    build_tree(a / "data" / "set one")
    assert cli("track", "data/set one", cwd=a).code == 0
    before = tree_state(a / "data" / "set one")
    r = cli("push", cwd=a)
    assert r.code == 0, r.err
    assert (a / "lobs.lock").is_file()

    # a second checkout of the project pulls the same bytes
    b = tmp_path / "b"
    b.mkdir()
    (b / "lobs.yml").write_bytes((a / "lobs.yml").read_bytes())
    (b / "lobs.lock").write_bytes((a / "lobs.lock").read_bytes())
    r = cli("pull", cwd=b)
    assert r.code == 0, r.err
    assert_same_tree(before, tree_state(b / "data" / "set one"))
    r = cli("status", cwd=b)
    assert r.code == 0, r.err

    # from a sub folder, by target name
    r = cli("pull", "data/set one", cwd=b / "data")
    assert r.code in (0,), r.err
    _check_clean(tmp_path)


@pytest.mark.parametrize(
    "bad",
    [NEWLINE_NAME.encode(), CR_NAME.encode(), INVALID_UTF8_NAME],
    ids=["newline", "carriage-return", "invalid-utf8"],
)
def test_unstorable_names_are_refused(cli: Cli, tmp_path: Path, bad: bytes) -> None:
    src = build_tree(tmp_path / "src")
    (src / "sub").mkdir()
    with open(os.path.join(os.fsencode(src), bad), "wb") as f:
        f.write(b"x")
    os.mkdir(os.path.join(os.fsencode(src / "sub"), bad))
    with open(os.path.join(os.fsencode(src / "sub"), bad, b"inner"), "wb") as f:
        f.write(b"y")
    os.symlink(os.fsdecode(bad), src / "link to bad")
    remote = tmp_path / "remote"
    before = tree_state(src)

    r = cli("push", "src", str(remote))
    assert r.code == 9, (r.out, r.err)
    assert len(r.error_lines) == 1, r.err
    msg = r.error_lines[0]
    assert "3 name(s)" in msg, msg
    shown = repr(os.fsdecode(bad))[1:-1]
    assert msg.count(shown) >= 2 or shown in msg, msg
    assert "sub/" in msg and "link to bad" in msg, msg
    assert "Traceback" not in r.err
    assert not r.out.strip() or "upload" not in r.out
    # nothing was pushed: no objects, no snapshot, no ref
    pushed = [p for p in remote.rglob("*") if p.is_file()] if remote.exists() else []
    assert pushed == []
    assert tree_state(src) == before


def test_unstorable_names_refused_in_a_project(cli: Cli, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    assert cli("init").code == 0
    assert cli("remote", "add", "origin", str(remote)).code == 0
    data = build_tree(tmp_path / "data")
    (data / NEWLINE_NAME).write_bytes(b"n")
    assert cli("track", "data").code == 0
    r = cli("push")
    assert r.code == 9, r.err
    assert len(r.error_lines) == 1
    assert repr(NEWLINE_NAME)[1:-1] in r.error_lines[0]
    assert not remote.exists() or not [p for p in remote.rglob("*") if p.is_file()]


@pytest.mark.parametrize("in_place", [True, False])
def test_folder_pull_in_place_and_by_download(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool) -> None:
    """A folder remote's objects are decoded where they lie, never downloaded first; with
    that capability off the same pull goes through the transport's download. Both give
    the same tree, raw and compressed objects, duplicates and empty files alike."""
    from lobs.transport.base import Capabilities
    from lobs.transport.local import LocalTransport

    src = build_tree(tmp_path / "src")
    (src / "big.bin").write_bytes(os.urandom(3 << 20))  # raw, several reads
    (src / "big copy.bin").write_bytes((src / "big.bin").read_bytes())
    before = tree_state(src)
    remote = tmp_path / "remote"
    assert cli("push", "src", str(remote)).code == 0
    downloads: list[int] = []
    real_download = LocalTransport.download

    def counting(self: LocalTransport, items: object, *args: object, **kw: object) -> None:
        downloads.append(len(items))  # type: ignore[arg-type]
        real_download(self, items, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalTransport, "download", counting)
    if not in_place:
        monkeypatch.setattr(LocalTransport, "capabilities", Capabilities(read_in_place=False))
    r = cli("pull", str(remote), "dst")
    assert r.code == 0, r.err
    assert_same_tree(before, tree_state(tmp_path / "dst"))
    assert (downloads == []) if in_place else (sum(downloads) > 0)
    _check_clean(tmp_path)
