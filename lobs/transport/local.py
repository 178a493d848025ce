"""The built-in ``local`` transport: a folder as a remote, no external program.

Writes are atomic (temp file in the destination folder, fsync, rename), so a
killed push never leaves a half-written object under its final name.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from lobs.errors import ObjectMissing, TransportError
from lobs.fsutil import TMP_PREFIX, atomic_copy, atomic_write_bytes, open_read, plain_copy
from lobs.transport.base import Capabilities, RemoteObject, Transfer, TransferEvents, Transport
from lobs.transport.spec import check_key


def folder_from_url(url: str) -> Path:
    if url.startswith("file://"):
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise TransportError(f"file URL with a host is not supported: {url}", kind="not_found")
        return Path(unquote(parsed.path))
    return Path(url).expanduser().absolute()


class LocalTransport(Transport):
    name = "local"
    capabilities = Capabilities(batch=True, byte_progress=False, read_in_place=True)

    def __init__(self, url: str, *, create: bool = True) -> None:
        self._url = url
        self.base = folder_from_url(url)
        self._create = create

    @property
    def root(self) -> str:
        return self._url

    def _path(self, key: str) -> Path:
        return self.base / check_key(key)

    def _ensure_base(self) -> None:
        if not self.base.is_dir():
            if self.base.exists():
                raise TransportError(f"remote folder {self.base} is not a directory", kind="not_found")
            if not self._create:
                raise TransportError(f"remote folder {self.base} does not exist", kind="not_found")
            try:
                self.base.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise _os_error(e, self.base) from e

    def upload(self, items: Sequence[Transfer], events: TransferEvents, jobs: int = 0) -> None:
        if not items:
            return
        self._ensure_base()
        made: set[str] = set()

        def one(t: Transfer) -> None:
            dest = os.path.join(self.base, check_key(t.key))
            parent = os.path.dirname(dest)
            try:
                if parent not in made:
                    os.makedirs(parent, exist_ok=True)
                    made.add(parent)
                if not (t.movable and _move(t.local, dest)):
                    atomic_copy(t.local, dest)
            except FileNotFoundError as e:
                if not os.path.exists(t.local):
                    raise TransportError(f"local file vanished during upload: {t.local}", kind="not_found") from e
                raise _os_error(e, Path(dest)) from e
            except OSError as e:
                raise _os_error(e, Path(dest)) from e
            events.progress(max(t.size, 0))
            events.done(t)

        self._run_all(items, one, jobs)

    def download(self, items: Sequence[Transfer], events: TransferEvents, jobs: int = 0) -> None:
        if not items:
            return

        def one(t: Transfer) -> None:
            src = os.path.join(self.base, check_key(t.key))
            try:
                plain_copy(src, t.local)
            except FileNotFoundError as e:
                if not os.path.exists(src):
                    raise ObjectMissing(f"object {t.key} is missing from {self._url}", failed=[t.key]) from e
                raise _os_error(e, t.local) from e
            except OSError as e:
                raise _os_error(e, Path(src)) from e
            events.progress(max(t.size, 0))
            events.done(t)

        self._run_all(items, one, jobs)

    def open_object(self, key: str) -> int:
        src = os.path.join(self.base, check_key(key))
        try:
            return open_read(src)
        except (FileNotFoundError, NotADirectoryError) as e:
            raise ObjectMissing(f"object {key} is missing from {self._url}", failed=[key]) from e
        except OSError as e:
            raise _os_error(e, Path(src)) from e

    def _run_all(self, items: Sequence[Transfer], one: Callable[[Transfer], None], jobs: int) -> None:
        """Run ``one`` over ``items`` on a few threads pulling from one queue of work.

        A failure stops the others after their current file; Ctrl-C does the same and
        is re-raised. Raises TransportError listing every key that did not complete.
        """
        for t in items:
            check_key(t.key)  # refuse the whole batch up front (UnsupportedError)
        workers = min(len(items), jobs if jobs > 0 else min(8, (os.cpu_count() or 2) * 2))
        todo = iter(items)
        take = threading.Lock()
        stop = threading.Event()
        completed: set[str] = set()
        errors: list[TransportError] = []
        interrupts: list[BaseException] = []  # Ctrl-C or a cancel raised from a progress callback

        def worker() -> None:
            while not stop.is_set():
                with take:
                    t = next(todo, None)
                if t is None:
                    return
                try:
                    one(t)
                    completed.add(t.key)
                except TransportError as e:
                    errors.append(e)
                    if not isinstance(e, ObjectMissing):
                        stop.set()
                except Exception as e:  # noqa: BLE001 - recorded, the batch stops
                    errors.append(TransportError(f"{t.key}: {e}", kind="tool_failed"))
                    stop.set()
                except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread
                    interrupts.append(e)
                    stop.set()

        threads = [threading.Thread(target=worker, name="lobs-local", daemon=True) for _ in range(workers)]
        for th in threads:
            th.start()
        try:
            for th in threads:
                while th.is_alive():
                    th.join(0.2)
        except BaseException:
            stop.set()
            for th in threads:
                th.join()
            raise
        if interrupts:
            raise interrupts[0]
        if errors:
            failed = [t.key for t in items if t.key not in completed]
            first = errors[0]
            if all(isinstance(e, ObjectMissing) for e in errors):
                raise ObjectMissing(f"{len(failed)} object(s) missing from {self._url}: {first.message}", failed=failed)
            raise TransportError(
                f"{len(failed)} of {len(items)} transfers failed: {first.message}",
                first.hint,
                kind=first.kind,
                failed=failed,
            )

    def list(self, prefix: str = "") -> Iterator[RemoteObject]:
        if not self.base.is_dir():
            raise TransportError(f"remote folder {self.base} does not exist", kind="not_found")
        # walk only the directory part of the prefix
        dir_part = prefix.rpartition("/")[0]
        start = self.base / dir_part if dir_part else self.base
        if not start.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, self.base)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
            for fn in sorted(filenames):
                if fn.startswith(TMP_PREFIX):
                    continue
                key = rel_dir + fn
                if not key.startswith(prefix):
                    continue
                try:
                    st = os.lstat(os.path.join(dirpath, fn))
                except FileNotFoundError:
                    continue
                yield RemoteObject(key=key, size=st.st_size)

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            raise _os_error(e, self._path(key)) from e

    def write(self, key: str, data: bytes) -> None:
        self._ensure_base()
        try:
            atomic_write_bytes(self._path(key), data)
        except OSError as e:
            raise _os_error(e, self._path(key)) from e

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            try:
                self._path(key).unlink()
            except FileNotFoundError:
                pass
            except OSError as e:
                raise _os_error(e, self._path(key)) from e


def _move(src: Path, dest: str) -> bool:
    """Rename a disposable staged file into place (atomic); False if it must be copied."""
    try:
        os.replace(src, dest)
        return True
    except OSError:
        return False  # another file system, most likely: copy instead


def _os_error(e: OSError, path: Path) -> TransportError:
    import errno

    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return TransportError(f"permission denied: {path}", kind="permission")
    if e.errno == errno.ENOSPC:
        return TransportError(f"no space left on device writing {path}", "free some space and re-run", kind="tool_failed")
    return TransportError(f"{e.strerror or e}: {path}", kind="tool_failed")
