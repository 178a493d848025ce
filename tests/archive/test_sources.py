"""Export from remotes and project targets; import --track; files that change during an export."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from lobs.archive.export import ExportOptions, write_archive
from lobs.archive.sources import Source
from lobs.errors import ExitCode, IntegrityError
from lobs.index import Index
from lobs.model import Entry, Manifest, Stored
from lobs.progress import NullProgress
from tests.archive.conftest import make_tree
from tests.conftest import Cli
from tests.trees import assert_same_tree, leftover_temps, tree_state


@pytest.mark.parametrize("algo", ["sha256", "xxh128"])
def test_export_a_remote_snapshot(cli: Cli, tmp_path: Path, algo: str) -> None:
    src = make_tree(tmp_path / "src")
    url = (tmp_path / "remote").as_uri()
    r = cli("push", str(src), url, "--hash", algo)
    assert r.code == 0, r.err
    snap = r.lines[-1].split()[-1]
    (src / "later.txt").write_text("pushed later")
    assert cli("push", str(src), url, "--hash", algo).code == 0
    r = cli("export", f"{url}@{snap}", "-o", "old.tar.zst", "--level", "3")
    assert r.code == 0, r.err
    assert cli("import", "old.tar.zst", "-o", "old").code == 0
    (src / "later.txt").unlink()
    assert_same_tree(tree_state(src), tree_state(tmp_path / "old"))
    assert cli("export", url, "-o", "latest.tar.zst", "--level", "3").code == 0
    assert cli("import", "latest.tar.zst", "-o", "latest").code == 0
    assert (tmp_path / "latest" / "later.txt").read_text() == "pushed later"
    assert not leftover_temps(tmp_path)


def test_a_damaged_remote_object_fails_the_export(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.bin").write_bytes(os.urandom(5000))  # stored raw: easy to damage
    url = (tmp_path / "remote").as_uri()
    assert cli("push", str(src), url, "--compression", "none").code == 0
    obj = next(p for p in (tmp_path / "remote" / "objects").rglob("*") if p.is_file())
    data = obj.read_bytes()
    obj.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # always different (a fixed byte was 1 in 256 the same)
    r = cli("export", url, "-o", "a.tar.zst")
    assert r.code == ExitCode.INTEGRITY and "does not match" in r.err
    assert not (tmp_path / "a.tar.zst").exists() and not leftover_temps(tmp_path)


def test_a_file_that_changes_during_export_is_caught(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"now different")
    m = Manifest("t", entries=[Entry("f", 13, 0o644, "0" * 64, Stored("none", 13))])
    with pytest.raises(IntegrityError, match="changed while"):
        write_archive(Source(m, {"f": f}), io.BytesIO(), ExportOptions(level=1), NullProgress())


def test_import_track_registers_a_synced_target(cli: Cli, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    assert cli("export", str(src), "-o", "a.tar.zst", "--level", "3").code == 0
    proj = tmp_path / "proj"
    proj.mkdir()
    assert cli("init", cwd=proj).code == 0
    assert cli("remote", "add", "origin", str(tmp_path / "remote"), cwd=proj).code == 0
    r = cli("import", str(tmp_path / "a.tar.zst"), "-o", "data/in", "--track", cwd=proj)
    assert r.code == 0, r.err
    assert "data/in" in (proj / "lobs.yml").read_text()
    assert "data/in" in (proj / "lobs.lock").read_text()
    # every file's hash is in the index already: nothing needs reading again
    from lobs import api

    ws = api.workspaces(api.Context(cwd=proj, env={}), ["data/in"])[0]
    index = Index(ws.index_path)
    from lobs.scan import scan

    files = [f for f in scan(ws.root, ws.rules).files if f.link is None]
    assert files and all(index.lookup(f, "sha256") for f in files)
    r = cli("status", cwd=proj)
    assert r.code == 0 and "clean" in r.out, r.out
    r = cli("push", cwd=proj)
    assert r.code == 0, r.err
    clone = tmp_path / "clone"
    shutil.copytree(proj, clone, ignore=shutil.ignore_patterns(".lobs", "data"))
    r = cli("pull", cwd=clone)
    assert r.code == 0, r.err
    assert_same_tree(tree_state(src), tree_state(clone / "data" / "in"))


def test_export_a_project_target(cli: Cli, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    (proj / "data").mkdir(parents=True)
    (proj / "data" / "x.csv").write_text("a,b\n1,2\n")
    (proj / "data" / "skip.tmp").write_text("excluded")
    assert cli("init", cwd=proj).code == 0
    assert cli("remote", "add", "origin", str(tmp_path / "remote"), cwd=proj).code == 0
    assert cli("track", "data", cwd=proj).code == 0
    (proj / "data" / ".lobsignore").write_text("*.tmp\n")
    r = cli("export", "data", "-o", str(tmp_path / "d.tar.zst"), cwd=proj)
    assert r.code == 0, r.err
    assert cli("import", "d.tar.zst", "-o", "d").code == 0
    assert sorted(os.listdir(tmp_path / "d")) == [".lobsignore", "x.csv"]
