"""A hostile remote: crafted snapshots and objects are refused before anything is written.

Each test plants a snapshot on a folder remote (``snapshots/<id>.json.zst`` whose
id is the sha256 of its bytes, and ``refs/HEAD`` pointing at it), pulls, and
checks the exit code, that the error is one line, and that the destination (and
anything outside it) is byte for byte as it was.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from lobs import manifest as mf
from tests.conftest import Cli, Result
from tests.trees import assert_same_tree, tree_state

Doc = dict[str, Any]


def _canonical(doc: Doc) -> bytes:
    try:
        text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only expressible as a JSON escape
        return (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode("ascii")


def plant(remote: Path, data: bytes, snap_id: str | None = None) -> str:
    """Store ``data`` as a snapshot (under its true id unless ``snap_id``) and point HEAD at it."""
    sid = snap_id or hashlib.sha256(data).hexdigest()
    (remote / "snapshots").mkdir(parents=True, exist_ok=True)
    (remote / "snapshots" / f"{sid}.json.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    (remote / "refs").mkdir(parents=True, exist_ok=True)
    (remote / "refs" / "HEAD").write_text(sid + "\n")
    return sid


def plant_object(remote: Path, digest: str, payload: bytes, codec: str) -> int:
    """Store ``payload`` under the object key of ``digest``; returns the stored size."""
    stored = zstandard.ZstdCompressor().compress(payload) if codec == "zstd" else payload
    p = remote / "objects" / digest[:2] / (digest[2:] + (".zst" if codec == "zstd" else ""))
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(stored)
    return len(stored)


class World:
    """A good snapshot pushed from ``src``, pulled into ``dst``; ``outside`` must never change."""

    def __init__(self, cli: Cli, tmp: Path) -> None:
        self.cli, self.tmp = cli, tmp
        self.src = tmp / "src"
        self.remote = tmp / "remote"
        self.dst = tmp / "dst"
        self.outside = tmp / "outside"
        self.outside.mkdir()
        (self.outside / "keep.txt").write_bytes(b"outside, must stay\n")
        (self.src / "sub").mkdir(parents=True)
        (self.src / "a.txt").write_bytes(b"alpha\n" * 50)
        (self.src / "sub" / "b.bin").write_bytes(os.urandom(3000))
        (self.src / "z.txt").write_bytes(b"last\n")
        assert cli("push", "src", str(self.remote)).code == 0
        assert cli("pull", str(self.remote), "dst").code == 0
        self.good_id = (self.remote / "refs" / "HEAD").read_text().strip()
        packed = (self.remote / "snapshots" / f"{self.good_id}.json.zst").read_bytes()
        self.good: Doc = json.loads(zstandard.ZstdDecompressor().decompressobj().decompress(packed))

    def doc(self) -> Doc:
        d = copy.deepcopy(self.good)
        d["parent"] = self.good_id
        return d

    def state(self) -> tuple[object, object]:
        return tree_state(self.dst, skip_top=()), tree_state(self.outside, skip_top=())

    def pull_refused(self, *extra: str, code: int = 6) -> Result:
        before = self.state()
        r = self.cli("pull", str(self.remote), "dst", *extra)
        assert r.code == code, (r.code, r.out, r.err)
        assert_one_line_error(r)
        after = self.state()
        assert_same_tree(before[0], after[0])  # type: ignore[arg-type]
        assert before[1] == after[1]
        return r


def assert_one_line_error(r: Result) -> None:
    assert "Traceback" not in r.err, r.err
    assert len(r.error_lines) == 1, r.err
    for line in r.err.splitlines():
        assert line.startswith(("lobs: error:", "  hint:", "lobs: warning:")), f"stray stderr line {line!r}"


@pytest.fixture
def world(cli: Cli, tmp_path: Path) -> World:
    return World(cli, tmp_path)


def _entry(d: Doc, path: str) -> Doc:
    return next(e for e in d["entries"] if e["path"] == path)


def _add(d: Doc, e: Doc) -> Doc:
    d["entries"] = sorted([*d["entries"], e], key=lambda x: str(x["path"]).encode("utf-8", "surrogatepass"))
    return d


def _file_like(d: Doc, path: str, **over: Any) -> Doc:
    e = copy.deepcopy(_entry(d, "a.txt"))
    e["path"] = path
    e.update(over)
    return e


Mutation = Callable[[Doc], Doc]

MUTATIONS: dict[str, Mutation] = {
    "absolute": lambda d: _add(d, _file_like(d, "/tmp/lobs-evil")),
    "absolute-nested": lambda d: _add(d, _file_like(d, "//etc/lobs-evil")),
    "dotdot": lambda d: _add(d, _file_like(d, "../outside/keep.txt")),
    "dotdot-inner": lambda d: _add(d, _file_like(d, "sub/../../outside/keep.txt")),
    "dot": lambda d: _add(d, _file_like(d, "./a2.txt")),
    "empty-component": lambda d: _add(d, _file_like(d, "sub//c.txt")),
    "trailing-slash": lambda d: _add(d, _file_like(d, "sub/")),
    "empty-path": lambda d: _add(d, _file_like(d, "")),
    "nul": lambda d: _add(d, _file_like(d, "a\x00b")),
    "newline": lambda d: _add(d, _file_like(d, "a\nb")),
    "path-not-string": lambda d: _add(d, {**_file_like(d, "x"), "path": ["x"]}),
    "lone-surrogate": lambda d: _add(d, _file_like(d, "bad\udcff")),
    "duplicate": lambda d: _add(d, _file_like(d, "a.txt")),
    "below-symlink": lambda d: _add(
        _add(d, {"path": "ln", "size": 10, "mode": 511, "hash": _entry(d, "a.txt")["hash"], "stored": None, "link": "../outside"}),
        _file_like(d, "ln/keep.txt"),
    ),
    "below-file": lambda d: _add(d, _file_like(d, "a.txt/inner")),
    "size-string": lambda d: (_entry(d, "a.txt").update(size="300"), d)[1],
    "size-negative": lambda d: (_entry(d, "a.txt").update(size=-1), d)[1],
    "size-bool": lambda d: (_entry(d, "a.txt").update(size=True), d)[1],
    "size-float": lambda d: (_entry(d, "a.txt").update(size=300.0), d)[1],
    "mode-too-big": lambda d: (_entry(d, "a.txt").update(mode=0o170777), d)[1],
    "hash-short": lambda d: (_entry(d, "a.txt").update(hash="abc"), d)[1],
    "hash-upper": lambda d: (_entry(d, "a.txt").update(hash=_entry(d, "a.txt")["hash"].upper()), d)[1],
    "hash-traversal": lambda d: (_entry(d, "a.txt").update(hash="../../../../outside/keep.txt" + "0" * 36), d)[1],
    "stored-size-string": lambda d: (_entry(d, "a.txt")["stored"].update(size="1"), d)[1],
    "codec-unknown": lambda d: (_entry(d, "a.txt")["stored"].update(codec="gzip"), d)[1],
    "no-stored": lambda d: (_entry(d, "a.txt").update(stored=None), d)[1],
    "link-with-nul": lambda d: _add(d, {"path": "ln", "size": 1, "mode": 511, "hash": _entry(d, "a.txt")["hash"], "stored": None, "link": "a\x00b"}),
    "entries-not-list": lambda d: {**d, "entries": {"a.txt": 1}},
    "format-unknown": lambda d: {**d, "format": "lobs.manifest/99"},
    "hash-algo-unknown": lambda d: {**d, "hash": "md5"},
    "not-an-object": lambda d: [d],  # type: ignore[return-value, list-item]
    # entries are made while parsing (any object with a path and a hash): one elsewhere is refused
    "hash-length-of-other-algo": lambda d: {**d, "hash": "xxh128"},
    "entry-as-target": lambda d: {**d, "target": _file_like(d, "t.txt")},
    "entry-as-stored": lambda d: (_entry(d, "a.txt").update(stored=_file_like(d, "s.txt")), d)[1],
    "entry-in-a-list-in-entries": lambda d: {**d, "entries": [[e] for e in d["entries"]]},
    "top-level-with-a-path": lambda d: {**d, "path": "x"},
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_malicious_manifest_refused(world: World, name: str) -> None:
    doc = MUTATIONS[name](world.doc())
    plant(world.remote, _canonical(doc))
    r = world.pull_refused()
    assert "manifest" in r.err or "snapshot" in r.err


def test_malicious_manifest_refused_into_new_folder(world: World, cli: Cli, tmp_path: Path) -> None:
    plant(world.remote, _canonical(MUTATIONS["dotdot"](world.doc())))
    r = cli("pull", str(world.remote), "fresh")
    assert r.code == 6, r.err
    assert_one_line_error(r)
    assert not (tmp_path / "fresh").exists(), "the destination was created for a refused snapshot"


def test_not_json_refused(world: World) -> None:
    plant(world.remote, b"\xff\xfe not json")
    world.pull_refused()


def test_snapshot_bytes_do_not_match_id(world: World) -> None:
    doc = world.doc()
    _entry(doc, "z.txt")["mode"] = 0o777
    data = _canonical(doc)
    lying_id = hashlib.sha256(b"something else").hexdigest()
    plant(world.remote, data, snap_id=lying_id)
    r = world.pull_refused()
    assert "does not match its id" in r.err


def test_tampered_existing_snapshot(world: World) -> None:
    """The good snapshot's file rewritten in place (same id): refused, even though cached locally."""
    doc = world.doc()
    _entry(doc, "z.txt")["mode"] = 0o777
    plant(world.remote, _canonical(doc), snap_id=world.good_id)
    # a fresh destination has no cached copy and must read the tampered one
    r = world.cli("pull", str(world.remote), "fresh")
    assert r.code == 6, r.err
    assert_one_line_error(r)


