"""A project with lobs.yml: init, remotes, track, status, push, pull, log, ls, diff."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from lobs.errors import ExitCode
from tests.conftest import Cli


def make_project(cli: Cli, tmp_path: Path, *, layout: str = "cas", hash_algo: str = "sha256") -> Path:
    proj = tmp_path / "proj"
    (proj / "data" / "corpus" / "sub").mkdir(parents=True)
    (proj / "data" / "corpus" / "a.json").write_text('{"a": 1}\n' * 50)
    (proj / "data" / "corpus" / "sub" / "b.txt").write_text("bee\n")
    (proj / "data" / "corpus" / "scratch.tmp").write_text("ignored")
    assert cli("init", cwd=proj).code == 0
    r = cli("remote", "add", "origin", str(tmp_path / "remote"), "--layout", layout, "--hash", hash_algo, cwd=proj)
    assert r.code == 0, r.err
    assert cli("track", "data/corpus", cwd=proj).code == 0
    return proj


def test_init_track_and_config_keep_comments(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    cfg = proj / "lobs.yml"
    text = cfg.read_text()
    cfg.write_text("# my precious comment\n" + text.replace("targets:", "# targets below\ntargets:"))
    assert cli("remote", "set", "origin", "region", "eu-west-1", cwd=proj).code == 0
    new = cfg.read_text()
    assert "# my precious comment" in new and "# targets below" in new
    assert "region: eu-west-1" in new
    assert ".lobs/" in (proj / ".gitignore").read_text()
    assert cli("init", cwd=proj).code == ExitCode.CONFIG


def test_push_status_pull_cycle(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    (proj / "data" / "corpus" / ".lobsignore").write_text("*.tmp\n")
    r = cli("status", cwd=proj)
    assert r.code == 0 and "never synced" in r.out
    r = cli("push", cwd=proj)
    assert r.code == 0, r.err
    assert "3 files pushed" in r.out  # a.json, sub/b.txt, .lobsignore; scratch.tmp ignored
    assert "scratch.tmp" not in r.out
    lock = (proj / "lobs.lock").read_text()
    snap = r.lines[-1].split()[-1]
    assert snap in lock and len(snap) == 64
    assert "clean" in cli("status", cwd=proj).out

    # a second checkout of the project (as after git clone) pulls the data back
    clone = tmp_path / "clone"
    shutil.copytree(proj, clone, ignore=shutil.ignore_patterns(".lobs", "corpus"))
    r = cli("pull", cwd=clone)
    assert r.code == 0, r.err
    assert (clone / "data/corpus/a.json").read_bytes() == (proj / "data/corpus/a.json").read_bytes()
    assert not (clone / "data/corpus/scratch.tmp").exists()

    # change, status shows it, push moves only what changed
    (proj / "data/corpus/sub/b.txt").write_text("changed\n")
    (proj / "data/corpus/new.txt").write_text("new\n")
    (proj / "data/corpus/a.json").unlink()
    st = cli("status", cwd=proj)
    assert "1 added, 1 modified, 1 removed" in st.out
    assert "  + new.txt" in st.out and "  M sub/b.txt" in st.out and "  - a.json" in st.out
    r = cli("push", cwd=proj)
    assert r.code == 0
    uploads = [line for line in r.lines if line.startswith("upload ")]
    assert sorted(uploads) == ["upload new.txt", "upload sub/b.txt"]

    # the clone sees the remote move, then pulls: deletion applied, edit arrives
    assert "moved to" in cli("status", "--remote", cwd=clone).out
    assert cli("pull", cwd=clone).code == 0  # lobs.lock still pins the first snapshot
    assert (clone / "data/corpus/a.json").exists()
    r = cli("pull", "--latest", cwd=clone)
    assert r.code == 0, r.err
    assert not (clone / "data/corpus/a.json").exists()
    assert (clone / "data/corpus/sub/b.txt").read_text() == "changed\n"

    log = cli("log", "--json", cwd=proj)
    snaps = json.loads(log.out)["snapshots"]
    assert len(snaps) == 2 and snaps[0]["parent"] == snaps[1]["snapshot"]


def test_status_needs_no_network(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    shutil.rmtree(tmp_path / "remote")  # the remote is gone: status must not notice
    r = cli("status", cwd=proj)
    assert r.code == 0 and "clean" in r.out


def test_push_refuses_when_someone_else_pushed(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    other = tmp_path / "other"
    shutil.copytree(proj, other, ignore=shutil.ignore_patterns(".lobs"))
    (other / "data/corpus/theirs.txt").write_text("theirs")
    assert cli("push", cwd=other).code == 0
    (proj / "data/corpus/mine.txt").write_text("mine")
    r = cli("push", cwd=proj)
    assert r.code == ExitCode.CONFLICT
    assert "someone else pushed" in r.err and "hint:" in r.err
    assert len(r.err.strip().splitlines()) == 2  # one line and a hint, no traceback
    assert cli("push", "--force", cwd=proj).code == 0


def test_pull_refuses_to_overwrite_local_edit(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    other = tmp_path / "other"
    shutil.copytree(proj, other, ignore=shutil.ignore_patterns(".lobs"))
    (other / "data/corpus/sub/b.txt").write_text("remote edit")
    assert cli("push", cwd=other).code == 0
    (proj / "data/corpus/sub/b.txt").write_text("local edit")
    r = cli("pull", "--latest", cwd=proj)
    assert r.code == ExitCode.CONFLICT and "sub/b.txt" in r.err
    assert (proj / "data/corpus/sub/b.txt").read_text() == "local edit"
    assert cli("pull", "--latest", "--force", cwd=proj).code == 0
    assert (proj / "data/corpus/sub/b.txt").read_text() == "remote edit"


def test_dry_run_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    r = cli("push", "--dry-run", cwd=proj)
    assert r.code == 0 and "would push" in r.out
    assert not (tmp_path / "remote" / "refs").exists()
    assert not (proj / "lobs.lock").exists()
    r = cli("push", "--dry-run", "--json", cwd=proj)
    doc = json.loads(r.out)
    assert doc["dry_run"] is True and len(doc["results"][0]["uploads"]) == 3


@pytest.mark.parametrize("layout", ["cas", "mirror"])
@pytest.mark.parametrize("hash_algo", ["sha256", "xxh128"])
def test_layouts_and_hashes_round_trip(cli: Cli, tmp_path: Path, layout: str, hash_algo: str) -> None:
    proj = make_project(cli, tmp_path, layout=layout, hash_algo=hash_algo)
    (proj / "data/corpus/x.zst").write_bytes(b"\x28\xb5\x2f\xfd" + os.urandom(100))  # a real file named *.zst
    (proj / "data/corpus/x").write_text("x" * 1000)  # would be stored as x.zst in a mirror
    assert cli("push", cwd=proj).code == 0
    if layout == "mirror":
        assert (tmp_path / "remote/data/corpus/sub/b.txt").read_text() == "bee\n"
    (proj / "data/corpus/sub/b.txt").unlink()
    assert cli("push", cwd=proj).code == 0
    if layout == "mirror":
        assert not (tmp_path / "remote/data/corpus/sub/b.txt").exists()
    dst = tmp_path / "dst"
    shutil.copytree(proj, dst, ignore=shutil.ignore_patterns(".lobs", "corpus"))
    assert cli("pull", cwd=dst).code == 0
    for name in ("a.json", "x", "x.zst", "scratch.tmp"):
        assert (dst / "data/corpus" / name).read_bytes() == (proj / "data/corpus" / name).read_bytes()
    assert not (dst / "data/corpus/sub/b.txt").exists()


def test_ls_and_diff(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    r = cli("ls", cwd=proj)
    assert "data/corpus" in r.out
    r = cli("ls", "origin:data/corpus", "--json", cwd=proj)
    paths = [e["path"] for e in json.loads(r.out)["entries"]]
    assert paths == ["a.json", "scratch.tmp", "sub/b.txt"]
    (proj / "data/corpus/a.json").write_text("different")
    r = cli("diff", cwd=proj)
    assert "M a.json" in r.out and "1 modified" in r.out


def test_invalid_config_names_file_line_and_key(cli: Cli, tmp_path: Path) -> None:
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "lobs.yml").write_text("remotes:\n  origin:\n    url: /x\n    layout: zigzag\n")
    r = cli("status", cwd=proj)
    assert r.code == ExitCode.CONFIG
    assert "lobs.yml:4: remotes.origin.layout" in r.err
    (proj / "lobs.yml").write_text("remotes:\n  origin:\n    url: ${NOPE_NOT_SET}\n")
    r = cli("status", cwd=proj)
    assert r.code == ExitCode.CONFIG and "NOPE_NOT_SET" in r.err
    (proj / "lobs.yml").write_text("remotes: [\n")
    assert cli("status", cwd=proj).code == ExitCode.CONFIG


def test_env_expansion_and_user_config(cli: Cli, tmp_path: Path, lobs_env: dict[str, str]) -> None:
    user_cfg = Path(lobs_env["XDG_CONFIG_HOME"]) / "lobs" / "config.yml"
    user_cfg.parent.mkdir(parents=True)
    user_cfg.write_text("remotes:\n  shared:\n    url: ${SHARED_ROOT}/store\n")
    proj = tmp_path / "p"
    (proj / "d").mkdir(parents=True)
    (proj / "d" / "f").write_text("f")
    (proj / "lobs.yml").write_text("default_remote: shared\ntargets:\n  - path: d\n")
    env = dict(lobs_env, SHARED_ROOT=str(tmp_path / "shared"))
    assert cli("push", cwd=proj, env=env).code == 0
    assert (tmp_path / "shared" / "store" / "refs" / "d.ref").exists()


def test_git_checkout_of_an_old_lock_pulls_that_snapshot(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    f = proj / "data/corpus/sub/b.txt"
    assert cli("push", cwd=proj).code == 0
    old_lock = (proj / "lobs.lock").read_text()
    f.write_text("version 2\n")
    assert cli("push", cwd=proj).code == 0
    (proj / "lobs.lock").write_text(old_lock)  # what `git checkout <old commit>` does
    r = cli("pull", cwd=proj)
    assert r.code == 0, r.err
    assert f.read_text() == "bee\n"
    assert cli("pull", cwd=proj).code == 0 and f.read_text() == "bee\n"  # still pinned: stays
    assert cli("pull", "--latest", cwd=proj).code == 0 and f.read_text() == "version 2\n"


def test_a_snapshot_read_from_the_remote_is_kept(cli: Cli, tmp_path: Path) -> None:
    """A push that finds nothing to do reads the remote's snapshot once, then from the cache."""
    proj = make_project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    cache = proj / ".lobs" / "manifests"
    shutil.rmtree(cache)  # as after a clone, or when someone else pushed this tree
    assert cli("push", cwd=proj).code == 0
    kept = sorted(p.name for p in cache.iterdir())
    assert len(kept) == 2 and kept[0].endswith(".json.zst") and kept[1].endswith(".m"), kept
    snap = kept[0].removesuffix(".json.zst")
    remote_snap = next((tmp_path / "remote").rglob(f"{snap}*"))
    remote_snap.write_bytes(b"damaged")  # not read again: the no-op push still passes
    r = cli("push", cwd=proj)
    assert r.code == 0 and "up to date" in r.out, r.err


