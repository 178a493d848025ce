"""Export and import: byte-identical round trips, determinism, standard tools, stdin, plain tar."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import zstandard

from lobs.errors import ExitCode
from tests.archive.craft import MANIFEST
from tests.conftest import Cli
from tests.trees import HOSTILE_NAMES, assert_same_tree, leftover_temps, tree_state

TAR = "/usr/bin/tar"


def members(archive: Path) -> list[tarfile.TarInfo]:
    raw = archive.read_bytes()
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True).read()
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as t:
        return t.getmembers()


def test_roundtrip_is_byte_identical(cli: Cli, tree: Path, tmp_path: Path) -> None:
    assert len(HOSTILE_NAMES) >= 30
    r = cli("export", str(tree), "-o", "a.tar.zst", "--level", "3")
    assert r.code == 0, r.err
    r = cli("import", "a.tar.zst", "-o", "out")
    assert r.code == 0, r.err
    assert "verified" in r.out
    assert_same_tree(tree_state(tree), tree_state(tmp_path / "out"))
    assert not leftover_temps(tmp_path)


def test_archive_layout_manifest_first_and_deterministic_headers(cli: Cli, tree: Path, tmp_path: Path) -> None:
    assert cli("export", str(tree), "-o", "a.tar.zst", "--level", "3").code == 0
    ms = members(tmp_path / "a.tar.zst")
    assert ms[0].name == MANIFEST
    names = [m.name for m in ms[1:]]
    assert names == sorted(names, key=lambda n: n.encode())
    assert {(m.uid, m.gid, m.uname, m.gname) for m in ms} == {(0, 0, "", "")}
    assert len({m.mtime for m in ms}) == 1
    for m in ms:
        assert not {"atime", "ctime", "uname", "gname"} & set(m.pax_headers)
    raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO((tmp_path / "a.tar.zst").read_bytes())).read()
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as t:
        f = t.extractfile(MANIFEST)
        assert f is not None
        doc = json.loads(f.read())
    assert doc["format"] == "lobs.manifest/1" and doc["hash"] == "sha256"
    paths = [e["path"] for e in doc["entries"]]
    assert paths == names
    link = next(m for m in ms if m.name == "run-link")
    assert link.issym() and link.linkname == "bin/run.sh"
    assert next(m for m in ms if m.name == "bin/read-only").mode == 0o444


def test_export_twice_gives_the_same_bytes_for_any_thread_count(cli: Cli, tree: Path, tmp_path: Path) -> None:
    assert cli("export", str(tree), "-o", "1.tar.zst", "--level", "5", "--threads", "1").code == 0
    assert cli("export", str(tree), "-o", "2.tar.zst", "--level", "5", "--threads", "2").code == 0
    assert cli("export", str(tree), "-o", "3.tar.zst", "--level", "5", "--threads", "2").code == 0
    a, b, c = ((tmp_path / f"{i}.tar.zst").read_bytes() for i in (1, 2, 3))
    assert a == b == c


def test_system_tar_lists_and_extracts(cli: Cli, tree: Path, tmp_path: Path) -> None:
    assert cli("export", str(tree), "-o", "a.tar.zst", "--level", "3", "--long").code == 0
    listing = subprocess.run([TAR, "--zstd", "-tvf", "a.tar.zst"], cwd=tmp_path, capture_output=True, check=True)
    lines = listing.stdout.decode().splitlines()
    assert lines[0].endswith(MANIFEST)
    assert any("run-link -> bin/run.sh" in line for line in lines)
    dest = tmp_path / "by-tar"
    dest.mkdir()
    subprocess.run([TAR, "--zstd", "-xf", str(tmp_path / "a.tar.zst"), "-C", str(dest)], check=True)
    assert_same_tree(tree_state(tree), tree_state(dest))  # tree_state skips .lobs/ (the manifest)


def test_plain_tar_format(cli: Cli, tree: Path, tmp_path: Path) -> None:
    r = cli("export", str(tree), "-o", "a.tar")
    assert r.code == 0, r.err
    assert (tmp_path / "a.tar").read_bytes()[257:262] == b"ustar"
    subprocess.run([TAR, "-tf", "a.tar"], cwd=tmp_path, check=True, capture_output=True)
    assert cli("import", "a.tar", "-o", "out").code == 0
    assert_same_tree(tree_state(tree), tree_state(tmp_path / "out"))


def test_import_from_stdin_and_export_to_stdout(tree: Path, tmp_path: Path, lobs_env: dict[str, str]) -> None:
    lobs = [sys.executable, "-m", "lobs.cli.main"]
    exp = subprocess.run([*lobs, "export", str(tree), "-o", "-", "--level", "3"], check=False, capture_output=True, env=lobs_env, cwd=tmp_path)
    assert exp.returncode == 0, exp.stderr
    assert exp.stdout[:4] == b"\x28\xb5\x2f\xfd"
    imp = subprocess.run([*lobs, "import", "-", "-o", "out"], input=exp.stdout, check=False, capture_output=True, env=lobs_env, cwd=tmp_path)
    assert imp.returncode == 0, imp.stderr
    assert_same_tree(tree_state(tree), tree_state(tmp_path / "out"))


def test_plain_tar_imports_with_a_warning(cli: Cli, tree: Path, tmp_path: Path) -> None:
    subprocess.run([TAR, "--zstd", "-cf", str(tmp_path / "p.tar.zst"), "-C", str(tree), "."], check=True)
    r = cli("import", "p.tar.zst", "-o", "out")
    assert r.code == 0, r.err
    assert "nothing could be verified" in r.err and "NOT verified" in r.out
    assert_same_tree(tree_state(tree), tree_state(tmp_path / "out"))


def test_non_empty_destination_needs_force_and_keeps_other_files(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "s"
    src.mkdir()
    (src / "a").write_text("new a")
    (src / "b").write_text("new b")
    assert cli("export", str(src), "-o", "x.tar.zst").code == 0
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "a").write_text("old a")
    (dest / "mine").write_text("keep me")
    before = tree_state(dest)
    r = cli("import", "x.tar.zst", "-o", "d")
    assert r.code == ExitCode.CONFLICT and "not empty" in r.err and "--force" in r.err
    assert tree_state(dest) == before
    r = cli("import", "x.tar.zst", "-o", "d", "--force")
    assert r.code == 0, r.err
    assert (dest / "a").read_text() == "new a" and (dest / "b").read_text() == "new b"
    assert (dest / "mine").read_text() == "keep me"


def test_force_never_writes_through_a_symlink(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "s"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "x").write_text("payload")
    assert cli("export", str(src), "-o", "x.tar.zst").code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dest = tmp_path / "d"
    dest.mkdir()
    os.symlink(elsewhere, dest / "sub")
    r = cli("import", "x.tar.zst", "-o", "d", "--force")
    assert r.code == ExitCode.INTEGRITY and "symlink" in r.err
    assert list(elsewhere.iterdir()) == []


def test_existing_output_is_not_replaced_without_force(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "f").write_text("x")
    (tmp_path / "a.tar.zst").write_text("precious")
    assert cli("export", "s", "-o", "a.tar.zst").code == ExitCode.CONFLICT
    assert (tmp_path / "a.tar.zst").read_text() == "precious"
    assert cli("export", "s", "-o", "a.tar.zst", "--force").code == 0


def test_export_refuses_links_that_leave_the_tree(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    os.symlink("../outside", tmp_path / "s" / "up")
    r = cli("export", "s", "-o", "a.tar.zst")
    assert r.code == ExitCode.UNSUPPORTED and "point outside" in r.err
    assert not (tmp_path / "a.tar.zst").exists() and not leftover_temps(tmp_path)
