#!/usr/bin/env bash
# Sets up everything keysweep needs on a fresh Debian/Ubuntu machine, then runs what is asked:
#   scripts/bootstrap.sh demo   - the demo scan of sample-targets/ (HTML report, path printed)
#   scripts/bootstrap.sh test   - lint, type checks and the whole test suite
# Safe to run again: every step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-}"
case "$what" in demo|test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

# Debian packages: openssl for test files, softhsm2 for the PKCS#11 token, nginx for a TLS server,
# chromium for the HTML report's browser test.
need=()
command -v openssl >/dev/null || need+=(openssl)
command -v softhsm2-util >/dev/null || need+=(softhsm2)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ "$what" = test ]; then
  command -v chromium >/dev/null || need+=(chromium)
  # the file sweep's tests make real Dropbear and OpenSSH keys, and its fuzzing seeds copy the
  # distribution's own configs (moduli, apache2.conf, java.security)
  command -v dropbearkey >/dev/null || need+=(dropbear-bin)
  command -v ssh-keygen >/dev/null || need+=(openssh-client)
  [ -f /etc/ssh/moduli ] || need+=(openssh-server)
  [ -f /etc/apache2/apache2.conf ] || need+=(apache2)
  [ -f /etc/java-17-openjdk/security/java.security ] || need+=(openjdk-17-jre-headless)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "keysweep setup: installing ${need[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # the nginx package starts a system-wide server on port 80; keysweep runs its own on loopback
  if printf '%s\n' "${need[@]}" | grep -q nginx; then
    "${sudo_cmd[@]}" systemctl disable --now nginx >/dev/null 2>&1 || "${sudo_cmd[@]}" service nginx stop >/dev/null 2>&1 || true
  fi
  # likewise apache2 and sshd: the tests only read their packaged files
  for package_service in apache2:apache2 openssh-server:ssh; do
    if printf '%s\n' "${need[@]}" | grep -qx "${package_service%%:*}"; then
      "${sudo_cmd[@]}" systemctl disable --now "${package_service#*:}" >/dev/null 2>&1 || true
    fi
  done
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

if [ "$what" = demo ]; then
  exec .venv/bin/keysweep demo
fi

# the cryptography test vectors, at exactly the installed cryptography's version (not committed)
crypto_version=$(.venv/bin/python -c 'import cryptography; print(cryptography.__version__)')
.venv/bin/python -m pip install -q --disable-pip-version-check "cryptography-vectors==${crypto_version}"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy --strict scanner
exec .venv/bin/python -m pytest -q -n 2 -p no:cacheprovider "${@:2}"
