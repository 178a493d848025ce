"""Deterministic (seeded) datasets, generated once per work dir and reused.

Every file gets a fixed mtime in the past, so that no file is "racily" new when an
index records it and two generations of the same dataset are identical.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

MTIME = 1_700_000_000  # 2023-11-14, any fixed moment well in the past
WORDS = [
    "data", "model", "lobs", "sync", "bucket", "object", "manifest", "snapshot", "index", "hash", "cache",
    "remote", "target", "file", "folder", "transfer", "upload", "download", "verify", "compress", "stream",
    "batch", "plan", "diff", "status", "the", "a", "of", "and", "to", "in", "is", "for", "on", "with", "as",
    "by", "at", "from", "that", "this", "be", "are", "it", "or", "an",
]


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _text_file(rng: random.Random, size: int) -> bytes:
    out: list[str] = []
    total = 0
    while total < size:
        line = _words(rng, rng.randint(6, 16)) + "\n"
        out.append(line)
        total += len(line)
    return "".join(out).encode()[:size]


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (MTIME, MTIME))


def _done(root: Path) -> bool:
    return (root.parent / (root.name + ".complete")).exists()


def _finish(root: Path) -> Path:
    (root.parent / (root.name + ".complete")).write_text("ok\n")
    return root


def _fresh(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)


def mixed(root: Path, n_small: int, n_big: int, big_mb: int, seed: int = 1) -> Path:
    """``n_small`` text files of 1-20 KiB in 20 folders, ``n_big`` random files of ``big_mb`` MiB."""
    if _done(root):
        return root
    _fresh(root)
    rng = random.Random(seed)
    for i in range(n_small):
        _write(root / f"d{i % 20:02d}" / f"f{i:05d}.txt", _text_file(rng, rng.randint(1024, 20 * 1024)))
    for i in range(n_big):
        _write(root / "big" / f"big{i:02d}.bin", rng.randbytes(big_mb << 20))
    return _finish(root)


def tiny_files(root: Path, n: int, seed: int = 2) -> Path:
    """``n`` files of 16-256 bytes, 1,000 per folder (the scale and status datasets)."""
    if _done(root):
        return root
    _fresh(root)
    rng = random.Random(seed)
    for i in range(n):
        d = root / f"d{i // 1000:04d}"
        if i % 1000 == 0:
            d.mkdir()
        p = d / f"f{i:07d}.txt"
        with open(p, "wb") as f:
            f.write(rng.randbytes(rng.randint(8, 128)).hex().encode())
        os.utime(p, (MTIME, MTIME))
    return _finish(root)


def big_files(root: Path, total_mb: int, file_mb: int = 16, seed: int = 3) -> Path:
    """``total_mb`` MiB of random bytes in files of ``file_mb`` MiB (the hashing dataset)."""
    if _done(root):
        return root
    _fresh(root)
    rng = random.Random(seed)
    for i in range(max(1, total_mb // file_mb)):
        _write(root / f"blob{i:03d}.bin", rng.randbytes(file_mb << 20))
    return _finish(root)


def text_heavy(root: Path, n_files: int, seed: int = 4) -> Path:
    """JSON, Markdown, HTML and CSV files, a quarter each, 2-200 KiB (the compression dataset)."""
    if _done(root):
        return root
    _fresh(root)
    rng = random.Random(seed)
    for i in range(n_files):
        kind = ("json", "md", "html", "csv")[i % 4]
        n = rng.randint(20, 2000)
        if kind == "json":
            recs = [{"id": i * 10_000 + j, "name": _words(rng, 2), "score": round(rng.random(), 4),
                     "tags": [rng.choice(WORDS) for _ in range(3)]} for j in range(n)]
            body = json.dumps(recs, indent=2)
        elif kind == "md":
            body = "\n\n".join(f"## {_words(rng, 3)}\n\n{_words(rng, 60)}" for _ in range(n // 10 + 1))
        elif kind == "html":
            rows = "".join(f"<tr><td>{j}</td><td>{_words(rng, 4)}</td></tr>\n" for j in range(n))
            body = f"<html><body><h1>{_words(rng, 3)}</h1><table>\n{rows}</table></body></html>"
        else:
            body = "id,name,value,flag\n" + "".join(
                f"{j},{_words(rng, 2)},{rng.random():.6f},{rng.random() < 0.5}\n" for j in range(n))
        _write(root / kind / f"doc{i:04d}.{kind}", body.encode())
    return _finish(root)


def tree_bytes(root: Path) -> tuple[int, int]:
    """(files, bytes) of regular files under ``root``."""
    n = b = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            n += 1
            b += os.lstat(os.path.join(dirpath, name)).st_size
    return n, b


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, copy_function=shutil.copy2)
    return dst


def touch_fraction(root: Path, fraction: float, salt: str) -> int:
    """Append ``salt`` to every 1/fraction-th file (sorted order, deterministic). Returns the count."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    step = max(1, round(1 / fraction))
    chosen = files[::step]
    for p in chosen:
        with open(p, "ab") as f:
            f.write(salt.encode())
    return len(chosen)
