"""The rclone adapter: on-the-fly S3 remotes, named remotes, and rclone's silent successes.

rclone treats S3 like a file system: a missing key is an empty "directory", so
``cat``/``copy`` of a missing key succeed with no output. Reads of empty output
are confirmed with ``lsjson --stat``; batch downloads are checked file by file
(:mod:`lobs.transport.batch`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lobs.errors import TransportError, UnsupportedError
from lobs.transport.command import CommandTransport
from lobs.transport.definition import TransportDef
from lobs.transport.run import Result
from lobs.transport.s3url import parse_s3_url
from lobs.transport.settings import Settings
from lobs.transport.spec import RemoteSpec, url_scheme
from lobs.transport.template import rclone_quote, render_argv


def s3_remote(spec: RemoteSpec, bucket: str, prefix: str) -> str:
    """``:s3,provider=…,env_auth=true,endpoint='…':bucket/prefix`` for an s3:// URL. No secrets."""
    params = [f"provider={'Other' if spec.endpoint_url else 'AWS'}"]
    params.append("env_auth=false" if spec.no_sign_request else "env_auth=true")
    if spec.endpoint_url:
        params.append(f"endpoint={rclone_quote(spec.endpoint_url)}")
    if spec.region:
        params.append(f"region={rclone_quote(spec.region)}")
    if spec.profile:
        params.append(f"profile={rclone_quote(spec.profile)}")
    return ":s3," + ",".join(params) + f":{bucket}" + (f"/{prefix}" if prefix else "")


class RcloneTransport(CommandTransport):
    def __init__(
        self, tdef: TransportDef, spec: RemoteSpec, exe: str | None, settings: Settings, env: Mapping[str, str] | None = None
    ) -> None:
        self.scheme = url_scheme(spec.url)
        if self.scheme == "s3":
            s3 = parse_s3_url(spec.url)
            self.bucket_remote = s3_remote(spec, s3.bucket, "")
            self.remote = s3_remote(spec, s3.bucket, s3.prefix)
        else:
            self.bucket_remote = ""
            self.remote = spec.url if spec.url.endswith(":") else spec.url.rstrip("/")
        super().__init__(tdef, spec, exe, settings, env)

    @property
    def root_url(self) -> str:
        return self.remote

    def check_name(self, key: str) -> str:
        # rclone shows control characters as Unicode "control pictures" (tab -> U+2409) and
        # then cannot find the object: refuse rather than lose it
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
            raise UnsupportedError(
                f"object key {key!r} contains a control character, which rclone cannot carry",
                "use the s5cmd or aws transport for this remote, or rename the file",
            )
        return super().check_name(key)

    def url(self, key: str) -> str:
        return self.remote + key if self.remote.endswith(":") else f"{self.remote}/{key}"

    def key_of_url(self, url: str) -> str | None:
        base = self.url("")
        return url[len(base) :] if url.startswith(base) else None

    def extra_context(self) -> dict[str, Any]:
        return {"remote": self.remote}

    def env(self) -> dict[str, str]:
        env = super().env()
        if self.scheme == "s3":
            # an s3:// URL needs no rclone.conf; an encrypted one would only ask for its password
            env["RCLONE_CONFIG"] = "/dev/null"
        return env

    def _stat(self, target: str) -> Result:
        argv = render_argv(["{{ global }}", "lsjson", "--stat", "--no-mimetype", "{{ target }}"], self.context(target=target))
        return self.run(argv)

    def verify_read(self, key: str, data: bytes) -> bytes | None:
        if data:
            return data
        result = self._stat(self.url(key))
        if not self.ok(result):
            return None
        try:
            entry = json.loads(result.stdout or b"{}")
        except ValueError:
            return None
        return data if isinstance(entry, dict) and entry.get("IsDir") is False else None

    def list_failure(self, result: Result, prefix: str) -> TransportError:
        err = super().list_failure(result, prefix)
        # a prefix nothing was written under yet is empty, unless the bucket is missing
        if (
            err.kind == "not_found"
            and "directory not found" in result.stderr_text
            and (self.scheme != "s3" or self.ok(self._probe_bucket()))
        ):
            return _Empty(err.message)
        return err

    def _probe_bucket(self) -> Result:
        argv = render_argv(
            ["{{ global }}", "lsjson", "--max-depth=1", "--dirs-only", "--no-mimetype", "{{ target }}"],
            self.context(target=self.bucket_remote),
        )
        return self.run(argv)

    def list(self, prefix: str = "") -> Any:
        try:
            yield from super().list(prefix)
        except _Empty:
            return


class _Empty(TransportError):
    """Internal: a listing failure that means 'nothing there'."""