@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_object_content_does_not_match_hash(world: World, codec: str) -> None:
    """An entry whose object holds other bytes: downloads are verified, nothing is written."""
    doc = world.doc()
    claimed = hashlib.sha256(b"the real content\n").hexdigest()
    evil = b"evil content!!!!!\n"
    stored = plant_object(world.remote, claimed, evil, codec)
    # a good new file sorted first, to show that nothing is applied partially
    _add(doc, _file_like(doc, "0-first.txt"))
    _add(doc, {"path": "new.txt", "size": len(evil), "mode": 0o644, "hash": claimed, "stored": {"codec": codec, "size": stored, "dict": None}})
    _entry(doc, "z.txt")["mode"] = 0o600  # a chmod that must not happen either
    plant(world.remote, _canonical(doc))
    r = world.pull_refused()
    assert "new.txt" in r.err
    r = world.pull_refused("--force")


def test_replaced_object_of_existing_file(world: World) -> None:
    """The object of a file that changes is swapped on the remote: refused, old file kept."""
    (world.src / "a.txt").write_bytes(b"version two\n" * 40)
    assert world.cli("push", "--no-pack", "src", str(world.remote)).code == 0
    new_hash = hashlib.sha256(b"version two\n" * 40).hexdigest()
    for p in (world.remote / "objects" / new_hash[:2]).glob(new_hash[2:] + "*"):
        codec = "zstd" if p.name.endswith(".zst") else "none"
        p.unlink()
        plant_object(world.remote, new_hash, b"version evil\n" * 40, codec)
    world.pull_refused()


