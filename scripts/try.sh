#!/usr/bin/env bash
# Install lobs into ./.venv and run a real push/pull round trip of fixtures/sample
# through a local folder remote: no credentials, no server.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
lobs=.venv/bin/lobs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME="$work/state"

set -x
$lobs push fixtures/sample "$work/remote"
$lobs pull "$work/remote" "$work/copy"
diff -r fixtures/sample "$work/copy"
$lobs push fixtures/sample "$work/remote"
{ set +x; } 2>/dev/null
echo "round trip OK: $work/copy matches fixtures/sample byte for byte"
