#!/usr/bin/env bash
# Stops every server that start.sh started (each part's stop.sh); generated files stay.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export KEYSWEEP_SAMPLES="$here/generated"
for part in "$here"/*/; do
  name="$(basename "$part")"
  [ -f "$part/stop.sh" ] && bash "$part/stop.sh" "$KEYSWEEP_SAMPLES/$name"
done
exit 0
