"""The environment each transport child process gets.

Start from the user's environment so their real setup works (AWS credentials,
``AWS_PROFILE``, ``AWS_CONFIG_FILE``, ``AWS_SHARED_CREDENTIALS_FILE``,
``RCLONE_CONFIG``, ``RCLONE_CONFIG_PASS``), then remove what is known to break a
tool or silently change its behaviour, and set what lobs relies on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from lobs.transport.spec import RemoteSpec, url_scheme

# RCLONE_* that describe where the config is, not how rclone behaves.
_RCLONE_KEEP = ("RCLONE_CONFIG", "RCLONE_CONFIG_PASS", "RCLONE_PASSWORD_COMMAND", "RCLONE_CACHE_DIR")


def child_env(
    tool: str,
    spec: RemoteSpec,
    extra: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the environment for running ``tool`` against ``spec``. Pure; never raises."""
    env = dict(os.environ if base is None else base)
    rclone_remote = ""
    if url_scheme(spec.url) == "rclone":
        rclone_remote = "RCLONE_CONFIG_" + spec.url.partition(":")[0].upper().replace("-", "_") + "_"
    for name in list(env):
        if name.startswith("RCLONE_") and name not in _RCLONE_KEEP:
            # a remote defined through the environment is the user's setup: keep it
            if not (rclone_remote and name.startswith(rclone_remote)):
                del env[name]
        elif name.startswith("S3_"):  # s5cmd reads S3_ENDPOINT_URL behind our back
            del env[name]
    if tool == "rclone":
        env.pop("AWS_CA_BUNDLE", None)  # rclone fails outright when it is set
    env.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    if spec.profile:
        env["AWS_PROFILE"] = spec.profile
        env.pop("AWS_DEFAULT_PROFILE", None)
    if spec.region:
        env["AWS_REGION"] = spec.region
        env["AWS_DEFAULT_REGION"] = spec.region
    env.setdefault("LC_ALL", "C.UTF-8")
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.pop("PAGER", None)
    env["AWS_PAGER"] = ""
    if extra:
        env.update(extra)
    return env
