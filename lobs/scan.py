"""Walk a target directory and list what it holds, without reading file contents.

Never follows a symlink (links are recorded as links), skips special files with
a warning, prunes ignored directories, and collects names that cannot round-trip
through the transports (invalid UTF-8, line breaks) so the caller can refuse them
in one message.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from lobs.errors import NotFoundError, UnsupportedError
from lobs.ignore import IGNORE_FILES, Rules, builtin_excluded, read_ignore_lines


@dataclass(slots=True)
class LocalFile:
    path: str  # target-relative POSIX path
    size: int
    mode: int  # permission bits
    mtime_ns: int
    ctime_ns: int
    ino: int
    link: str | None = None  # symlink target


@dataclass
class ScanResult:
    files: list[LocalFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # special files, with reason
    bad_names: list[str] = field(default_factory=list)

    def by_path(self) -> dict[str, LocalFile]:
        return {f.path: f for f in self.files}


_BAD_NAME = re.compile("[\n\r\udc80-\udcff]")  # line breaks; bytes that were not UTF-8


def _bad_name(name: str) -> bool:
    return _BAD_NAME.search(name) is not None


def scan(root: Path, rules: Rules, *, strict_names: bool = True) -> ScanResult:
    """List the tracked files under ``root``.

    Raises NotFoundError if ``root`` is not a directory, UnsupportedError listing
    every unrepresentable name when ``strict_names`` (else they are in ``bad_names``).
    """
    if not root.is_dir():
        raise NotFoundError(f"{root} is not a directory", "check the target's path")
    res = ScanResult()
    _walk(str(root), "", rules, res)
    res.files.sort(key=lambda f: f.path.encode("utf-8", "surrogateescape"))
    if strict_names and res.bad_names:
        shown = ", ".join(repr(n) for n in res.bad_names[:10])
        more = f" and {len(res.bad_names) - 10} more" if len(res.bad_names) > 10 else ""
        raise UnsupportedError(
            f"{len(res.bad_names)} name(s) cannot be stored (invalid UTF-8 or a line break): {shown}{more}",
            "rename them, or exclude them in lobs.yml or .lobsignore",
        )
    return res


def _walk(abs_dir: str, rel_dir: str, rules: Rules, res: ScanResult) -> None:
    try:
        entries = list(os.scandir(abs_dir))
    except PermissionError:
        res.skipped.append(f"{rel_dir or '.'}: permission denied")
        return
    names = {e.name for e in entries}
    for ig in IGNORE_FILES:
        if ig in names:
            rules = rules.child(rel_dir, read_ignore_lines(os.path.join(abs_dir, ig)))
    for entry in entries:
        name = entry.name
        rel = rel_dir + name
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # vanished while we looked
        mode = st.st_mode
        is_dir = stat.S_ISDIR(mode)
        if builtin_excluded(name, is_dir) or (rules.layers and rules.ignored(rel, is_dir)):
            continue
        if is_dir:
            if _bad_name(name):
                res.bad_names.append(rel + "/")
                continue
            _walk(entry.path, rel + "/", rules, res)
            continue
        if rules.include is not None and not rules.included(rel):
            continue
        if _bad_name(name):
            res.bad_names.append(rel)
            continue
        if stat.S_ISREG(mode):
            res.files.append(
                LocalFile(rel, st.st_size, stat.S_IMODE(mode), st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            )
        elif stat.S_ISLNK(mode):
            try:
                target = os.readlink(entry.path)
            except OSError:
                continue
            if _bad_name(target):
                res.bad_names.append(rel + " -> " + repr(target))
                continue
            res.files.append(
                LocalFile(rel, len(target.encode("utf-8")), 0o777, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, target)
            )
        else:
            res.skipped.append(f"{rel}: special file skipped")
