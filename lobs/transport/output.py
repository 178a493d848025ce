"""Read records out of tool output: per-file events, byte progress and listings.

A record is a flat ``dict[str, str]`` with some of the roles ``key`` (relative to
the transport root), ``url`` (a full remote URL), ``local`` (a local path),
``path`` (relative to a listed folder or a staging tree) and ``size``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from lobs.transport.definition import OutputSpec

Record = dict[str, str]


def dig(doc: Any, dotted: str) -> Any:
    """``doc["a"]["b"]`` for ``"a.b"``; None when any step is missing."""
    for part in dotted.split(".") if dotted else []:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _matches(doc: dict[str, Any], where: Any) -> bool:
    for fld, want in where.items():
        got = dig(doc, fld)
        if isinstance(want, str) and want.endswith("*"):
            if not (isinstance(got, str) and got.startswith(want[:-1])):
                return False
        elif got != want:
            return False
    return True


def _from_doc(doc: Any, spec: OutputSpec) -> Record | None:
    if not isinstance(doc, dict) or not _matches(doc, spec.where):
        return None
    rec: Record = {}
    for role, fld in spec.fields.items():
        value = dig(doc, fld)
        if value is not None:
            rec[role] = str(value)
    return rec or None


class LineReader:
    """Turns output lines into records (``on_record``) and cumulative byte counters (``on_bytes``)."""

    def __init__(
        self,
        spec: OutputSpec,
        on_record: Callable[[Record], None],
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        self.spec = spec
        self.on_record = on_record
        self.on_bytes = on_bytes
        self._regex = re.compile(spec.pattern) if spec.pattern else None
        self._seen_bytes = 0

    def __call__(self, line: str) -> None:
        if self.spec.format == "lines":
            m = self._regex.search(line) if self._regex else None
            if m:
                self.on_record({k: v for k, v in m.groupdict().items() if v is not None})
            return
        if not line.startswith("{"):
            return
        try:
            doc = json.loads(line)
        except ValueError:
            return
        if self.spec.progress and self.on_bytes is not None:
            total = dig(doc, self.spec.progress)
            if isinstance(total, int) and total > self._seen_bytes:
                self.on_bytes(total - self._seen_bytes)
                self._seen_bytes = total
        rec = _from_doc(doc, self.spec)
        if rec is not None:
            self.on_record(rec)


class OutputError(ValueError):
    """The output could not be read as the definition says."""


def parse_records(spec: OutputSpec, data: bytes) -> Iterator[Record]:
    """All records of a complete output. Raises OutputError on malformed JSON."""
    text = data.decode("utf-8", "surrogateescape")
    if spec.format == "json":
        try:
            doc = json.loads(text) if text.strip() else []
        except ValueError as e:
            raise OutputError(f"not JSON: {e}") from None
        items = dig(doc, spec.items) if spec.items else doc
        if items is None:
            return
        if not isinstance(items, list):
            raise OutputError(f"expected a list at {spec.items or 'the top level'}")
        for doc in items:
            rec = _from_doc(doc, spec)
            if rec is not None:
                yield rec
        return
    records: list[Record] = []
    reader = LineReader(spec, records.append)
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if spec.format == "jsonl" and line.startswith("{"):
            try:
                json.loads(line)
            except ValueError as e:
                raise OutputError(f"not JSON: {line[:80]!r}: {e}") from None
        reader(line)
    yield from records
