"""Hostile test trees, and byte-for-byte comparison of directory trees.

``build_tree`` makes a folder with nested folders, empty files, an executable, a
read-only file, duplicate content, compressible and incompressible files, relative
symlinks (to a file, to a folder, dangling) and many hostile names: shell
metacharacters, template syntax, leading dashes, leading/trailing spaces, emoji,
CJK, NFC and NFD spellings of the same word side by side, 200-byte names and deep
nesting. ``tree_state`` records a tree (kind, mode, bytes or link target for every
entry) so that two trees can be compared exactly with ``assert_same_tree``.

Names are generated at run time rather than committed: a git checkout on some
systems would normalise or refuse several of them.
"""

from __future__ import annotations

import hashlib
import os
import random
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# At least 30 names that break naive shell scripts, globbing, option parsing,
# URL encoding, templating or Unicode handling. Each becomes a file at the top
# of the tree, and several also become folders.
HOSTILE_NAMES: tuple[str, ...] = (
    "with space",
    "single'quote",
    'double"quote',
    "$(touch pwned)",
    "`touch pwned`",
    "semi;colon; touch pwned",
    "amp&ersand && touch pwned",
    "star*",
    "question?",
    "[bracket",
    "bracket]",
    "[ab]",
    "#hash",
    "100%",
    "%41%2F%00",
    "%s%n%x",
    "colon:name",
    "c:drive-like",
    "~tilde",
    "~",
    "-rf",
    "--help",
    "-",
    " leading space",
    "trailing space ",
    "   ",
    "emoji 😀🎉",
    "中文文件名.txt",
    "日本語のファイル",
    "한국어",
    "cafe\u0301",  # NFD: e + combining acute
    "caf\u00e9",  # NFC: precomposed é, a different name on Linux
    "back\\slash",
    "\\",
    "{a,b}",
    "bang!",
    "pipe|cat",
    "<less",
    "greater>",
    "equals=sign",
    "at@sign",
    "at@0123456789abcdef",
    "$HOME",
    "${IFS}",
    "{{ local }}",
    "{% raw %}",
    "'; touch pwned; echo '",
    "tab\there",
    ".hidden",
    "..dots",
    "dots..",
    "\u202eright-to-left override",
    "zero\u200bwidth",
    "plus+sign",
    "comma,name",
    "paren(1)",
    "caret^",
    "L" * 196 + ".txt",  # 200 bytes
    "é" * 100,  # 200 bytes of UTF-8, 100 characters
)

# Names lobs must refuse (exit 9): they cannot round-trip through transports.
NEWLINE_NAME = "new\nline"
CR_NAME = "carriage\rreturn"
INVALID_UTF8_NAME = b"bad-\xff\xfe-utf8"

DEEP_LEVELS = 40


@dataclass(frozen=True)
class Node:
    kind: str  # "file", "link" or "dir"
    mode: int  # permission bits (0 for links and folders: lobs does not keep them)
    digest: str  # sha256 of the content for files, the link target for links, "" for folders


def _w(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, mode)


