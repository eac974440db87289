#!/usr/bin/env bash
# Creates the demo SoftHSM2 token under <outdir> with a mix of good and bad keys, and writes:
#   <outdir>/scan-args  the keysweep options that scan it (--pkcs11-module, and --path for the
#                       certificate of one HSM key kept on disk, so the demo shows the merge)
#   <outdir>/scan-env   NAME=value lines the scan needs: SOFTHSM2_CONF (where the token is) and
#                       KEYSWEEP_PKCS11_PIN, the PIN of this throwaway demo token (never a real PIN;
#                       keysweep reads PINs from the environment or a file, never from argv)
set -euo pipefail
out="$(mkdir -p "$1" && cd "$1" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
python="${KEYSWEEP_PYTHON:-python3}"

command -v softhsm2-util >/dev/null || { echo "hsm: softhsm2-util not found (install softhsm2)" >&2; exit 1; }
module=""
for candidate in "${SOFTHSM2_MODULE:-}" /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib64/softhsm/libsofthsm2.so /usr/lib64/pkcs11/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  if [ -n "$candidate" ] && [ -f "$candidate" ]; then module="$candidate"; break; fi
done
[ -n "$module" ] || { echo "hsm: libsofthsm2.so not found" >&2; exit 1; }

rm -rf "$out/tokens" "$out/certs"
mkdir -p "$out/tokens" "$out/certs"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$out" > "$out/softhsm2.conf"
export SOFTHSM2_CONF="$out/softhsm2.conf"
pin="demo-pin-1234"
softhsm2-util --init-token --free --label keysweep-demo --so-pin demo-so-pin-5678 --pin "$pin" >/dev/null

KEYSWEEP_DEMO_PIN="$pin" "$python" "$here/make_token.py" "$module" keysweep-demo "$out/certs"

printf '%s\n' --pkcs11-module "$module" --path "$out/certs" > "$out/scan-args"
printf 'SOFTHSM2_CONF=%s\nKEYSWEEP_PKCS11_PIN=%s\n' "$SOFTHSM2_CONF" "$pin" > "$out/scan-env"
echo "hsm: demo token 'keysweep-demo' in $out/tokens (module $module)" >&2
