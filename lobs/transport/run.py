"""Run one transport command: argv list, clean env, timeouts, process group, prompts.

Every child runs in its own session (``start_new_session``), so it has no
controlling terminal and the whole group can be killed: on timeout, on
Ctrl-C (KeyboardInterrupt) or any error in lobs, and after the leader exits
(leftover grandchildren). Nothing is left running.

A child that asks a question is detected as a *prompt*: an unterminated output
line ending in ``:`` or ``?`` followed by silence (or by exit). Without a
terminal the child's stdin is /dev/null and the prompt is an error at once
(:class:`~lobs.errors.TransportError` ``kind="prompt"``, raised by the caller
from :attr:`Result.prompt`). On a terminal (``interactive=True``) the question
is relayed to the user and the answer written to the child's stdin.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from lobs.errors import TransportError
from lobs.transport.settings import Settings

LineHandler = Callable[[str], None]


@dataclass
class Result:
    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes
    timed_out: str = ""  # "", "idle" or "total"
    prompt: str = ""  # the question the child asked, when it did
    seconds: float = 0.0

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


class _Stream:
    def __init__(self, handler: LineHandler | None, keep: bool) -> None:
        self.handler = handler
        self.keep = keep
        self.data = bytearray()
        self.partial = b""

    def feed(self, chunk: bytes) -> None:
        if self.keep:
            self.data += chunk
        buf = self.partial + chunk
        *lines, self.partial = buf.split(b"\n")
        if self.handler is not None:
            for line in lines:
                self.handler(line.rstrip(b"\r").decode("utf-8", "surrogateescape"))

    def finish(self) -> None:
        if self.partial and self.handler is not None:
            self.handler(self.partial.rstrip(b"\r").decode("utf-8", "surrogateescape"))

    def question(self) -> str:
        text = self.partial.decode("utf-8", "replace").rstrip()
        return text if text.endswith((":", "?")) else ""


def kill_group(proc: subprocess.Popen[bytes], grace: float = 2.0) -> None:
    """SIGTERM the child's process group, then SIGKILL what is left. Never raises."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            if sig == signal.SIGKILL:
                break
        except subprocess.TimeoutExpired:
            continue
    # the leader may be gone while its children linger in the group
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    settings: Settings,
    stdin: bytes | Iterable[bytes] | None = None,
    on_stdout: LineHandler | None = None,
    on_stderr: LineHandler | None = None,
    keep_stdout: bool = True,
    interactive: bool | None = None,
    cwd: str | None = None,
    cancel: threading.Event | None = None,
) -> Result:
    """Run ``argv`` to completion and return what happened; the caller classifies failures.

    ``stdin`` is bytes, or an iterable of chunks written (and flushed) as it yields
    them, so the child can start on the first lines while later ones are produced;
    an exception from the iterable kills the child's group and is re-raised here.
    Raises TransportError(kind="tool_missing") when the executable cannot be started.
    Re-raises KeyboardInterrupt after killing the child's process group; kills it
    too and raises TransportError when ``cancel`` is set (from another thread).
    """
    if cancel is not None and cancel.is_set():
        raise TransportError(f"{os.path.basename(argv[0])} not started: the transfer was stopped", kind="tool_failed")
    if interactive is None:
        interactive = stdin is None and sys.stdin.isatty() and sys.stderr.isatty()
    argv = list(argv)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if (stdin is not None or interactive) else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    except (FileNotFoundError, PermissionError) as e:
        raise TransportError(f"cannot run {argv[0]}: {e.strerror}", kind="tool_missing") from e
    out, err = _Stream(on_stdout, keep_stdout), _Stream(on_stderr, True)
    result = Result(argv=argv, returncode=-1, stdout=b"", stderr=b"")
    writer: threading.Thread | None = None
    feed_errors: list[BaseException] = []
    if stdin is not None and proc.stdin is not None:
        writer = threading.Thread(target=_feed_stdin, args=(proc, stdin, feed_errors), daemon=True)
        writer.start()
    try:
        _pump(proc, out, err, settings, result, interactive, started, cancel)
    except BaseException:
        _close_pipes(proc)  # first: a child flushing its output as it stops must not block on a full pipe
        kill_group(proc)
        raise
    finally:
        _close_pipes(proc)
    kill_group(proc, grace=0) if result.timed_out or result.prompt or feed_errors else _reap(proc)
    if feed_errors:
        raise feed_errors[0]
    result.returncode = proc.returncode if proc.returncode is not None else -1
    out.finish()
    err.finish()
    result.stdout, result.stderr = bytes(out.data), bytes(err.data)
    result.seconds = time.monotonic() - started
    return result


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdout, proc.stderr, proc.stdin):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _reap(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill_group(proc)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _feed_stdin(proc: subprocess.Popen[bytes], data: bytes | Iterable[bytes], errors: list[BaseException]) -> None:
    pipe = proc.stdin
    assert pipe is not None
    try:
        if isinstance(data, bytes):
            pipe.write(data)
        else:
            for chunk in data:
                pipe.write(chunk)
                pipe.flush()
    except (OSError, ValueError):
        pass  # the child stopped reading (it exited or failed): its status tells what happened
    except BaseException as e:  # noqa: BLE001 - the producer failed: stop the child, re-raised by run()
        errors.append(e)
        kill_group(proc, grace=0)
    with contextlib.suppress(OSError, ValueError):
        pipe.close()


def _pump(
    proc: subprocess.Popen[bytes],
    out: _Stream,
    err: _Stream,
    settings: Settings,
    result: Result,
    interactive: bool,
    started: float,
    cancel: threading.Event | None = None,
) -> None:
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    last_output = time.monotonic()
    exited_at: float | None = None
    try:
        while sel.get_map():
            events = sel.select(timeout=0.1)
            now = time.monotonic()
            if cancel is not None and cancel.is_set():
                raise TransportError(f"{os.path.basename(result.argv[0])} stopped: another part of the transfer failed", kind="tool_failed")
            for key, _ in events:
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                key.data.feed(chunk)
                last_output = now
            if events:
                continue
            if proc.poll() is not None:
                # leader exited; give grandchildren holding our pipes a moment, then stop
                exited_at = exited_at or now
                if now - exited_at > 1.0:
                    return
                continue
            question = out.question() or err.question()
            if question and now - last_output >= settings.prompt_wait:
                if interactive and proc.stdin is not None:
                    _relay(question, proc)
                    out.partial = err.partial = b""
                    last_output = time.monotonic()
                    continue
                result.prompt = question
                return
            if settings.idle_timeout and now - last_output > settings.idle_timeout:
                result.timed_out = "idle"
                return
            if settings.timeout and now - started > settings.timeout:
                result.timed_out = "total"
                return
    finally:
        sel.close()
    try:
        rc = proc.wait(timeout=settings.idle_timeout or None)
    except subprocess.TimeoutExpired:
        result.timed_out = "idle"
        return
    if rc != 0 and not result.prompt:
        result.prompt = out.question() or err.question()


_TERMINAL = threading.Lock()  # tools run at once (a listing beside a read) ask one at a time


def _relay(question: str, proc: subprocess.Popen[bytes]) -> None:
    """Ask the user ``question`` on the terminal and send the answer to the child."""
    with _TERMINAL:
        _ask(question, proc)


def _ask(question: str, proc: subprocess.Popen[bytes]) -> None:
    import getpass

    secret = any(w in question.lower() for w in ("password", "passphrase", "code", "token", "secret"))
    try:
        answer = getpass.getpass(question + " ") if secret else input(question + " ")
    except EOFError:
        answer = ""
    assert proc.stdin is not None
    with contextlib.suppress(OSError):
        proc.stdin.write(answer.encode() + b"\n")
        proc.stdin.flush()
