#!/usr/bin/env bash
# Creates and starts everything the demo scans. Each part lives in its own folder with a
# start.sh (and, if it runs servers, a stop.sh). A part writes what it makes under
# sample-targets/generated/<part>/ and appends the keysweep options that scan it, one per line,
# to sample-targets/generated/<part>/scan-args (e.g. "--path", "/abs/dir", "--tls", "127.0.0.1:8443").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export KEYSWEEP_SAMPLES="$here/generated"
mkdir -p "$KEYSWEEP_SAMPLES"
python="${KEYSWEEP_PYTHON:-$here/../.venv/bin/python}"
[ -x "$python" ] || python=python3
export KEYSWEEP_PYTHON="$python"
for part in "$here"/*/; do
  name="$(basename "$part")"
  [ "$name" = generated ] && continue
  [ -f "$part/start.sh" ] || continue
  rm -rf "$KEYSWEEP_SAMPLES/$name"
  mkdir -p "$KEYSWEEP_SAMPLES/$name"
  if ! bash "$part/start.sh" "$KEYSWEEP_SAMPLES/$name"; then
    echo "sample-targets: part $name failed to start; the demo goes on without it" >&2
    rm -f "$KEYSWEEP_SAMPLES/$name/scan-args"
  fi
done
