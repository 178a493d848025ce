"""Fixtures for the archive tests: a source tree with hostile names, exported once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Cli  # noqa: F401 - re-exported for the tests
from tests.trees import build_tree

OLD = 1_600_000_000  # a past mtime, so the index keeps the hashes it is given


def make_tree(root: Path) -> Path:
    """The shared hostile tree (tests/trees.py), with every mtime in the past."""
    build_tree(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            os.utime(os.path.join(dirpath, n), (OLD, OLD), follow_symlinks=False)
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "src")
