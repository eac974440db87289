#!/usr/bin/env bash
# Sets up everything keysweep needs on a fresh Debian/Ubuntu machine, then runs what is asked:
#   scripts/bootstrap.sh demo   - the demo scan of sample-targets/ (HTML report, path printed)
#   scripts/bootstrap.sh test   - lint, type checks and the whole test suite, and the unit tests
#                                 again on Python 3.10 (scripts/test_py310.sh, .venv310)
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
  # config tests: Debian's own trees, with apache2 -D DUMP_INCLUDES, sshd -T and nginx -T as oracles;
  # the file sweep's fuzzing seeds copy the distribution's own configs (moduli, apache2.conf, java.security)
  [ -x /usr/sbin/apache2 ] || need+=(apache2)
  [ -x /usr/sbin/sshd ] || need+=(openssh-server)
  command -v ssh-keygen >/dev/null || need+=(openssh-client)
  command -v dropbearkey >/dev/null || need+=(dropbear-bin)
  [ -f /etc/java-17-openjdk/security/java.security ] || need+=(openjdk-17-jre-headless)
  # ssh-audit and testssl.sh: reference peers of the live tests and producers of the importer corpus;
  # testssl.sh's conffiles also hold private keys shipped by a package (package-data regression tests)
  command -v ssh-audit >/dev/null || need+=(ssh-audit)
  command -v testssl >/dev/null || need+=(testssl.sh)
  # ca-certificates' documentation: its example holds a placeholder "Dummy Root CA" and a README quoting a
  # certificate with "<...>" in its body (package-data tests of unreadable PEM blocks)
  [ -f /usr/share/doc/ca-certificates/examples/ca-certificates-local/README ] || need+=(ca-certificates)
  # gpg: the oracle of the OpenPGP key tests (gpg --show-keys)
  command -v gpg >/dev/null || need+=(gpg)
  # axe-core and the SARIF multitool come from npm
  command -v npm >/dev/null || need+=(npm)
  # real PostgreSQL and Redis servers for the store and distributed tests (temp dirs; no system service)
  [ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  command -v redis-server >/dev/null || need+=(redis-server)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "keysweep setup: installing ${need[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  # keysweep's tests run their own servers (nginx, sshd, ...) on loopback: keep the packages' system
  # services from starting while they install (policy-rc.d, as Debian's container images do)
  added_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ -z "$added_policy" ] || "${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d
  # the nginx package starts a system-wide server on port 80; keysweep runs its own on loopback
  if printf '%s\n' "${need[@]}" | grep -q nginx; then
    "${sudo_cmd[@]}" systemctl disable --now nginx >/dev/null 2>&1 || "${sudo_cmd[@]}" service nginx stop >/dev/null 2>&1 || true
  fi
  # package:service pairs whose system service the tests never need
  for pair in apache2:apache2 openssh-server:ssh; do
    if printf '%s\n' "${need[@]}" | grep -qx "${pair%%:*}"; then
      "${sudo_cmd[@]}" systemctl disable --now "${pair##*:}" >/dev/null 2>&1 || true
    fi
  done
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
# the demo needs keysweep and its OSCAL exporter; only the test run installs the test tools
if [ "$what" = test ]; then install_target='.[test]'; else install_target='.[oscal]'; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$install_target"

if [ "$what" = demo ]; then
  exec .venv/bin/keysweep demo
fi

# axe-core, the accessibility engine the HTML report's browser test runs (npm, not committed)
if [ ! -f .tools/axe-core/node_modules/axe-core/axe.min.js ]; then
  npm install --no-save --no-audit --no-fund --prefix .tools/axe-core axe-core@4.14.1 >/dev/null
fi

# the cryptography test vectors, at exactly the installed cryptography's version (not committed)
crypto_version=$(.venv/bin/python -c 'import cryptography; print(cryptography.__version__)')
.venv/bin/python -m pip install -q --disable-pip-version-check "cryptography-vectors==${crypto_version}"

# Microsoft's SARIF multitool validates the SARIF report in the tests (GitHub's rule set included);
# npm installs it beside the checkout, not into the system
multitool=.tools/sarif-multitool/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
if [ ! -x "$multitool" ]; then
  npm install --no-save --silent --prefix .tools/sarif-multitool @microsoft/sarif-multitool@5.7.0 >/dev/null
  chmod +x "$multitool"  # the package ships the binary without its execute bit
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy --strict scanner
.venv/bin/lint-imports
# Python 3.10, the oldest supported version: its own venv and the unit tests of every layer, on a
# whole run (a run of chosen test paths leaves it out and says so; scripts/test_py310.sh runs it alone)
if [ $# -le 1 ]; then
  scripts/test_py310.sh
else
  echo "keysweep: chosen test paths: the Python 3.10 run is left out (scripts/test_py310.sh runs it)" >&2
fi
exec .venv/bin/python -m pytest -q -n 2 -p no:cacheprovider "${@:2}"