def test_decompression_bomb(world: World) -> None:
    doc = world.doc()
    bomb = b"\0" * (20 << 20)
    claimed = hashlib.sha256(b"tiny\n").hexdigest()
    stored = plant_object(world.remote, claimed, bomb, "zstd")
    _add(doc, {"path": "bomb.txt", "size": 5, "mode": 0o644, "hash": claimed, "stored": {"codec": "zstd", "size": stored, "dict": None}})
    plant(world.remote, _canonical(doc))
    r = world.pull_refused()
    assert "bomb.txt" in r.err


def test_missing_object(world: World) -> None:
    doc = world.doc()
    claimed = hashlib.sha256(b"never uploaded\n").hexdigest()
    _add(doc, {"path": "ghost.txt", "size": 15, "mode": 0o644, "hash": claimed, "stored": {"codec": "none", "size": 15, "dict": None}})
    plant(world.remote, _canonical(doc))
    world.pull_refused(code=5)


def test_ref_is_garbage(world: World) -> None:
    (world.remote / "refs" / "HEAD").write_text("../../outside/keep.txt\n")
    world.pull_refused()


def test_valid_manifest_decodes(world: World) -> None:
    """The planting helper itself produces what the engine accepts (so the tests above can fail)."""
    doc = world.doc()
    _entry(doc, "z.txt")["mode"] = 0o600
    data = _canonical(doc)
    assert mf.decode(data).by_path()["z.txt"].mode == 0o600
    plant(world.remote, data)
    r = world.cli("pull", str(world.remote), "dst")
    assert r.code == 0, r.err
    assert (world.dst / "z.txt").stat().st_mode & 0o777 == 0o600


