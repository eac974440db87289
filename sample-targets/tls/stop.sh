#!/usr/bin/env bash
# Stops the servers tls/start.sh started (by their pid files under OUTDIR).
set -uo pipefail
out="${1:?usage: stop.sh OUTDIR}"
for pidfile in "$out/legacy.pid" "$out/pq.pid" "$out/nginx/nginx.pid"; do
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -f "$pidfile"
done
exit 0
