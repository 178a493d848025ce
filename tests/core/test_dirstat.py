"""The optional C directory lister agrees with its pure-Python twin, and CI builds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lobs import scan as scan_mod
from lobs.ignore import Rules
from tests.conftest import Cli
from tests.trees import INVALID_UTF8_NAME, NEWLINE_NAME, build_tree


def test_ci_builds_the_accelerator() -> None:
    if os.environ.get("CI") == "true":
        assert scan_mod.ACCELERATED, "lobs._dirstat was not built: is a C compiler installed?"
    elif not scan_mod.ACCELERATED:
        pytest.skip("lobs._dirstat not built here (no C compiler at install); CI requires it")


needs_c = pytest.mark.skipif(not scan_mod.ACCELERATED, reason="lobs._dirstat not built")


def _hostile(tmp_path: Path) -> Path:
    root = build_tree(tmp_path / "t")
    (root / NEWLINE_NAME).write_text("x")
    open(os.path.join(os.fsencode(root), INVALID_UTF8_NAME), "w").close()
    os.mkfifo(root / "fifo")
    return root


@needs_c
def test_list_dir_matches_scandir_on_every_folder_of_the_hostile_tree(tmp_path: Path) -> None:
    from lobs._dirstat import list_dir

    root = _hostile(tmp_path)
    seen = 0
    for d, _, _ in os.walk(root):
        assert list_dir(d) == scan_mod._py_list_dir(d)  # same rows, same packed stats, same order
        seen += 1
    assert seen > 40  # the deep chain is walked too


@needs_c
def test_list_dir_raises_like_scandir(tmp_path: Path) -> None:
    from lobs._dirstat import list_dir

    with pytest.raises(FileNotFoundError) as err:
        list_dir(str(tmp_path / "missing"))
    assert err.value.filename == str(tmp_path / "missing")
    with pytest.raises(NotADirectoryError):
        list_dir(__file__)
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o000)
        with pytest.raises(PermissionError):
            list_dir(str(locked))
    with pytest.raises(TypeError):
        list_dir(42)  # type: ignore[arg-type]


@needs_c
def test_scan_gives_the_same_result_with_and_without_the_accelerator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _hostile(tmp_path)
    (root / ".gitignore").write_text("*.csv\n")
    fast = scan_mod.scan(root, Rules.root(exclude=["bin/"]), strict_names=False)
    monkeypatch.setattr(scan_mod, "list_dir", scan_mod._py_list_dir)
    monkeypatch.setattr(scan_mod, "ACCELERATED", False)
    slow = scan_mod.scan(root, Rules.root(exclude=["bin/"]), strict_names=False)
    assert fast.files == slow.files and fast.skipped == slow.skipped and fast.signature == slow.signature
    assert sorted(fast.bad_names) == sorted(slow.bad_names) and len(fast.bad_names) == 2
    assert not any(f.path.startswith("bin/") or f.path.endswith(".csv") for f in fast.files)
    assert len(fast.files) > 60


def test_version_says_how_folders_are_walked(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    r = cli("--version")
    assert r.code == 0 and r.out.startswith("lobs, version ")
    assert ("C helper lobs._dirstat" in r.out) == scan_mod.ACCELERATED
    monkeypatch.setattr(scan_mod, "ACCELERATED", False)
    assert "pure Python" in cli("--version").out


def test_scan_signature_changes_with_anything_the_walk_sees(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "x.txt").write_text("x")
    (root / "a" / "b" / "y.txt").write_text("y")
    (root / "a" / "skip.log").write_text("s")

    def sig(**kw: list[str]) -> str:
        return scan_mod.scan(root, Rules.root(**kw)).signature

    first = sig()
    assert first and sig() == first  # stable while nothing changes
    walked = scan_mod.scan(root, Rules.root(), files=False)  # the walk status does first
    assert walked.signature == first and walked.files == []
    assert sig(exclude=["*.log"]) != first  # the rules are part of it
    (root / "a" / "b" / "y.txt").write_text("Y")  # same size; ctime moves
    second = sig()
    assert second != first
    (root / "a" / "b" / "new").mkdir()
    assert sig() != second  # an empty folder is seen too


def test_a_folder_that_vanishes_or_becomes_a_file_mid_walk_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    for listed in (scan_mod._listing(str(tmp_path / "f")), scan_mod._listing(str(tmp_path / "gone"))):
        assert isinstance(listed, OSError)
        res = scan_mod.ScanResult()
        scan_mod._one_dir((str(tmp_path / "f"), "f/", Rules.root()), listed, res, [])
        assert res.files == [] and res.skipped == [] and res.bad_names == []


@needs_c
def test_times_beyond_2262_pack_the_same_in_c_and_python(tmp_path: Path) -> None:
    """Nanosecond times past 2**63 wrap modulo 2**64 in both walkers (C must not overflow)."""
    from lobs._dirstat import list_dir

    f = tmp_path / "future"
    f.write_text("x")
    far = 400 * 365 * 86400 * 10**9  # about the year 2370
    os.utime(f, ns=(far, far))
    assert os.stat(f).st_mtime_ns == far
    assert list_dir(str(tmp_path)) == scan_mod._py_list_dir(str(tmp_path))
    scanned = scan_mod.scan(tmp_path, Rules.root()).files[0]
    assert scanned.key == scan_mod.pack_stat(1, far, scanned.ctime_ns, scanned.ino)
    assert scanned.size == 1 and scanned.mtime_ns == far - 2**64  # read back as a signed number, as the index packs it


def _within(seconds: float, fn):  # type: ignore[no-untyped-def]
    """fn() on a thread: its result, or its exception, or a failure if it hangs."""
    import threading

    out: list[object] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as e:  # noqa: BLE001 - handed back
            out.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the walk hung: a listing thread waits for a slot that never comes"
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


@needs_c
def test_a_walk_with_few_listings_ahead_gives_the_same_result_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing threads wait for the walker (at most AHEAD listings queued); an error in the
    walker stops them instead of leaving them blocked."""
    import threading

    root = tmp_path / "t"
    for i in range(60):
        (root / f"d{i:02}" / "sub").mkdir(parents=True)
        (root / f"d{i:02}" / "sub" / "f").write_text(str(i))
    wide = _within(30, lambda: scan_mod.scan(root, Rules.root()))
    monkeypatch.setattr(scan_mod, "AHEAD", 1)
    narrow = _within(30, lambda: scan_mod.scan(root, Rules.root()))
    assert narrow.files == wide.files and narrow.signature == wide.signature and len(wide.files) == 60
    calls = 0
    real = scan_mod._one_dir

    def failing(*a, **k):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 5:
            raise OSError("boom")
        return real(*a, **k)

    monkeypatch.setattr(scan_mod, "_one_dir", failing)
    before = threading.active_count()
    with pytest.raises(OSError, match="boom"):
        _within(30, lambda: scan_mod.scan(root, Rules.root()))
    assert threading.active_count() == before  # every listing thread was joined
