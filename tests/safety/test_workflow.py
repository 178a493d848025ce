"""Everyday safety: incremental pushes, refused overwrites, deletions, moved remote refs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import Cli, Result
from tests.trees import assert_same_tree, build_tree, tree_state


def uploads(r: Result) -> list[str]:
    return sorted(line[len("upload ") :] for line in r.out.splitlines() if line.startswith("upload "))


def json_uploads(r: Result) -> list[str]:
    doc = json.loads(r.out)
    return sorted(u["path"] for res in doc["results"] for u in res["uploads"])


@pytest.fixture
def two(cli: Cli, tmp_path: Path) -> tuple[Path, Path, str]:
    """``a`` pushed to ``remote`` and pulled into ``b``: two people synced at the same snapshot."""
    a = build_tree(tmp_path / "a")
    remote = str(tmp_path / "remote")
    assert cli("push", "a", remote).code == 0
    r = cli("pull", remote, "b")
    assert r.code == 0, r.err
    return a, tmp_path / "b", remote


@pytest.mark.parametrize("layout", ["cas", "mirror"])
def test_incremental_push_sends_only_what_changed(cli: Cli, tmp_path: Path, layout: str) -> None:
    a = build_tree(tmp_path / "a")
    remote = str(tmp_path / "remote")
    r = cli("push", "a", remote, "--layout", layout)
    assert r.code == 0, r.err
    assert len(uploads(r)) > 80

    (a / "with space").write_bytes(b"changed\n")
    (a / "nested" / "a" / "text.csv").write_bytes(b"1,2\n" * 1000)
    (a / "dirs" / "-rf" / "brand new").write_bytes(b"new file\n")
    (a / "bin" / "group").unlink()
    os.chmod(a / "bin" / "private", 0o640)  # a mode change alone sends no bytes
    r = cli("push", "a", remote, "--layout", layout)
    assert r.code == 0, r.err
    assert uploads(r) == sorted(["with space", "nested/a/text.csv", "dirs/-rf/brand new"])

    r = cli("push", "a", remote, "--layout", layout, "--json")
    assert r.code == 0, r.err
    assert json_uploads(r) == []

    if layout == "cas":  # a rename or a copy of known content sends nothing either
        os.rename(a / "with space", a / "renamed")
        (a / "copy of random").write_bytes((a / "nested" / "b" / "random.bin").read_bytes())
        r = cli("push", "a", remote, "--json")
        assert r.code == 0, r.err
        assert json_uploads(r) == []
    else:  # the removed file's readable copy is gone from the mirror
        assert not list((tmp_path / "remote" / "bin").glob("group*"))
    assert cli("pull", remote, "check", "--layout", layout).code == 0
    assert_same_tree(tree_state(a), tree_state(tmp_path / "check"))


def test_pull_refuses_to_overwrite_local_edits(cli: Cli, two: tuple[Path, Path, str]) -> None:
    a, b, remote = two
    (a / "with space").write_bytes(b"theirs\n")
    (a / "star*").write_bytes(b"theirs too\n")
    (a / "nested" / "c" / "name").write_bytes(b"not conflicting\n")
    assert cli("push", "a", remote).code == 0
    (b / "with space").write_bytes(b"mine\n")
    (b / "star*").write_bytes(b"mine too\n")
    before = tree_state(b)
    r = cli("pull", remote, "b")
    assert r.code == 4, r.err
    assert len(r.error_lines) == 1
    assert "with space" in r.error_lines[0] and "star*" in r.error_lines[0]
    assert_same_tree(before, tree_state(b))  # not even the non-conflicting file moved
    r = cli("pull", remote, "b", "--dry-run")
    assert r.code == 4
    r = cli("pull", remote, "b", "--force")
    assert r.code == 0, r.err
    assert_same_tree(tree_state(a), tree_state(b))


def test_pull_deletes_only_unchanged_files(cli: Cli, two: tuple[Path, Path, str]) -> None:
    a, b, remote = two
    (a / "#hash").unlink()
    (a / "100%").unlink()
    (a / "links" / "to dir").unlink()
    assert cli("push", "a", remote).code == 0
    (b / "100%").write_bytes(b"I edited this\n")
    before = tree_state(b)
    r = cli("pull", remote, "b")
    assert r.code == 4, r.err
    assert "100%" in r.error_lines[0] and "#hash" not in r.error_lines[0]
    assert_same_tree(before, tree_state(b))
    # put the edit back: the pull then deletes what is unchanged
    (b / "100%").unlink()
    r = cli("pull", remote, "b")
    assert r.code == 0, r.err
    assert not (b / "#hash").exists() and not (b / "links" / "to dir").is_symlink()
    assert_same_tree(tree_state(a), tree_state(b))


def test_pull_force_deletes_edited_file_removed_upstream(cli: Cli, two: tuple[Path, Path, str]) -> None:
    a, b, remote = two
    (a / "100%").unlink()
    assert cli("push", "a", remote).code == 0
    (b / "100%").write_bytes(b"I edited this\n")
    assert cli("pull", remote, "b").code == 4
    assert cli("pull", remote, "b", "--force").code == 0
    assert_same_tree(tree_state(a), tree_state(b))


def test_untracked_local_files_kept_unless_delete(cli: Cli, two: tuple[Path, Path, str]) -> None:
    a, b, remote = two
    (b / "my notes.txt").write_bytes(b"local only\n")
    (b / "nested" / "scratch").mkdir()
    (b / "nested" / "scratch" / "tmp $(x)").write_bytes(b"tmp\n")
    (a / "with space").write_bytes(b"update\n")
    assert cli("push", "a", remote).code == 0
    r = cli("pull", remote, "b")
    assert r.code == 0, r.err
    assert (b / "my notes.txt").read_bytes() == b"local only\n"
    assert (b / "nested" / "scratch" / "tmp $(x)").is_file()
    assert (b / "with space").read_bytes() == b"update\n"
    r = cli("pull", remote, "b", "--delete")
    assert r.code == 0, r.err
    assert not (b / "my notes.txt").exists() and not (b / "nested" / "scratch").exists()
    assert_same_tree(tree_state(a), tree_state(b))


def test_untracked_file_in_the_way_of_a_new_file(cli: Cli, two: tuple[Path, Path, str]) -> None:
    a, b, remote = two
    (a / "incoming").write_bytes(b"from a\n")
    (a / "same").write_bytes(b"identical\n")
    assert cli("push", "a", remote).code == 0
    (b / "incoming").write_bytes(b"b's own file with that name\n")
    (b / "same").write_bytes(b"identical\n")
    r = cli("pull", remote, "b")
    assert r.code == 4, r.err
    assert "incoming" in r.error_lines[0] and "same" not in r.error_lines[0].replace("incoming", "")
    assert (b / "incoming").read_bytes() == b"b's own file with that name\n"
    assert cli("pull", remote, "b", "--force").code == 0
    assert (b / "incoming").read_bytes() == b"from a\n"


def test_push_refuses_when_someone_else_pushed(cli: Cli, two: tuple[Path, Path, str], tmp_path: Path) -> None:
    a, b, remote = two
    (a / "with space").write_bytes(b"a was first\n")
    assert cli("push", "a", remote).code == 0
    ref_after_a = (tmp_path / "remote" / "refs" / "HEAD").read_bytes()
    (b / "single'quote").write_bytes(b"b second\n")
    r = cli("push", "b", remote)
    assert r.code == 4, r.err
    assert len(r.error_lines) == 1 and "someone else pushed" in r.error_lines[0]
    assert (tmp_path / "remote" / "refs" / "HEAD").read_bytes() == ref_after_a
    # the normal way: pull their change (keeping b's own edit of a file they did not touch), then push
    r = cli("pull", remote, "b")
    assert r.code == 0, r.err
    assert (b / "with space").read_bytes() == b"a was first\n"
    assert (b / "single'quote").read_bytes() == b"b second\n"
    r = cli("push", "b", remote)
    assert r.code == 0, r.err
    assert cli("pull", remote, "a").code == 0
    assert_same_tree(tree_state(a), tree_state(b))
    # --force replaces what the remote holds
    (a / "with space").write_bytes(b"a again\n")
    assert cli("push", "a", remote).code == 0
    (b / "emoji 😀🎉").write_bytes(b"b wins\n")
    assert cli("push", "b", remote).code == 4
    r = cli("push", "b", remote, "--force")
    assert r.code == 0, r.err
    assert cli("pull", remote, "fresh").code == 0
    assert_same_tree(tree_state(b), tree_state(tmp_path / "fresh"))


def test_push_into_a_remote_that_holds_other_data(cli: Cli, tmp_path: Path) -> None:
    build_tree(tmp_path / "a")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "f").write_bytes(b"other\n")
    remote = str(tmp_path / "remote")
    assert cli("push", "a", remote).code == 0
    r = cli("push", "other", remote)
    assert r.code == 4, r.err
    assert cli("push", "other", remote, "--force").code == 0
