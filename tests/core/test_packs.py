"""Packs: small files sent many to an object (cas), read back slice by slice and checked."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import zstandard

import lobs.packs
from lobs import manifest as mf
from lobs import manifest_cache
from lobs.errors import ExitCode, IntegrityError
from lobs.model import Entry, Manifest, Stored
from lobs.transport.base import Capabilities, Transfer
from lobs.transport.local import LocalTransport
from tests.conftest import Cli


def _tree(src: Path) -> None:
    (src / "d").mkdir(parents=True)
    for i in range(30):
        (src / "d" / f"t{i:02d}.json").write_text(json.dumps({"i": i, "text": "word " * (i * 10)}))
    (src / "noise.bin").write_bytes(os.urandom(3000))  # incompressible: raw in its pack
    (src / "empty").write_bytes(b"")
    (src / "same.txt").write_text("twin\n" * 9)
    (src / "d" / "same.txt").write_text("twin\n" * 9)  # one content, two paths
    (src / "big.bin").write_bytes(os.urandom(300_000))  # too big for a pack: an object of its own


def _project(cli: Cli, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A project tracking ``data`` (the tree above) on a folder remote: (project, data, remote)."""
    proj, remote = tmp_path / "proj", tmp_path / "remote"
    _tree(proj / "data")
    assert cli("init", cwd=proj).code == 0
    assert cli("remote", "add", "origin", str(remote), cwd=proj).code == 0
    assert cli("track", "data", cwd=proj).code == 0
    return proj, proj / "data", remote


def _snapshot(remote: Path, ref: str = "HEAD") -> dict[str, object]:
    sid = (remote / "refs" / ref).read_text().strip()
    data = zstandard.ZstdDecompressor().decompressobj().decompress((remote / "snapshots" / f"{sid}.json.zst").read_bytes())
    doc: dict[str, object] = json.loads(data)
    return doc


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("in_place", [True, False])
def test_small_files_travel_in_packs_and_come_back_whole(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool) -> None:
    src, remote = tmp_path / "src", tmp_path / "remote"
    _tree(src)
    assert cli("push", str(src), str(remote)).code == 0
    objects = [p for p in (remote / "objects").rglob("*") if p.is_file()]
    packs = [p for p in objects if p.parent.name == "packs"]
    assert len(packs) == 1 and len(objects) == 2  # 33 small files in one pack, big.bin on its own
    doc = _snapshot(remote)
    assert doc["format"] == "lobs.manifest/2"
    entries = {e["path"]: e for e in doc["entries"]}  # type: ignore[attr-defined]
    assert entries["big.bin"]["stored"].get("pack") is None
    assert entries["noise.bin"]["stored"]["codec"] == "none" and entries["d/t29.json"]["stored"]["codec"] == "zstd"
    assert entries["same.txt"]["stored"] == entries["d/same.txt"]["stored"]
    assert {e["stored"].get("pack") for p, e in entries.items() if p != "big.bin"} == {packs[0].name}
    assert hashlib.sha256(packs[0].read_bytes()).hexdigest()[:32] == packs[0].name  # named by its content
    downloads: list[str] = []
    real_download = LocalTransport.download

    def counting(self: LocalTransport, items: list[Transfer], *args: object, **kw: object) -> None:
        downloads.extend(t.key for t in items)
        real_download(self, items, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalTransport, "download", counting)
    if not in_place:  # through the download path that S3 tools take
        monkeypatch.setattr(LocalTransport, "capabilities", Capabilities(read_in_place=False))
    r = cli("pull", str(remote), str(tmp_path / "back"))
    assert r.code == 0, r.err
    assert _files(tmp_path / "back") == _files(src)
    assert sorted(downloads) == ([] if in_place else sorted(p.relative_to(remote).as_posix() for p in objects))