# ------------------------------------------------------------ symlinks in the destination


def _snapshot_with_sub_x(world: World) -> None:
    (world.src / "sub" / "x").write_bytes(b"must not land outside\n")
    (world.src / "a.txt").write_bytes(b"changed too, and sorted before sub/\n")  # nothing partial
    assert world.cli("push", "src", str(world.remote)).code == 0


def test_untracked_symlinked_dir_not_written_through(world: World) -> None:
    """dst/sub is replaced by a link to a folder outside: a pull of sub/x must not write there."""
    _snapshot_with_sub_x(world)
    import shutil

    shutil.rmtree(world.dst / "sub")
    os.symlink(world.outside, world.dst / "sub")
    r = world.pull_refused(code=4)
    assert "sub" in r.err
    # --force overwrites local edits, never writes through a link
    world.pull_refused("--force")
    assert not (world.outside / "x").exists()


def test_symlinked_dir_replaced_with_force_delete(world: World) -> None:
    """--force --delete may replace the local link by a real folder; the outside stays untouched."""
    _snapshot_with_sub_x(world)
    import shutil

    shutil.rmtree(world.dst / "sub")
    os.symlink(world.outside, world.dst / "sub")
    before = tree_state(world.outside, skip_top=())
    r = world.cli("pull", str(world.remote), "dst", "--force", "--delete")
    assert tree_state(world.outside, skip_top=()) == before
    if r.code == 0:
        assert not (world.dst / "sub").is_symlink()
        assert_same_tree(tree_state(world.src), tree_state(world.dst))
    else:
        assert r.code == 6, r.err
        assert_one_line_error(r)


def test_snapshot_link_then_file_below_it_in_next_snapshot(world: World) -> None:
    """Snapshot 1 makes dst/ln a link to outside; snapshot 2 has ln/keep.txt as a file: never written through."""
    doc = world.doc()
    _add(doc, {"path": "ln", "size": len(b"../outside"), "mode": 511, "hash": hashlib.sha256(b"../outside").hexdigest(), "stored": None, "link": "../outside"})
    plant(world.remote, _canonical(doc))
    assert world.cli("pull", str(world.remote), "dst").code == 6  # a link out of the target: refused
    r = world.cli("pull", str(world.remote), "dst", "--allow-outside-links")  # ...unless allowed
    assert r.code == 0, r.err
    assert os.readlink(world.dst / "ln") == "../outside"
    doc2 = world.doc()
    evil = b"overwritten through a link\n"
    digest = hashlib.sha256(evil).hexdigest()
    size = plant_object(world.remote, digest, evil, "none")
    _add(doc2, {"path": "ln/keep.txt", "size": len(evil), "mode": 0o644, "hash": digest, "stored": {"codec": "none", "size": size, "dict": None}})
    plant(world.remote, _canonical(doc2))
    for extra in ((), ("--force",), ("--force", "--delete")):
        before = tree_state(world.outside, skip_top=())
        world.cli("pull", str(world.remote), "dst", *extra)
        assert tree_state(world.outside, skip_top=()) == before, extra
    assert (world.outside / "keep.txt").read_bytes() == b"outside, must stay\n"


