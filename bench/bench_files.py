"""Benchmark: keysweep's file sweep against a bare cryptography loop, in one run (issue 12).

Prints, side by side: the bare loop (load, fingerprint, public key, subject of every certificate);
keysweep's first scan (``--no-cache``; one process and the parallel sweep, each run saving into a
new history store, as a first scan does: a store holding the same report already takes a re-save
for next to nothing), and the parallel sweep without the store; the scan filling a new file cache
and saving into a new store (a user's very first scan, with the defaults); the first re-scan
finding the tree unchanged (every file from the cache; it keeps the sweep whole); the re-scan of
the unchanged tree (the kept sweep restored: what a nightly scan of an unchanged tree costs; the
same without the history store, to show what saving the scan costs); and a re-scan after one file
was added (swept file by file from the cache), each with its ratio to the bare loop and the target;
then, on a second, larger tree, the bare loop once and keysweep's first scan without and with a new
history store, with their ratios (the first-scan target holds at both sizes) and peak memory. Under
each first scan, its CPU beside the most CPU the usable cores give in the target's wall time: a scan
needing more cannot meet the target by any spreading of its work over the cores. Under each
first scan with the store, the room the same scan without it leaves for the save in the target's
wall time, beside what the save added. Every
figure is a whole process (interpreter start and imports count for both sides), the best of
``--repeat`` runs, with its CPU seconds (user + system of the process and its workers), which a
loaded machine disturbs less than wall time.

The package is byte-compiled before anything is timed (``python -m compileall -q``), as installing
the wheel does: an editable install under ``PYTHONDONTWRITEBYTECODE=1`` never writes a ``.pyc``
and would compile ~180 modules from source on every run (~0.3 s), which the bare loop, using an
installed and compiled cryptography, does not pay. The interpreter reads the ``.pyc`` files even
with that variable set. The start-up figure is an empty directory's scan, next to
``python -c "import cryptography.x509"`` (the bare loop's own fixed cost).

The corpus is what a host holds: RSA and EC leaves with the usual extensions (SAN, key usages, AKI/SKI,
basic constraints) from a few shared keys, issued by two intermediates under one root, chain files,
and private key files.

    .venv/bin/python bench/bench_files.py [--count 20000] [--peak-count 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# the bare loop reads every certificate of every PEM file (chains hold two); key files are read too,
# without OpenSSL's RSA private-key check as keysweep reads them (it costs ~75 ms per 2048-bit key and
# would make the loop, not keysweep, the thing measured)
PLAIN_LOOP = r"""
import sys, os
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
count = 0
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(root, name), "rb") as handle:
            data = handle.read()
        if b"PRIVATE KEY" in data:
            serialization.load_pem_private_key(data, None, unsafe_skip_rsa_key_validation=True).public_key()
            count += 1
            continue
        for cert in x509.load_pem_x509_certificates(data):
            cert.fingerprint(hashes.SHA256())
            cert.public_key()
            cert.subject.rfc4514_string()
        count += 1
