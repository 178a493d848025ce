"""Which paths of a target are tracked: gitignore-syntax rules from several sources.

Sources, in increasing precedence: the built-in excludes (``.lobs/``, ``.git/``,
lobs' own temp and staging files), the target's ``exclude`` list from lobs.yml,
then ``.gitignore`` and ``.lobsignore`` files found inside the target (a deeper
file overrides a shallower one, as in git). Ignore files *above* the target are
not read: a repository commonly git-ignores the very data folder lobs tracks.
``include`` (if given) keeps only files that match it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

BUILTIN_DIRS = frozenset((".lobs", ".git"))  # never tracked, at any depth
BUILTIN_PREFIXES = (".lobs-tmp-", ".lobs-staging-")  # lobs' own temp files and staging folders
IGNORE_FILES = (".gitignore", ".lobsignore")


def builtin_excluded(name: str, is_dir: bool) -> bool:
    """The built-in excludes, checked by name (no pattern matching: this runs per file)."""
    return name.startswith(BUILTIN_PREFIXES) or (is_dir and name in BUILTIN_DIRS)


@dataclass(frozen=True)
class Layer:
    base: str  # "" for the target root, else "dir/sub/" (with the trailing slash)
    spec: pathspec.GitIgnoreSpec


def _spec(lines: Sequence[str]) -> pathspec.GitIgnoreSpec:
    import pathspec  # only when there are patterns: a plain tree never loads it

    return pathspec.GitIgnoreSpec.from_lines(list(lines))


class Rules:
    """An immutable stack of ignore layers; ``child`` adds a directory's own files."""

    def __init__(
        self, layers: tuple[Layer, ...], include: pathspec.GitIgnoreSpec | None, source: tuple[tuple[str, ...], ...] = ()
    ) -> None:
        self.layers = layers
        self.include = include
        self.source = source  # the root's exclude and include lines (a fingerprint of the config)

    @staticmethod
    def root(exclude: Sequence[str] = (), include: Sequence[str] = ()) -> Rules:
        layers = (Layer("", _spec(exclude)),) if exclude else ()
        inc = _spec(include) if include else None
        source = (tuple(exclude), tuple(include))
        return Rules(layers, inc, source)

    def child(self, base: str, lines: list[str]) -> Rules:
        if not any(line.strip() and not line.lstrip().startswith("#") for line in lines):
            return self
        return Rules(self.layers + (Layer(base, _spec(lines)),), self.include, self.source)

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """Is the target-relative path ``rel`` excluded? Deepest matching layer wins.

        The built-in excludes are not checked here (see :func:`builtin_excluded`).
        """
        for layer in reversed(self.layers):
            if layer.base and not rel.startswith(layer.base):
                continue
            sub = rel[len(layer.base) :]
            res = layer.spec.check_file(sub + "/" if is_dir else sub)
            if res.include is not None:
                return bool(res.include)
        return False

    def included(self, rel: str) -> bool:
        return self.include is None or self.include.match_file(rel)


def read_ignore_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []
