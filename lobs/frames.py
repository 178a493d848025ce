"""Length-prefixed marshal frames: big local caches written and read a piece at a time.

A frame is 8 bytes of little-endian length, then that many bytes of ``marshal`` data.
The index and the manifest cache hold a million rows as a few dozen frames, so that
neither saving nor loading builds one blob of a hundred megabytes. Only for files lobs
writes itself (marshal is not for untrusted input); a short or damaged frame raises
EOFError or ValueError, which callers treat as a cache miss.
"""

from __future__ import annotations

import marshal
import struct
from typing import IO, Any

_LEN = struct.Struct("<Q")
CHUNK = 65536  # rows per frame: a few MB


def write_frame(f: IO[bytes], value: Any) -> None:
    data = marshal.dumps(value)
    f.write(_LEN.pack(len(data)))
    f.write(data)


def read_frame(f: IO[bytes]) -> Any:
    """The next frame's value. Raises EOFError if the file ends early, ValueError (or
    TypeError) if the data is not marshal."""
    head = f.read(_LEN.size)
    if len(head) != _LEN.size:
        raise EOFError("cut short")
    (n,) = _LEN.unpack(head)
    data = f.read(n)
    if len(data) != n:
        raise EOFError("cut short")
    return marshal.loads(data)
