#!/usr/bin/env bash
# Configuration samples: one good and one weak file per kind (nginx, Apache, openssl.cnf, sshd_config,
# java.security, .env). Copies them to <outdir>, makes the keys, certificates and DH parameters
# they name under <outdir>/keys, and writes the scan options to <outdir>/scan-args.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: start.sh OUTDIR}"
python="${KEYSWEEP_PYTHON:-python3}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
rm -rf "$out/good" "$out/weak" "$out/keys"
cp -R "$here/good" "$here/weak" "$out/"
"$python" "$here/make_keys.py" "$out/keys"
# RFC 7919 ffdhe2048 (good) and the 1536-bit RFC 3526 MODP group (weak): named groups, no slow generation
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$out/keys/dh-ffdhe2048.pem" 2>/dev/null
openssl genpkey -genparam -algorithm DH -pkeyopt group:modp_1536 -out "$out/keys/dh-modp1536.pem" 2>/dev/null
printf -- '--path\n%s\n--path\n%s\n' "$out/good" "$out/weak" > "$out/scan-args"
