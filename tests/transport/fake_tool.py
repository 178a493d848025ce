"""A stand-in transfer tool for tests: copies files between local paths and a folder
"remote" addressed by URL (a plain path). Used as a user-defined transport.

FAKE_FAULT (environment) injects faults into the batch commands:
  fail-half  transfer half the files, then exit 3 with an error
  hang       print nothing and sleep (with a child process) until killed
  garbage    print binary garbage instead of events and exit 1
  truncate   write only half of each file, report success
  prompt     ask "Enter MFA code for arn:aws:iam::1:mfa/me:" and read stdin
  prompt-block  ask "Enter configuration password:" and wait without reading
FAKE_PIDFILE: where "hang" writes its own pid and its child's
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time


def fault() -> str:
    return os.environ.get("FAKE_FAULT", "")


def copy(src: str, dst: str, *, keep_going: bool = False) -> bool:
    if not os.path.isfile(src):
        print(f"error: {src}: not found", file=sys.stderr)
        if keep_going:
            return False
        sys.exit(4)
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    if fault() == "truncate":
        with open(src, "rb") as f:
            data = f.read()
        with open(dst, "wb") as f:
            f.write(data[: len(data) // 2])
    else:
        shutil.copyfile(src, dst)
    return True


def common_faults() -> None:
    f = fault()
    if f == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        pidfile = os.environ.get("FAKE_PIDFILE")
        if pidfile:
            with open(pidfile, "w") as out:
                out.write(f"{os.getpid()} {child.pid}\n")
        time.sleep(600)
    if f == "prompt-block":  # asks on the terminal and waits, like a tool reading /dev/tty
        sys.stdout.write("Enter configuration password:")
        sys.stdout.flush()
        time.sleep(600)
    if f == "prompt":
        sys.stdout.write("Enter MFA code for arn:aws:iam::1:mfa/me: ")
        sys.stdout.flush()
        answer = sys.stdin.readline()
        if not answer:
            print("\nerror: EOF while reading the MFA code", file=sys.stderr)
            sys.exit(255)
    if f == "garbage":
        sys.stdout.buffer.write(b"\x00\xff\xfe{not json\n\x1b[2K\x89PNG\r\n")
        sys.stdout.flush()
        sys.exit(1)


def batch() -> None:
    common_faults()
    lines = [ln.rstrip("\n") for ln in sys.stdin.read().split("\n") if ln]
    errors = 0
    for i, line in enumerate(lines):
        src, dst = line.split("\t")
        if fault() == "fail-half" and i >= len(lines) // 2:
            print(f"error: connection reset while copying {src}", file=sys.stderr)
            sys.exit(3)
        if copy(src, dst, keep_going=True):
            print(f"done\t{dst}", flush=True)
        else:
            errors += 1
    sys.exit(4 if errors else 0)


def main() -> None:
    cmd, *args = sys.argv[1:]
    if cmd in ("put", "get"):
        common_faults()
        copy(args[0], args[1])
    elif cmd == "batch":
        batch()
    elif cmd == "cat":
        common_faults()
        if not os.path.isfile(args[0]):
            print(f"error: {args[0]} does not exist", file=sys.stderr)
            sys.exit(4)
        with open(args[0], "rb") as f:
            sys.stdout.buffer.write(f.read())
    elif cmd == "rm":
        for path in args:
            if os.path.exists(path):
                os.unlink(path)
    elif cmd == "ls":
        root, prefix = args[0], (args[1] if len(args) > 1 else "")
        if not os.path.isdir(root):
            print(f"error: {root}: no such bucket, not found", file=sys.stderr)
            sys.exit(4)
        for dirpath, _, files in os.walk(root):
            for name in files:
                full = os.path.join(dirpath, name)
                key = os.path.relpath(full, root)
                if key.startswith(prefix):
                    print(f"{os.path.getsize(full)}\t{key}")
    else:
        print(f"usage: unknown command {cmd}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