def test_the_same_tree_makes_the_same_pack(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "src"
    _tree(src)
    names = []
    for n in range(2):
        remote = tmp_path / f"remote{n}"
        assert cli("push", str(src), str(remote), env={"XDG_STATE_HOME": str(tmp_path / f"state{n}")}).code == 0
        names.append(sorted(p.name for p in (remote / "objects" / "packs").iterdir()))
    assert names[0] == names[1]


def test_no_pack_sends_an_object_per_file(cli: Cli, tmp_path: Path) -> None:
    src, remote = tmp_path / "src", tmp_path / "remote"
    _tree(src)
    assert cli("push", "--no-pack", str(src), str(remote)).code == 0
    assert not (remote / "objects" / "packs").exists()
    assert _snapshot(remote)["format"] == "lobs.manifest/1"  # nothing packed: readable by the older format


def test_verify_and_repair_a_damaged_or_lost_pack(cli: Cli, tmp_path: Path) -> None:
    proj, src, remote = _project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    assert cli("verify", "--deep", cwd=proj).code == 0
    pack = next((remote / "objects" / "packs").iterdir())
    entries = {e["path"]: e for e in _snapshot(remote, "data.ref")["entries"]}  # type: ignore[attr-defined]
    at = entries["d/t05.json"]["stored"]["offset"]
    data = bytearray(pack.read_bytes())
    data[at + 10] ^= 1
    pack.write_bytes(bytes(data))
    assert cli("verify", cwd=proj).code == 0  # the listing sees the right size
    r = cli("verify", "--deep", "--json", cwd=proj)
    assert r.code == ExitCode.INTEGRITY
    problems = json.loads(r.out.splitlines()[0])["targets"][0]["problems"]
    assert [(p["path"], p["problem"]) for p in problems] == [("d/t05.json", "corrupt")]
    other = tmp_path / "other"
    other.mkdir()
    (other / "lobs.yml").write_bytes((proj / "lobs.yml").read_bytes())
    (other / "lobs.lock").write_bytes((proj / "lobs.lock").read_bytes())
    r = cli("pull", cwd=other)
    assert r.code == ExitCode.INTEGRITY and "d/t05.json" in r.err
    assert not (other / "data").exists() or not any((other / "data").iterdir())
    pack.write_bytes(bytes(data[: at + 5]))  # cut short: the entries past the cut are missing bytes
    r = cli("verify", "--json", cwd=proj)
    problems = json.loads(r.out.splitlines()[0])["targets"][0]["problems"]
    assert r.code == ExitCode.INTEGRITY and {p["problem"] for p in problems} == {"size"} and len(problems) > 3
    pack.unlink()
    r = cli("verify", cwd=proj)
    assert r.code == ExitCode.INTEGRITY and "missing" in r.out
    assert cli("push", cwd=proj).code == 0  # trusts its snapshot: nothing to send
    r = cli("push", "--repair", cwd=proj)
    assert r.code == 0, r.err
    assert cli("verify", "--deep", cwd=proj).code == 0
    assert cli("pull", cwd=other).code == 0
    assert _files(other / "data") == _files(src)


def test_a_file_that_changes_before_it_is_packed_stops_the_push(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src, remote = tmp_path / "src", tmp_path / "remote"
    _tree(src)
    real = lobs.packs.PackWriter.add

    def edit_first(self: lobs.packs.PackWriter, path: Path, entry: Entry, *a: object, **k: object) -> str:
        if entry.path == "d/t03.json":
            path.write_text("edited after the scan")
        return real(self, path, entry, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(lobs.packs.PackWriter, "add", edit_first)
    r = cli("push", str(src), str(remote))
    assert r.code == ExitCode.INTEGRITY and "t03.json changed while it was being pushed" in r.err
    assert not (remote / "refs").exists()
    assert not (remote / "objects" / "packs").exists() or not any((remote / "objects" / "packs").iterdir())
    monkeypatch.undo()
    assert cli("push", str(src), str(remote)).code == 0
    assert cli("pull", str(remote), str(tmp_path / "back")).code == 0
    assert _files(tmp_path / "back") == _files(src)


def _doc(entries: list[dict[str, object]], fmt: str = "lobs.manifest/2") -> bytes:
    doc = {"created": None, "entries": entries, "format": fmt, "hash": "sha256", "message": None, "parent": None, "target": "t"}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _packed(**stored: object) -> dict[str, object]:
    st: dict[str, object] = {"codec": "none", "dict": None, "size": 4, "pack": "ab" * 16, "offset": 0}
    st.update(stored)
    return {"path": "x", "size": 4, "mode": 420, "hash": "0" * 64, "stored": st}


@pytest.mark.parametrize(("entry", "fmt", "why"), [
    (_packed(), "lobs.manifest/1", "names a pack"),
    (_packed(pack="AB" * 16), "lobs.manifest/2", "32 lowercase hex"),
    (_packed(pack="../../etc/passwd"), "lobs.manifest/2", "32 lowercase hex"),
    (_packed(pack=7), "lobs.manifest/2", "32 lowercase hex"),
    (_packed(offset=-1), "lobs.manifest/2", "offset must be"),
    (_packed(offset=True), "lobs.manifest/2", "offset must be"),
    (_packed(offset=1 << 63), "lobs.manifest/2", "offset must be"),  # past what pread takes
    (_packed(size=mf.PACKED_MAX + 1), "lobs.manifest/2", "may not be larger"),
    ({**_packed(), "size": 1 << 40}, "lobs.manifest/2", "may not be larger"),
    ({**_packed(), "stored": {"codec": "none", "dict": None, "size": 4, "offset": 3}}, "lobs.manifest/2", "needs a pack"),
])
def test_hostile_pack_fields_are_refused(entry: dict[str, object], fmt: str, why: str) -> None:
    with pytest.raises(IntegrityError, match=why):
        mf.decode(_doc([entry], fmt))


def test_pack_fields_round_trip_through_json_and_the_manifest_cache(tmp_path: Path) -> None:
    entries = [
        Entry("a", 4, 0o644, "1" * 64, Stored("zstd", 13, pack="cd" * 16, offset=100)),
        Entry("b", 4, 0o644, "2" * 64, Stored("none", 4)),
    ]
    m = Manifest("t", "sha256", entries=entries)
    back = mf.decode(mf.encode(m))
    assert back.entries == entries
    assert mf.encode(back) == mf.encode(m) == mf.encode(mf.decode(mf.encode(m)))
    manifest_cache.write(tmp_path / "m", m)
    cached = manifest_cache.read(tmp_path / "m")
    assert cached is not None and cached.entries == entries


def test_a_lying_slice_is_refused(cli: Cli, tmp_path: Path) -> None:
    """A snapshot whose entry points past its pack's end, or at bytes of other content."""
    src, remote = tmp_path / "src", tmp_path / "remote"
    _tree(src)
    assert cli("push", str(src), str(remote)).code == 0
    doc = _snapshot(remote)
    for lie in ({"offset": 1 << 30}, {"offset": 0}):
        bad = json.loads(json.dumps(doc))
        e = next(x for x in bad["entries"] if x["path"] == "d/t20.json")
        e["stored"].update(lie)
        data = (json.dumps(bad, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        sid = hashlib.sha256(data).hexdigest()
        (remote / "snapshots" / f"{sid}.json.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
        (remote / "refs" / "HEAD").write_text(sid + "\n")
        dest = tmp_path / f"back-{lie['offset']}"
        r = cli("pull", str(remote), str(dest))
        assert r.code == ExitCode.INTEGRITY and "d/t20.json" in r.err, r.err
        assert not dest.exists() or not any(dest.iterdir())


def test_the_plan_says_how_many_objects_go(cli: Cli, tmp_path: Path) -> None:
    """A dry run counts new contents (35 files, two the same) and the objects they go in."""
    src = tmp_path / "src"
    _tree(src)
    url = (tmp_path / "remote").as_uri()
    r = cli("push", str(src), url, "--dry-run")
    assert r.code == 0 and "34 new content(s)" in r.out and "in 2 objects" in r.out, r.out  # one pack, big.bin
    r = cli("push", str(src), url, "--dry-run", "--no-pack")
    assert r.code == 0 and "34 new content(s)" in r.out and "in 34 objects" in r.out, r.out
