"""A corpus of malicious and broken archives, generated here: each is refused with exit 6,
a one-line message and a hint, and the destination (and its parent) are left exactly as they were."""

from __future__ import annotations

import io
import os
import random
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from lobs.errors import ExitCode
from tests.archive.craft import MANIFEST, Arch, M, lobs_archive, manifest_for, sha, tar_bytes, zst
from tests.conftest import Cli
from tests.trees import tree_state

OK = [M("a.txt", b"hello\n"), M("sub/b.bin", bytes(range(256)) * 40, mode=0o755), M("l", kind="link", link="a.txt")]


def good() -> bytes:
    return lobs_archive(OK)


def with_manifest(members: list[M], manifest_members: list[M] | None = None, **over: object) -> bytes:
    return zst(tar_bytes(Arch(members, manifest_for(manifest_members if manifest_members is not None else members, **over))))


def plain(members: list[M]) -> bytes:
    return zst(tar_bytes(Arch(members)))


def flip(data: bytes) -> bytes:
    b = bytearray(data)
    b[len(b) // 2] ^= 0x10
    return bytes(b)


def big_pax() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("x")
        ti.pax_headers = {"comment": "A" * (2 << 20)}
        t.addfile(ti, io.BytesIO(b""))
    return buf.getvalue()


def lying_manifest_hash() -> bytes:
    doc = manifest_for(OK)
    doc["entries"][0]["hash"] = sha(b"something else")
    return zst(tar_bytes(Arch(OK, doc)))


CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "absolute path": (lambda: plain([M("/etc/evil", b"x")]), "absolute"),
    "dot-dot": (lambda: plain([M("../evil", b"x")]), ".."),
    "dot-dot inside": (lambda: plain([M("a/../../evil", b"x")]), ".."),
    "absolute link": (lambda: plain([M("l", kind="link", link="/etc/passwd")]), "absolute"),
    "link up": (lambda: plain([M("d/l", kind="link", link="../../outside")]), "outside"),
    "link chain": (lambda: plain([M("a", kind="link", link="."), M("b", kind="link", link="a/..")]), "outside"),
    "link chain in manifest": (lambda: with_manifest([M("d/a", kind="link", link=".."), M("b", kind="link", link="d/a/..")]), "outside"),
    "write below a link": (lambda: plain([M("l", kind="link", link="sub"), M("l/x", b"x")]), "below"),
    "hard link": (lambda: plain([M("a", b"x"), M("h", kind="hardlink", link="a")]), "hard link"),
    "char device": (lambda: plain([M("dev", kind="chr")]), "device"),
    "block device": (lambda: plain([M("dev", kind="blk")]), "device"),
    "fifo": (lambda: plain([M("pipe", kind="fifo")]), "FIFO"),
    "duplicate member": (lambda: plain([M("a", b"1"), M("a", b"2")]), "twice"),
    "duplicate in lobs archive": (lambda: with_manifest([*OK, M("a.txt", b"hello\n")], OK), "twice"),
    "member not in manifest": (lambda: with_manifest([*OK, M("extra", b"x")], OK), "not in the manifest"),
    "entry missing from archive": (lambda: with_manifest(OK[:1], OK), "missing"),
    "manifest lies about a size": (lambda: with_manifest([M("a.txt", b"hello\n")], [M("a.txt", b"hell")]), "bytes"),
    "manifest lies about a hash": (lying_manifest_hash, "hash"),
    "manifest lies about a mode": (lambda: with_manifest([M("a.txt", b"x", mode=0o755)], [M("a.txt", b"x", mode=0o644)]), "mode"),
    "manifest lies about a link": (lambda: with_manifest([M("l", kind="link", link="a")], [M("l", kind="link", link="b")]), "link"),
    "manifest with dot-dot": (lambda: with_manifest([M("x", b"1")], [M("../x", b"1")]), "manifest"),
    "manifest not json": (lambda: zst(tar_bytes(Arch([M(MANIFEST, b"{not json"), M("a", b"1")]))), "manifest"),
    "reserved .lobs member": (lambda: plain([M(".lobs/state.json", b"{}")]), "reserved"),
    "huge pax header": (lambda: zst(big_pax()), "metadata header"),
    "not a tar": (lambda: zst(random.Random(1).randbytes(5000)), "tar"),
    "empty": (lambda: zst(b""), "empty"),
    "truncated": (lambda: good()[: len(good()) // 2], "truncated"),
    "truncated tar, no end marker": (lambda: tar_bytes(Arch(OK, manifest_for(OK)))[:-1024 * 10], ""),
    "bit flip": (lambda: flip(good()), ""),
    "garbage after the archive": (lambda: zst(tar_bytes(Arch(OK, manifest_for(OK))) + b"\x01" * 100), "after"),
    "garbage after the zstd frame": (lambda: good() + b"not zstd at all", "corrupt"),
    "bomb without manifest": (lambda: plain([M("zeros", b"\0" * (3 << 20))]), "more than"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_archive_is_refused_and_nothing_changes(case: str, cli: Cli, tmp_path: Path) -> None:
    make, words = CASES[case]
    arch = tmp_path / "evil.tar.zst"
    arch.write_bytes(make())
    parent = tmp_path / "place"
    dest = parent / "dest"
    dest.mkdir(parents=True)
    (dest / "keep.txt").write_text("mine")
    os.symlink("keep.txt", dest / "my-link")
    before, listing = tree_state(parent), sorted(os.listdir(parent))
    r = cli("import", str(arch), "-o", str(dest), "--force", "--max-size", "1M")
    assert r.code == ExitCode.INTEGRITY, (case, r.code, r.err)
    errors = [ln for ln in r.err.splitlines() if ln.startswith("lobs: error:")]
    assert len(errors) == 1 and "hint:" in r.err, r.err
    assert words.lower() in errors[0].lower(), (case, errors[0])
    assert tree_state(parent) == before
    assert sorted(os.listdir(parent)) == listing  # the staging folder is gone
    # the same into a folder that does not exist yet: it is never created
    r = cli("import", str(arch), "-o", str(parent / "new"), "--max-size", "1M")
    assert r.code == ExitCode.INTEGRITY
    assert sorted(os.listdir(parent)) == listing


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 15


def test_a_good_crafted_archive_imports(cli: Cli, tmp_path: Path) -> None:
    """The corpus's baseline is valid, so each refusal above is caused by its own defect."""
    (tmp_path / "good.tar.zst").write_bytes(good())
    r = cli("import", "good.tar.zst", "-o", "out")
    assert r.code == 0, r.err
    assert (tmp_path / "out" / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 40
    assert os.readlink(tmp_path / "out" / "l") == "a.txt"
    assert (tmp_path / "out" / "sub" / "b.bin").stat().st_mode & 0o777 == 0o755