@pytest.mark.parametrize("snapshot", ["../../../../etc/passwd", "ab" * 31, "AB" * 32])
def test_a_lock_naming_no_snapshot_id_is_refused(cli: Cli, tmp_path: Path, snapshot: str) -> None:
    proj = make_project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    lock = proj / "lobs.lock"
    good = json.loads(lock.read_text().splitlines()[-1].split(": ", 1)[1])["snapshot"]
    lock.write_text(lock.read_text().replace(good, snapshot))
    r = cli("pull", cwd=proj)
    assert r.code == ExitCode.CONFIG and "is not a snapshot id" in r.err and "lobs.lock" in r.err


def test_example_config_is_valid(tmp_path: Path) -> None:
    from lobs.config import load

    root = Path(__file__).resolve().parents[2]
    shutil.copy(root / "lobs.yml.example", tmp_path / "lobs.yml")
    cfg = load(tmp_path, {"HOME": str(tmp_path)})
    assert cfg.default_remote == "origin" and cfg.remotes["origin"].layout == "cas"
    assert [t.path for t in cfg.targets] == ["data/corpus", "models"]
    assert cfg.warnings == []


def test_pull_keeps_local_deletion_of_a_file_unchanged_upstream(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    (proj / "data/corpus/a.json").unlink()
    r = cli("pull", cwd=proj)
    assert r.code == 0 and not (proj / "data/corpus/a.json").exists()
    assert "- a.json" in cli("status", cwd=proj).out
    assert cli("pull", "--force", cwd=proj).code == 0
    assert (proj / "data/corpus/a.json").exists()


def test_relative_folder_remote_is_relative_to_lobs_yml(cli: Cli, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    (proj / "data" / "sub").mkdir(parents=True)
    (proj / "data" / "f.txt").write_text("f")
    assert cli("init", cwd=proj).code == 0
    assert cli("remote", "add", "origin", "../../../store", cwd=proj / "data" / "sub").code == 0
    assert "url: ../store" in (proj / "lobs.yml").read_text()
    assert cli("track", "..", cwd=proj / "data" / "sub").code == 0
    assert cli("push", cwd=proj / "data" / "sub").code == 0  # run from a subfolder
    assert (tmp_path / "store" / "refs" / "data.ref").exists()


def test_verify_finds_missing_and_corrupt_objects(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    assert cli("push", "--no-pack", cwd=proj).code == 0  # an object per file (packs: test_packs)
    r = cli("verify", "--deep", cwd=proj)
    assert r.code == 0 and "OK" in r.out
    objects = sorted(p for p in (tmp_path / "remote" / "objects").rglob("*") if p.is_file())
    data = objects[0].read_bytes()
    objects[0].write_bytes(bytes([data[0] ^ 1]) + data[1:])  # same size, different content
    assert cli("verify", cwd=proj).code == 0  # a listing cannot see it
    r = cli("verify", "--deep", "--json", cwd=proj)
    assert r.code == ExitCode.INTEGRITY
    problems = json.loads(r.out.splitlines()[0])["targets"][0]["problems"]
    assert [p["problem"] for p in problems] == ["corrupt"]
    objects[1].unlink()
    r = cli("verify", cwd=proj)
    assert r.code == ExitCode.INTEGRITY and "missing" in r.out
    objects[0].unlink()
    assert cli("push", cwd=proj).code == 0  # trusts its snapshot: nothing to send
    assert cli("verify", cwd=proj).code == ExitCode.INTEGRITY
    assert cli("push", "--repair", cwd=proj).code == 0  # sends what the remote lacks again
    assert cli("verify", "--deep", "--all", cwd=proj).code == 0


def test_status_fast_path_sees_every_kind_of_change(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lobs.workspace

    proj = make_project(cli, tmp_path)
    os.symlink("a.json", proj / "data/corpus/link")
    old = time.time() - 60  # files older than the racy-write window get their hashes kept
    for p in (proj / "data/corpus").rglob("*"):
        os.utime(p, (old, old), follow_symlinks=False)
    assert cli("push", cwd=proj).code == 0
    loads: list[str] = []
    real = lobs.workspace.Workspace.cached_manifest

    def counting(self: lobs.workspace.Workspace, snap_id: str) -> object:
        loads.append(snap_id)
        return real(self, snap_id)

    monkeypatch.setattr(lobs.workspace.Workspace, "cached_manifest", counting)
    r = cli("status", cwd=proj)
    assert "clean (4 files)" in r.out and loads == []  # answered from the index alone
    corpus = proj / "data/corpus"
    for change, expect in (
        (lambda: (corpus / "sub/b.txt").write_text("beE\n"), "M sub/b.txt"),
        (lambda: (corpus / "sub/b.txt").chmod(0o755), "m sub/b.txt"),
        (lambda: (corpus / "new").write_text("n"), "+ new"),
        (lambda: (corpus / "a.json").unlink(), "- a.json"),
        (lambda: ((corpus / "link").unlink(), os.symlink("scratch.tmp", corpus / "link")), "M link"),
    ):
        assert cli("push", "--force", cwd=proj).code == 0
        assert "clean" in cli("status", cwd=proj).out
        change()
        r = cli("status", cwd=proj)
        assert expect in r.out, (expect, r.out)


def test_a_full_disk_is_one_line_and_loses_nothing(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import lobs.fetch_read
    import lobs.packs
    import lobs.push

    proj = make_project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    ref = (tmp_path / "remote/refs/data/corpus.ref").read_text()
    (proj / "data/corpus/a.json").write_text('{"b": 2}\n' * 100)

    def full(*args: object, **kw: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device", "/pretend/disk")

    monkeypatch.setattr(lobs.push, "compress_file", full)  # a disk that fills while staging
    monkeypatch.setattr(lobs.packs.PackWriter, "add", full)  # small files: into a pack
    r = cli("push", cwd=proj)
    assert r.code == ExitCode.LOCAL_IO, r.err
    assert r.err.splitlines() == [
        "lobs: error: No space left on device: /pretend/disk",
        "  hint: free some space and run it again; every file is old or new, never half-written",
    ]
    assert (tmp_path / "remote/refs/data/corpus.ref").read_text() == ref  # the ref did not move
    monkeypatch.undo()
    assert cli("push", cwd=proj).code == 0

    other = tmp_path / "other"
    shutil.copytree(proj, other, ignore=shutil.ignore_patterns(".lobs", "corpus"))
    monkeypatch.setattr(lobs.fetch_read, "_decode", full)
    monkeypatch.setattr(lobs.fetch_read, "decode_bytes", full)  # small files, read from their pack
    r = cli("pull", cwd=other)
    assert r.code == ExitCode.LOCAL_IO and len(r.err.splitlines()) == 2
    assert not (other / "data/corpus").exists() or not any((other / "data/corpus").iterdir())
    assert not (other / "data/.lobs-staging-corpus").exists()  # staging cleaned up


def test_pull_refuses_links_out_of_the_target_unless_allowed(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("f")
    os.symlink("/etc", src / "abs")
    os.symlink("../../outside", src / "sub" / "up")
    os.symlink("f", src / "sub" / "ok")
    assert cli("push", str(src), str(tmp_path / "remote")).code == 0  # your own links are yours to push
    dst = tmp_path / "dst"
    r = cli("pull", str(tmp_path / "remote"), str(dst))
    assert r.code == ExitCode.INTEGRITY
    assert "2 link(s) pointing out of the target" in r.err and "--allow-outside-links" in r.err
    assert not dst.exists() or not any(dst.iterdir())
    r = cli("pull", str(tmp_path / "remote"), str(dst), "--allow-outside-links")
    assert r.code == 0, r.err
    assert os.readlink(dst / "abs") == "/etc" and os.readlink(dst / "sub" / "ok") == "f"


def test_log_and_ls_of_a_bare_url(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_text("a")
    assert cli("push", str(src), str(tmp_path / "r"), "-m", "first").code == 0
    r = cli("log", str(tmp_path / "r"), "--json")
    assert r.code == 0 and [s["message"] for s in json.loads(r.out)["snapshots"]] == ["first"]
    r = cli("ls", str(tmp_path / "r"), "--json")
    assert [e["path"] for e in json.loads(r.out)["entries"]] == ["a"]


def test_leftovers_of_killed_processes_are_cleared_by_the_next_sync(cli: Cli, tmp_path: Path) -> None:
    import subprocess

    proj = make_project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    state = proj / ".lobs"
    left = [state / "index" / f".lobs-tmp-{dead.pid}-1-0", state / "manifests" / f".lobs-tmp-{dead.pid}-1-1",
            proj / f".lobs-tmp-{dead.pid}-1-2"]
    alive = state / "index" / f".lobs-tmp-{os.getpid()}-1-0"  # a live process's temp: not ours to take
    for p in [*left, alive]:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half")
    staged = state / "staging" / f"push-{dead.pid}"
    (staged / "objects").mkdir(parents=True)
    (staged / "objects" / "x").write_bytes(b"y")
    (proj / "data" / "corpus" / "new.txt").write_text("new\n")
    assert cli("push", cwd=proj).code == 0
    assert not any(p.exists() for p in left) and not staged.exists()
    assert alive.exists()


def test_clean_marker_never_hides_an_edit(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    f = proj / "data" / "corpus" / "sub" / "b.txt"
    old = f.stat()
    time.sleep(2.1)  # past the racy window, so the rows vouch for every file
    assert "clean" in cli("status", cwd=proj).out  # re-hashes what was racy at push time
    assert not list((proj / ".lobs" / "index").glob("*.clean"))
    assert "clean" in cli("status", cwd=proj).out  # the rows alone say clean
    markers = list((proj / ".lobs" / "index").glob("*.clean"))
    assert len(markers) == 1  # the rows said clean: the next status can skip loading them
    assert "clean" in cli("status", cwd=proj).out
    f.write_text("BEE\n")  # same size, and the same mtime put back: only ctime tells
    os.utime(f, ns=(old.st_atime_ns, old.st_mtime_ns))
    r = cli("status", cwd=proj)
    assert "1 modified" in r.out, r.out
    # a save of the rows (the status hashed b.txt) drops the marker
    assert not markers[0].exists()
    f.write_text("bee\n")
    os.utime(f, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert "clean" in cli("status", cwd=proj).out


def test_status_warns_once_when_the_marker_no_longer_matches(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(cli, tmp_path)
    os.mkfifo(proj / "data" / "corpus" / "pipe")
    assert cli("push", cwd=proj).code == 0
    time.sleep(2.1)
    cli("status", cwd=proj)
    r = cli("status", cwd=proj)  # clean by the rows: the marker is written
    assert "clean" in r.out and list((proj / ".lobs" / "index").glob("*.clean"))
    r = cli("status", cwd=proj)  # clean by the marker
    assert "clean" in r.out and (r.out + r.err).count("pipe: special file skipped") == 1
    (proj / "data" / "corpus" / "sub" / "b.txt").write_text("changed\n")
    r = cli("status", cwd=proj)  # the marker walk misses, the full walk reports
    assert "1 modified" in r.out and (r.out + r.err).count("pipe: special file skipped") == 1


def test_manifest_cache_round_trips_and_bad_copies_fall_back(cli: Cli, tmp_path: Path) -> None:
    """The fast copy of a cached snapshot gives back the same manifest; a missing copy, one in
    the older format, or a damaged one, is ignored and rebuilt from the verified JSON."""
    import marshal

    from lobs import manifest_cache
    from lobs.model import Entry, Manifest, Stored

    m = Manifest("t", "sha256", None, "2026-01-01T00:00:00Z", "msg", [
        Entry("a b/ü.txt", 5, 0o644, "ab" * 32, Stored("zstd", 4)),
        Entry("l", 3, 0o777, "cd" * 32, None, "a b/ü.txt"),
        Entry("z", 0, 0o600, "ef" * 32, Stored("none", 0)),
    ] + [Entry(f"many/{i:06d}", i, 0o644, f"{i:064x}", Stored("zstd", i)) for i in range(70_000)])  # two frames
    manifest_cache.write(tmp_path / "m", m)
    assert manifest_cache.read(tmp_path / "m") == m
    proj = make_project(cli, tmp_path)
    assert cli("push", cwd=proj).code == 0
    fast = next((proj / ".lobs/manifests").glob("*.m"))  # written by the push
    good = fast.read_bytes()
    pushed = manifest_cache.read(fast)
    assert pushed is not None and {e.path for e in pushed.entries} >= {"a.json", "sub/b.txt"}
    (proj / "data/corpus/new").write_text("n")  # not clean: status loads the base manifest
    for bad in (None, b"lobs.manifest-cache/1\n" + marshal.dumps(("t", "sha256", None, "", None, [])),
                good[:-10], good + b"x", good[:40] + b"\xff" * 8 + good[48:]):
        if bad is None:
            fast.unlink()
        else:
            fast.write_bytes(bad)
        out = cli("status", cwd=proj).out
        assert "+ new" in out and "- " not in out  # the same answer, from the JSON
        assert manifest_cache.read(fast) == pushed  # and the copy is rebuilt


def test_files_edited_during_a_push_or_a_pull_are_caught(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stat a push or pull compares with is the scan's, kept in the index rows (not in a
    LocalFile per file): an edit made while the transfer runs still stops it."""
    import lobs.pull
    import lobs.push

    proj = make_project(cli, tmp_path)
    blob = proj / "data/corpus/blob.bin"
    blob.write_bytes(os.urandom(200_000))  # incompressible and too big for a pack: sent as it is, checked after sending
    real_stage = lobs.push._stage

    def stage_then_edit(u, *a, **k):  # type: ignore[no-untyped-def]
        t = real_stage(u, *a, **k)
        if u.entry.path == "blob.bin":
            with open(blob, "ab") as f:
                f.write(b"more")
        return t

    monkeypatch.setattr(lobs.push, "_stage", stage_then_edit)
    r = cli("push", cwd=proj)
    assert r.code == ExitCode.INTEGRITY and "changed while being pushed: blob.bin" in r.err
    assert not list((tmp_path / "remote").rglob("*.ref"))  # the ref never moved
    assert not list((tmp_path / "remote").rglob("*.json.zst"))  # the snapshot sent with the objects is gone again
    monkeypatch.undo()
    assert cli("push", cwd=proj).code == 0

    other = tmp_path / "other"
    shutil.copytree(proj, other, ignore=shutil.ignore_patterns(".lobs"))
    (other / "data/corpus/sub/b.txt").write_text("remote edit")
    assert cli("push", cwd=other).code == 0
    real_recheck = lobs.pull._recheck_local

    def edit_then_recheck(plan):  # type: ignore[no-untyped-def]
        (proj / "data/corpus/sub/b.txt").write_text("edited while downloading")
        return real_recheck(plan)

    monkeypatch.setattr(lobs.pull, "_recheck_local", edit_then_recheck)
    r = cli("pull", "--latest", cwd=proj)
    assert r.code == ExitCode.CONFLICT and "changed during the pull: sub/b.txt" in r.err
    assert (proj / "data/corpus/sub/b.txt").read_text() == "edited while downloading"
