"""JSON documents with long arrays written piece by piece.

A ``--json`` result can list a million changes or uploads. Built as a list of dicts and
encoded in one call, that list and its text take more memory than the rest of the run
(2 GB at a million files). :class:`LazyList` marks an array whose items are made and
encoded as they are written; :func:`write_json` writes a document holding such arrays
with exactly the text ``json.dumps(doc, ensure_ascii=False)`` gives for its list form.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
BATCH = 1024  # items encoded, then written, at a time


class LazyList:
    """An array for :func:`write_json`, iterated once when it is written."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


def write_json(doc: Any, write: Callable[[str], object]) -> None:
    """Write ``doc`` through ``write``; LazyList arrays may sit in any dict or list of it."""
    if isinstance(doc, dict):
        write("{")
        for i, (k, v) in enumerate(doc.items()):
            key = _ENCODE(k) if isinstance(k, str) else _ENCODE({k: 0})[1:-4]  # as json.dumps writes 1, None, True
            write((", " if i else "") + key + ": ")
            write_json(v, write)
        write("}")
    elif isinstance(doc, LazyList):
        write("[")
        batch: list[str] = []
        first = True
        for item in doc.items:
            batch.append(_ENCODE(item))
            if len(batch) == BATCH:
                write(("" if first else ", ") + ", ".join(batch))
                batch, first = [], False
        if batch:
            write(("" if first else ", ") + ", ".join(batch))
        write("]")
    elif isinstance(doc, (list, tuple)) and any(isinstance(v, (dict, list, tuple, LazyList)) for v in doc):
        write("[")
        for i, v in enumerate(doc):
            if i:
                write(", ")
            write_json(v, write)
        write("]")
    else:
        write(_ENCODE(doc))
