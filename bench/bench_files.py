"""Benchmark: keysweep's file scan of 20,000 certificates against a plain cryptography loop.

Both run as whole processes in the same run, so interpreter start-up and imports count for both.
Prints both wall times, their ratio, and keysweep's peak memory; then the re-scan of the unchanged
tree through the file cache (``--cache``), against the same plain loop (which still parses every file).

    .venv/bin/python bench/bench_files.py [--count 20000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PLAIN_LOOP = r"""
import sys, os
from cryptography import x509
from cryptography.hazmat.primitives import hashes
count = 0
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(root, name), "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        cert.fingerprint(hashes.SHA256())
        cert.public_key()
        cert.subject.rfc4514_string()
        count += 1
print(count)
"""


def generate(directory: Path, count: int) -> None:
    """count certificates from a small pool of RSA and EC keys (key generation is not what we time)."""
    keys = [rsa.generate_private_key(65537, 2048) for _ in range(4)] + [ec.generate_private_key(ec.SECP256R1())] * 4
    keys += [ec.generate_private_key(ec.SECP384R1()) for _ in range(4)]
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench CA")])
    now = dt.datetime.now(dt.UTC)
    for i in range(count):
        key = keys[i % len(keys)]
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"host{i}.bench.example")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(i + 1)
            .not_valid_before(now - dt.timedelta(days=i % 700))
            .not_valid_after(now + dt.timedelta(days=90 + i % 1000))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"host{i}.bench.example")]), critical=False)
            .sign(issuer_key, hashes.SHA256())
        )
        sub = directory / f"d{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"c{i:05d}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def timed(command: list[str]) -> tuple[float, int, str]:
    """Wall time, peak RSS of the child in KiB, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode not in (0, 1):
        sys.exit(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed, max(peak, before), done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--keep", type=Path, help="reuse/keep the generated certificates here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="keysweep-bench-"))
    certs = args.keep or workdir / "certs"
    try:
        if not certs.exists() or not any(certs.iterdir()):
            certs.mkdir(parents=True, exist_ok=True)
            print(f"generating {args.count} certificates in {certs} ...", flush=True)
            generate(certs, args.count)
            # as on a real host: files older than the file cache's racy window (a file written this
            # second is parsed every time, never cached)
            old = time.time() - 3600
            for directory, _, names in os.walk(certs):
                for name in names:
                    os.utime(os.path.join(directory, name), (old, old))
        keysweep = str(Path(sys.executable).with_name("keysweep"))
        plain_s, _, plain_out = timed([sys.executable, "-c", PLAIN_LOOP, str(certs)])
        # a second run of each, alternating, so that neither is favoured by a warm cache
        # the default scan, history store included (in a scratch file, not the user's store)
        scan = [keysweep, "scan", "--path", str(certs), "--json", str(workdir / "r.json")]
        scan += ["--store", str(workdir / "history.sqlite3")]
        first = [*scan, "--no-cache"]  # every file read and parsed, as on a first scan
        scan_s, scan_kib, _ = timed(first)
        plain_s = min(plain_s, timed([sys.executable, "-c", PLAIN_LOOP, str(certs)])[0])
        scan_s = min(scan_s, timed(first)[0])
        cache = workdir / "cache"
        cold_s, cold_kib, _ = timed([*scan, "--cache", str(cache)])  # a first scan that fills the cache
        rescan_s, rescan_kib, _ = timed([*scan, "--cache", str(cache)])
        plain_s = min(plain_s, timed([sys.executable, "-c", PLAIN_LOOP, str(certs)])[0])
        rescan_s = min(rescan_s, timed([*scan, "--cache", str(cache)])[0])
        n = int(plain_out.strip())
        load = os.getloadavg()[0]
        print(f"machine:                   {os.cpu_count()} cores, load average {load:.1f} (shared machine)")
        print(f"certificates:              {n}")
        print(f"plain cryptography loop:   {plain_s:6.2f} s  ({n / plain_s:,.0f} certificates/s)")
        print(f"keysweep scan --json:      {scan_s:6.2f} s  ({n / scan_s:,.0f} certificates/s), no cache")
        print(f"ratio keysweep / plain:    {scan_s / plain_s:6.2f}x  (target: at most 2.5x)")
        print(f"keysweep peak memory:      {scan_kib / 1024:6.0f} MiB (target: under 800 MiB at 100k files)")
        print(f"first scan filling cache:  {cold_s:6.2f} s  ({cold_s / plain_s:.2f}x plain), {cold_kib / 1024:.0f} MiB")
        print(f"re-scan, unchanged tree:   {rescan_s:6.2f} s  ({rescan_s / plain_s:.2f}x plain; target: at most 1.5x)")
        print(f"re-scan peak memory:       {rescan_kib / 1024:6.0f} MiB (max over this process's children)")
        print(f"report size:               {os.path.getsize(workdir / 'r.json') / 1e6:6.1f} MB")
        print(f"cache size:                {(cache / 'files.sqlite3').stat().st_size / 1e6:6.1f} MB")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