print(count)
"""

TARGETS = {"first": 2.5, "rescan": 1.5}
STARTUP_TARGET_S = 0.3  # the scan of an empty directory, wall seconds on a quiet machine
PEAK_TARGET_MIB = 800


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bench Corp"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca(
    name: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=3000))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(signer, hashes.SHA256())
    )


def generate(directory: Path, count: int) -> None:
    """count files: leaves (some with their chain), and one private key file per 50 (keys are pooled)."""
    keys: list[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = [
        rsa.generate_private_key(65537, 2048) for _ in range(4)
    ]
    keys += [ec.generate_private_key(ec.SECP256R1()) for _ in range(4)] + [ec.generate_private_key(ec.SECP384R1())]
    root_key = ec.generate_private_key(ec.SECP384R1())
    root = _ca("Bench Root", root_key, _name("Bench Root"), root_key)
    intermediates = []
    for i in range(2):
        key = ec.generate_private_key(ec.SECP256R1())
        intermediates.append((key, _ca(f"Bench Issuing {i}", key, root.subject, root_key)))
    now = dt.datetime.now(dt.timezone.utc)
    pem = serialization.Encoding.PEM
    server_and_client = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    for i in range(count):
        sub = directory / f"d{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        leaf_key = keys[i % len(keys)]
        if i % 50 == 49:
            data = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            (sub / f"k{i:06d}.key").write_bytes(data)
            continue
        issuer_key, issuer = intermediates[i % 2]
        host = f"host{i}.bench.example"
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(host))
            .issuer_name(issuer.subject)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=i % 700))
            .not_valid_after(now + dt.timedelta(days=90 + i % 1000))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host), x509.DNSName(f"www.{host}")]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), True)
            .add_extension(server_and_client, False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), False)
            .sign(issuer_key, hashes.SHA256())
        )
        data = cert.public_bytes(pem)
        if i % 10 == 0:  # a chain file, as servers are configured with
            data += issuer.public_bytes(pem)
        (sub / f"c{i:06d}.pem").write_bytes(data)
    # as on a real host: files older than the file cache's racy window (a file written this second
    # is parsed every time, never cached)
    old = time.time() - 3600
    for folder, _, names in os.walk(directory):
        for name in names:
            os.utime(os.path.join(folder, name), (old, old))


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float  # user + system seconds of the process and the children it waited for
    peak_mib: float
    stdout: str


def timed(command: list[str]) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of children is the largest ever seen, not this run's: valid when runs grow (see main)
    return Run(wall, cpu, after.ru_maxrss / 1024, done.stdout)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                found += [int(child) for child in listed.read().split()]
    return found


def _pss_kib(pid: int) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def total_pss(command: list[str]) -> tuple[Run, float]:
    """timed(command), and the peak of the proportional set size summed over the scan and every
    process it forked, sampled every 200 ms: the memory the scan holds in all (a forked job's pages
    shared with the scan count once, which the largest process's RSS cannot tell). Not more often:
    reading smaps_rollup walks the page tables of the process, which slows it down."""
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.2):
            for pid in _children(os.getpid()):
                tree, total = [pid], 0
                while tree:
                    current = tree.pop()
                    total += _pss_kib(current)
                    tree += _children(current)
                peak = max(peak, total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        run = timed(command)
    finally:
        done.set()
        sampler.join()
    return run, peak / 1024


def best(command: list[str], repeat: int) -> Run:
    runs = [timed(command) for _ in range(repeat)]
    return min(runs, key=lambda r: r.wall)


def best_fresh(command: list[str], repeat: int, store: Path) -> Run:
    """best(), each run saving into a new, empty history store (the one left after is the last run's)."""
    runs = []
    for _ in range(repeat):
        for leftover in store.parent.glob(store.name + "*"):  # the database and its -wal/-shm files
            leftover.unlink()
        runs.append(timed(command))
    return min(runs, key=lambda r: r.wall)


def byte_compile() -> None:
    """Compile keysweep's packages to .pyc as a wheel install does (see the module docstring)."""
    import keysweep
    import scanner

    folders = [str(Path(package.__file__).parent) for package in (scanner, keysweep) if package.__file__]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True)


def tree(where: Path, count: int) -> Path:
    if not where.exists() or not any(where.iterdir()):
        where.mkdir(parents=True, exist_ok=True)
        print(f"generating {count} files in {where} ...", flush=True)
        generate(where, count)
    return where


def budget(run: Run, plain: Run, target: float) -> str:
    """Whether the run's CPU fits in the target's wall time at all: with every usable core busy from
    start to end, ``target`` times the bare loop's wall time gives at most this much CPU. A run that
    needs more cannot meet the target by running its parts side by side; only doing less can."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    room = cores * target * plain.wall
    verdict = "fits" if run.cpu <= room else "does not fit, however its work is spread"
    given = f"{cores} cores give {room:.2f} CPU-s in {target}x the bare loop's wall"
    return f"  its CPU {run.cpu:.2f} s; {given}: {verdict}"


def save_room(stored: Run, unstored: Run, plain: Run, target: float) -> str:
    """What of the target's wall time the same scan without the store leaves for the store's save,
    beside what the save added: where the room is smaller than the save, no schema or writer of the
    store meets the target unless the scan itself gets faster."""
    room = target * plain.wall - unstored.wall
    added = stored.wall - unstored.wall
    verdict = "fits" if added <= room else "does not fit"
    return f"  room for the store's save in {target}x: {room:.2f} s; the save added {added:.2f} s wall: {verdict}"


def line(label: str, run: Run, plain: Run | None = None, target: float | None = None) -> str:
    text = f"{label:44s} {run.wall:7.2f} s wall {run.cpu:7.2f} s CPU"
    if plain is not None:
        text += f"   {run.wall / plain.wall:5.2f}x wall {run.cpu / plain.cpu:5.2f}x CPU"
    if target is not None:
        text += f"  (target: at most {target}x wall)"
    return text


def peak_scan(tree: Path, workdir: Path) -> list[str]:
    keysweep = str(Path(sys.executable).with_name("keysweep"))
    return [keysweep, "scan", "--path", str(tree), "--json", str(workdir / "big.json")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument(
        "--peak-count", type=int, default=100000, help="files of the tree whose peak memory is measured"
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="reuse/keep the generated trees here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="keysweep-bench-"))
    base = args.keep or workdir
    try:
        certs = tree(base / f"files-{args.count}", args.count)
        keysweep = str(Path(sys.executable).with_name("keysweep"))
        plain_loop = [sys.executable, "-c", PLAIN_LOOP, str(certs)]
        byte_compile()
        empty = workdir / "empty"
        empty.mkdir()
        startup = best([keysweep, "scan", "--path", str(empty), "--json", str(workdir / "e.json"), "--no-store"], 3)
        imports = best([sys.executable, "-c", "import cryptography.x509"], 3)
        # the default scan, history store included (in a scratch file, not the user's store)
        scan = [keysweep, "scan", "--path", str(certs), "--json", str(workdir / "r.json")]
        scan += ["--store", str(workdir / "history.sqlite3")]
        plain = best(plain_loop, args.repeat)
        # a first scan saves into a store that has not seen the tree: every row is new to it (a
        # store already holding the same report would take it as a re-save and write next to nothing)
        one = best_fresh([*scan, "--no-cache", "--workers", "1"], args.repeat, workdir / "history.sqlite3")
        # default: one worker per usable core
        parallel = best_fresh([*scan, "--no-cache"], args.repeat, workdir / "history.sqlite3")
        parallel_no_store = best([*scan[:-2], "--no-store", "--no-cache"], args.repeat)
        cache = workdir / "cache"
        # a user's very first scan: the default scan fills the file cache and saves into a new store
        filling = best_fresh([*scan, "--cache", str(cache)], 1, workdir / "history.sqlite3")
        # found unchanged: every file from the cache, and the sweep kept whole for the next scan
        keeping = timed([*scan, "--cache", str(cache)])
        rescan = best([*scan, "--cache", str(cache)], args.repeat)  # the kept sweep restored
        # the same re-scan without the history store, to show what saving the scan costs
        rescan_no_store = best([*scan[:-2], "--no-store", "--cache", str(cache)], args.repeat)
        # one file added since: the tree is swept file by file from the cache (the new file parsed)
        added = next(certs.glob("d000/*.pem"))
        extra = added.with_name("zz-added.pem")
        shutil.copy2(added, extra)
        try:
            one_added = timed([*scan, "--cache", str(cache)])
        finally:
            extra.unlink()
        plain = min(plain, best(plain_loop, 1), key=lambda r: r.wall)  # again, after: the load moves
        load = os.getloadavg()[0]
        n = int(plain.stdout.strip())
        print(f"machine: {os.cpu_count()} cores, load average {load:.1f} (shared: wall times move with it)")
        print(f"files: {n} ({args.count} generated), best of {args.repeat} runs")
        print(line("import cryptography.x509", imports))
        print(line("keysweep scan, empty directory", startup) + f"  (target: at most {STARTUP_TARGET_S} s wall)")
        print(line("bare cryptography loop", plain))
        print(line("keysweep first scan, --workers 1", one, plain))
        print(line("keysweep first scan, parallel", parallel, plain, TARGETS["first"]))
        print(budget(parallel, plain, TARGETS["first"]))
        print(line("  the same first scan, --no-store", parallel_no_store, plain))
        print(budget(parallel_no_store, plain, TARGETS["first"]))
        print(save_room(parallel, parallel_no_store, plain, TARGETS["first"]))
        print(line("keysweep scan filling the cache, new store", filling, plain))
        print(line("keysweep re-scan keeping the sweep", keeping, plain))
        print(line("keysweep re-scan, unchanged tree", rescan, plain, TARGETS["rescan"]))
        print(line("  the same re-scan, --no-store", rescan_no_store, plain))
        print(line("keysweep re-scan, one file added", one_added, plain))
        print(
            f"report size: {os.path.getsize(workdir / 'r.json') / 1e6:.1f} MB;"
            f" cache size: {(cache / 'files.sqlite3').stat().st_size / 1e6:.1f} MB"
        )
        if args.peak_count:
            big = tree(base / f"files-{args.peak_count}", args.peak_count)
            # the first-scan target holds at this size too: the bare loop over the same tree, the best
            # of two after an untimed pass (the 20,000-file runs above may have left this tree out of
            # the page cache: a cold pass took 10.3 s against 4.4 warm, and halved every ratio below)
            timed([sys.executable, "-c", PLAIN_LOOP, str(big)])
            big_plain = best([sys.executable, "-c", PLAIN_LOOP, str(big)], 2)
            print(line(f"bare cryptography loop, {args.peak_count} files", big_plain))
            # the largest tree last: ru_maxrss of children is a maximum over all of them so far
            peak, peak_total = total_pss([*peak_scan(big, workdir), "--no-store"])
            print(line(f"keysweep first scan of {args.peak_count}, --no-store", peak, big_plain))
            print(budget(peak, big_plain, TARGETS["first"]))
            print(
                f"peak RSS at {args.peak_count} files: {peak.peak_mib:.0f} MiB (target: under {PEAK_TARGET_MIB} MB);"
                f" all its processes together (PSS): {peak_total:.0f} MiB"
            )
            # the default first scan saves into the history store too, in a forked job beside the JSON
            # report's (each job's RSS counts the pages it shares with the scan, hence the PSS sum);
            # last, as ru_maxrss of children only grows
            stored, stored_total = total_pss(
                [*peak_scan(big, workdir), "--no-cache", "--store", str(workdir / "big.sqlite3")]
            )
            print(line("  a first scan with a new history store", stored, big_plain, TARGETS["first"]))
            print(budget(stored, big_plain, TARGETS["first"]))
            print(save_room(stored, peak, big_plain, TARGETS["first"]))
            print(
                f"peak RSS at {args.peak_count} files with the history store (the largest process):"
                f" {stored.peak_mib:.0f} MiB (target: under {PEAK_TARGET_MIB} MB);"
                f" all its processes together (PSS): {stored_total:.0f} MiB"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