def test_file_in_the_way_of_a_folder_refused_before_any_write(world: World) -> None:
    """An untracked local file where the snapshot needs a folder: --force refuses before writing."""
    (world.src / "a.txt").write_bytes(b"new a, sorted before the blocked path\n")
    (world.src / "blocked").mkdir()
    (world.src / "blocked" / "x").write_bytes(b"x\n")
    assert world.cli("push", "src", str(world.remote)).code == 0
    (world.dst / "blocked").write_bytes(b"my own file\n")
    world.pull_refused(code=4)
    world.pull_refused("--force", code=4)
    # with --delete the untracked file may go, and the pull completes
    r = world.cli("pull", str(world.remote), "dst", "--force", "--delete")
    assert r.code == 0, r.err
    assert_same_tree(tree_state(world.src), tree_state(world.dst))


def test_mirror_snapshot_giving_one_key_two_contents_is_refused(cli: Cli, tmp_path: Path) -> None:
    """In a mirror, compressed ``x`` is stored as ``x.zst``; a snapshot that also names a raw
    file ``x.zst`` gives that key two contents: refused before anything is written."""
    src, remote = tmp_path / "src", tmp_path / "remote"
    src.mkdir()
    (src / "x").write_bytes(b"compress me please\n" * 50)
    assert cli("push", "src", str(remote), "--layout", "mirror").code == 0
    assert (remote / "x.zst").is_file()
    meta = remote / ".lobs"
    sid = (meta / "ref").read_text().strip()
    doc = json.loads(zstandard.ZstdDecompressor().decompressobj().decompress((meta / "snapshots" / f"{sid}.json.zst").read_bytes()))
    twin = (remote / "x.zst").read_bytes()  # what the raw "x.zst" would be read from: the same key
    _add(doc, {"path": "x.zst", "size": len(twin), "mode": 0o644, "hash": hashlib.sha256(twin).hexdigest(),
               "stored": {"codec": "none", "size": len(twin), "dict": None}})
    data = _canonical(doc)
    new_id = hashlib.sha256(data).hexdigest()
    (meta / "snapshots" / f"{new_id}.json.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    (meta / "ref").write_text(new_id + "\n")
    r = cli("pull", str(remote), "dst", "--layout", "mirror")
    assert r.code == 6, (r.code, r.err)
    assert_one_line_error(r)
    assert "two different contents" in r.err
    assert not (tmp_path / "dst").exists() or not any((tmp_path / "dst").iterdir())


def test_two_entries_claiming_one_object_with_two_sizes_are_refused(world: World, cli: Cli) -> None:
    """Entries with one object share one download and the others get a copy; a second entry
    with the same hash but another size would get a copy never checked against it."""
    doc = world.doc()
    _add(doc, _file_like(doc, "a2.txt", size=_entry(doc, "a.txt")["size"] + 1))
    plant(world.remote, _canonical(doc))
    r = cli("pull", str(world.remote), "fresh")
    assert r.code == 6, (r.code, r.err)
    assert_one_line_error(r)
    assert "two different contents" in r.err


@pytest.mark.parametrize("in_place", [True, False])
def test_one_content_stored_twice_with_two_codecs(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool) -> None:
    """Three files of one content whose snapshot stores it compressed for two of them and raw
    for the one between (push never writes that, a snapshot may): two objects, each fetched
    once, and all three files right, in place and through the transport's download."""
    from lobs.transport.base import Capabilities
    from lobs.transport.local import LocalTransport

    if not in_place:
        monkeypatch.setattr(LocalTransport, "capabilities", Capabilities(read_in_place=False))
    src, remote = tmp_path / "src", tmp_path / "remote"
    src.mkdir()
    body = b"the same words again\n" * 100
    for name in ("a.txt", "b.txt", "c.txt"):
        (src / name).write_bytes(body)
    assert cli("push", "src", str(remote)).code == 0
    sid = (remote / "refs" / "HEAD").read_text().strip()
    doc = json.loads(zstandard.ZstdDecompressor().decompressobj().decompress((remote / "snapshots" / f"{sid}.json.zst").read_bytes()))
    b = _entry(doc, "b.txt")
    assert b["stored"]["codec"] == "zstd"
    b["stored"] = {"codec": "none", "size": plant_object(remote, b["hash"], body, "none"), "dict": None}
    plant(remote, _canonical(doc))
    r = cli("pull", str(remote), "dst")
    assert r.code == 0, r.err
    for name in ("a.txt", "b.txt", "c.txt"):
        assert (tmp_path / "dst" / name).read_bytes() == body
