"""Render argv templates: each argument is its own Jinja2 template, so no shell ever
sees a file name and a value can never split into two arguments.

Rules: an argument that renders to the empty string is dropped (so
``"{% if endpoint %}--endpoint-url={{ endpoint }}{% endif %}"`` is optional); an
argument that is exactly ``{{ name }}`` whose value is a list is spliced in as
several arguments (``{{ global }}``, ``{{ keys }}``). Filters: ``shquote`` (POSIX
shell quoting for lines of s5cmd ``run`` files), ``fnmatch_escape``, ``rclone_quote``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from lobs.errors import ConfigError
from lobs.transport.settings import seconds_flag

_SPLICE = re.compile(r"^\{\{\s*([A-Za-z_]\w*)\s*\}\}$")


def fnmatch_escape(text: str) -> str:
    """Escape ``text`` so fnmatch (aws --include) matches it literally."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def rclone_quote(text: str) -> str:
    """Quote a value inside an rclone connection string (single quotes, doubled)."""
    return "'" + text.replace("'", "''") + "'"


def _make_env() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters["shquote"] = shlex.quote
    env.filters["fnmatch_escape"] = fnmatch_escape
    env.filters["rclone_quote"] = rclone_quote
    env.filters["duration"] = seconds_flag
    return env


_ENV = _make_env()
_CACHE: dict[str, Any] = {}


def _template(text: str) -> Any:
    tpl = _CACHE.get(text)
    if tpl is None:
        try:
            tpl = _CACHE[text] = _ENV.from_string(text)
        except TemplateError as e:
            raise ConfigError(f"invalid template {text!r}: {e}") from None
    return tpl


def render_text(text: str, context: Mapping[str, Any]) -> str:
    """Render one template string. Raises ConfigError for an unknown variable or bad syntax."""
    try:
        return str(_template(text).render(**context))
    except TemplateError as e:
        raise ConfigError(f"cannot render template {text!r}: {e}") from None


def render_argv(argv: Sequence[str], context: Mapping[str, Any]) -> list[str]:
    """Render an argv template into a list of arguments (see the module docstring)."""
    out: list[str] = []
    for arg in argv:
        m = _SPLICE.match(arg.strip())
        if m and m.group(1) in context and isinstance(context[m.group(1)], (list, tuple)):
            out.extend(str(v) for v in context[m.group(1)])
            continue
        value = render_text(arg, context)
        if value != "":
            out.append(value)
    return out


def render_lines(line: str, contexts: Iterable[Mapping[str, Any]]) -> bytes:
    """One rendered line per context, newline-terminated, UTF-8 (for stdin or list files)."""
    return "".join(render_text(line, c) + "\n" for c in contexts).encode("utf-8", "surrogateescape")
