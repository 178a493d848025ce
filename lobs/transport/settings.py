"""Retry and timeout settings for transport tools, from remote options and the environment.

Precedence: ``spec.options`` (``retries``, ``connect_timeout``, ``io_timeout``,
``idle_timeout``, ``timeout``) over environment variables (``LOBS_RETRIES``,
``LOBS_CONNECT_TIMEOUT``, ``LOBS_IO_TIMEOUT``, ``LOBS_IDLE_TIMEOUT``, ``LOBS_TIMEOUT``)
over the defaults below. Times are seconds; 0 disables a subprocess timeout.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lobs.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    retries: int = 3  # attempts after the first, per request (tool's own retry knob)
    connect_timeout: float = 10.0  # tool's connect timeout
    io_timeout: float = 60.0  # tool's read/idle-connection timeout
    idle_timeout: float = 600.0  # kill the child when it prints nothing for this long (0: never)
    timeout: float = 0.0  # kill the child after this long in total (0: never)
    prompt_wait: float = 1.5  # a partial line ending in ':' or '?' idle this long is a prompt

    @property
    def attempts(self) -> int:
        return self.retries + 1


_FIELDS = {
    "retries": ("LOBS_RETRIES", int),
    "connect_timeout": ("LOBS_CONNECT_TIMEOUT", float),
    "io_timeout": ("LOBS_IO_TIMEOUT", float),
    "idle_timeout": ("LOBS_IDLE_TIMEOUT", float),
    "timeout": ("LOBS_TIMEOUT", float),
    "prompt_wait": ("LOBS_PROMPT_WAIT", float),
}


def load_settings(options: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings; raises ConfigError for a value that is not a non-negative number."""
    options = options or {}
    environ = os.environ if environ is None else environ
    values: dict[str, float | int] = {}
    for name, (env_name, conv) in _FIELDS.items():
        raw = options.get(name, environ.get(env_name))
        if raw is None or raw == "":
            continue
        try:
            value = conv(str(raw).removesuffix("s"))
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        if value < 0:
            raise ConfigError(f"{name} must not be negative, got {raw!r}")
        values[name] = value
    return Settings(**values)  # type: ignore[arg-type]


def seconds_flag(value: float) -> str:
    """A Go duration for rclone flags: 2 -> '2s', 0.5 -> '500ms'."""
    if value >= 1 and float(value).is_integer():
        return f"{int(value)}s"
    return f"{int(value * 1000)}ms"
