#!/usr/bin/env bash
# Certificate and key files for the demo: weak, expired, SHA-1 signed, long-lived, good, PKCS#12,
# a CA bundle and an ML-DSA-65 certificate. Usage: start.sh <outdir>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$1"
mkdir -p "$out"
"${KEYSWEEP_PYTHON:-python3}" "$here/make_files.py" "$out/tree"
cp "$here/ml-dsa-65.crt" "$out/tree/pq/ml-dsa-65.crt"
printf '%s\n' --path "$out/tree" --password-env KEYSWEEP_DEMO_FILES_PASSWORD > "$out/scan-args"
# a demo password for the PKCS#12 file and the encrypted key: it reaches the scan through its
# environment, never its command line
printf '%s\n' "KEYSWEEP_DEMO_FILES_PASSWORD=demo-files-passphrase" > "$out/scan-env"