def build_tree(root: Path, *, seed: int = 1234, big_files: int = 0, big_size: int = 0) -> Path:
    """Create the hostile tree under ``root`` (created if missing). Returns ``root``."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(HOSTILE_NAMES):
        _w(root / name, f"file {i}: {name!r}\n".encode())
    # hostile folder names, nested, with hostile names inside
    for name in ("$(touch pwned)", "-rf", " leading space", "trailing space ", "中文", "cafe\u0301", "caf\u00e9", "{a,b}", "[ab]"):
        d = root / "dirs" / name
        _w(d / "--help", f"in {name!r}\n".encode())
        _w(d / "`touch pwned`", b"x" * 10)
        _w(d / "sub dir" / "#leaf", name.encode())
    # NFC/NFD at the same level must stay two files with their own content
    assert unicodedata.normalize("NFC", "cafe\u0301") == "caf\u00e9"
    # empty files
    _w(root / "empty", b"")
    _w(root / "nested" / "a" / "empty too", b"")
    # modes
    _w(root / "bin" / "run.sh", b"#!/bin/sh\necho hello\n", 0o755)
    _w(root / "bin" / "private", b"secret-ish\n", 0o600)
    _w(root / "bin" / "read-only", b"do not edit\n", 0o444)
    _w(root / "bin" / "group", b"g\n", 0o750)
    # content kinds: compressible, incompressible, duplicates
    _w(root / "nested" / "a" / "text.csv", b"".join(b"%d,row %d,some text\n" % (i, i) for i in range(5000)))
    _w(root / "nested" / "b" / "random.bin", rng.randbytes(70_000))
    _w(root / "nested" / "b" / "dup1", b"same content\n" * 100)
    _w(root / "nested" / "c" / "dup2", b"same content\n" * 100)
    _w(root / "nested" / "c" / "name", b"plain\n")
    _w(root / "nested" / "c" / "name.zst", b"not compressed, just a name\n" * 20)
    # deep nesting
    deep = root.joinpath(*[f"d{i}" for i in range(DEEP_LEVELS)])
    _w(deep / "leaf.txt", b"deep\n")
    # symlinks: relative, to a file and to a folder inside the tree, one dangling
    links = root / "links"
    links.mkdir()
    os.symlink("../with space", links / "to file")
    os.symlink("../nested/a", links / "to dir")
    os.symlink("../$(touch pwned)", links / "$(touch pwned) link")
    os.symlink("does-not-exist", links / "dangling")
    os.symlink("bin/run.sh", root / "run-link")
    for i in range(big_files):
        _w(root / "big" / f"part {i:03d}.bin", rng.randbytes(big_size))
    return root


def build_many(root: Path, count: int, *, seed: int, big_every: int = 0, big_size: int = 0, tag: bytes = b"") -> Path:
    """A flat-ish tree of ``count`` small files (every ``big_every``-th is ``big_size`` bytes).

    ``tag`` is mixed into every file's content so that two calls with different tags
    give the same paths with different bytes (an "old" and a "new" version).
    """
    rng = random.Random(seed)
    for i in range(count):
        size = big_size if big_every and i % big_every == 0 else rng.randrange(0, 4000)
        body = tag + rng.randbytes(size // 2) + b"text " * (size // 10)
        _w(root / f"g{i % 7}" / f"f {i:04d} $(x).dat", body, 0o755 if i % 13 == 0 else 0o644)
    return root


def tree_state(root: Path, *, skip_top: tuple[str, ...] = (".lobs",)) -> dict[bytes, Node]:
    """Every file, link and folder under ``root`` (not following links), keyed by raw relative path."""
    out: dict[bytes, Node] = {}
    broot = os.fsencode(root)

    def walk(d: bytes, rel: bytes) -> None:
        for entry in sorted(os.scandir(d), key=lambda e: e.name):
            name = entry.name
            if not rel and os.fsdecode(name) in skip_top:
                continue
            r = rel + b"/" + name if rel else name
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                out[r] = Node("link", 0, os.fsdecode(os.readlink(entry.path)))
            elif stat.S_ISDIR(st.st_mode):
                out[r] = Node("dir", 0, "")
                walk(entry.path, r)
            elif stat.S_ISREG(st.st_mode):
                with open(entry.path, "rb") as f:
                    digest = hashlib.file_digest(f, "sha256").hexdigest()
                out[r] = Node("file", stat.S_IMODE(st.st_mode), digest)
            else:
                out[r] = Node("special", 0, "")

    walk(broot, b"")
    return out


def assert_same_tree(a: dict[bytes, Node], b: dict[bytes, Node]) -> None:
    """Fail with a readable list of differences."""
    if a == b:
        return
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    differ = sorted(p for p in set(a) & set(b) if a[p] != b[p])
    lines = [f"only in first: {p!r}" for p in only_a[:20]]
    lines += [f"only in second: {p!r}" for p in only_b[:20]]
    lines += [f"differs: {p!r}: {a[p]} != {b[p]}" for p in differ[:20]]
    raise AssertionError("trees differ:\n" + "\n".join(lines))


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def find_named(roots: list[Path], name: str) -> list[Path]:
    """Every file or folder called ``name`` under any of ``roots`` (not following links)."""
    hits: list[Path] = []
    for r in roots:
        if not r.exists():
            continue
        if r.name == name:
            hits.append(r)
        for dirpath, dirnames, filenames in os.walk(r):
            for n in dirnames + filenames:
                if n == name:
                    hits.append(Path(dirpath) / n)
    return hits


def leftover_temps(root: Path) -> list[Path]:
    """``.lobs-tmp-*`` and staging entries anywhere under ``root`` (outside ``.lobs/``)."""
    hits = []
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root and ".lobs" in dirnames:
            dirnames.remove(".lobs")
        for n in dirnames + filenames:
            if n.startswith((".lobs-tmp-", ".lobs-staging-")):
                hits.append(Path(dirpath) / n)
    return hits


if __name__ == "__main__":  # a generator for manual exploration: python -m tests.trees DIR
    import sys

    print(build_tree(Path(sys.argv[1])))
