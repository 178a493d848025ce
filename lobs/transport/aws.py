"""The aws CLI adapter: staging-tree batches, --include filters, s3api listing and deletes."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lobs.transport.base import Transfer
from lobs.transport.cmdutil import common_folder
from lobs.transport.command import CommandTransport
from lobs.transport.definition import Command, TransportDef
from lobs.transport.s3url import parse_s3_url
from lobs.transport.settings import Settings
from lobs.transport.spec import RemoteSpec
from lobs.transport.template import fnmatch_escape, render_argv


class AwsTransport(CommandTransport):
    def __init__(
        self, tdef: TransportDef, spec: RemoteSpec, exe: str | None, settings: Settings, env: Mapping[str, str] | None = None
    ) -> None:
        self.s3 = parse_s3_url(spec.url)
        super().__init__(tdef, spec, exe, settings, env)

    @property
    def root_url(self) -> str:
        return self.s3.url

    def extra_context(self) -> dict[str, Any]:
        return {"bucket": self.s3.bucket, "root_key_prefix": self.s3.key_prefix}

    def batch_context(self, op: str, items: Sequence[Transfer]) -> dict[str, Any]:
        if op != "download":
            return {}
        common = common_folder([t.key for t in items])
        includes = [f"--include={fnmatch_escape(t.key[len(common):])}" for t in items]
        return {"common": common, "includes": includes}

    def record_key(self, rec: Mapping[str, str], folder: str) -> str | None:
        if "bucket_key" in rec:
            bkey = rec["bucket_key"]
            return bkey[len(self.s3.key_prefix) :] if bkey.startswith(self.s3.key_prefix) else None
        return super().record_key(rec, folder)

    def delete_batch(self, cmd: Command, keys: Sequence[str]) -> None:
        body = {"Objects": [{"Key": self.s3.key_prefix + k} for k in keys], "Quiet": True}
        with tempfile.TemporaryDirectory(prefix="lobs-del-") as tmp:
            path = Path(tmp) / "delete.json"
            path.write_text(json.dumps(body), "utf-8")
            result = self.run(render_argv(cmd.argv, self.context(delete_json=str(path))))
        if not self.ok(result):
            raise self.fail(result, f"delete {len(keys)} object(s)", failed=keys)
        try:
            errors = json.loads(result.stdout or b"{}").get("Errors") or []
        except ValueError:
            errors = []
        real = [e for e in errors if e.get("Code") != "NoSuchKey"]
        if real:
            failed = [str(e.get("Key", ""))[len(self.s3.key_prefix) :] for e in real]
            first = real[0]
            raise self.fail(
                result,
                f"delete {len(failed)} object(s)",
                failed=failed,
                kind="permission" if first.get("Code") == "AccessDenied" else None,
            ) from None
