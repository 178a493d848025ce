"""Offline hand-off archives: ``lobs export`` / ``lobs import`` (docs/archive.md)."""

DEFAULT_MAX_SIZE = 64 << 30  # decompressed bytes allowed for an archive with no manifest
