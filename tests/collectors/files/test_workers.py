"""Issue 12 item 1: the parallel file sweep (`--workers N`). One process and N give the same report
bytes, ordering included, the same errors and sweep counts; a crashing worker costs an error entry
naming its file, never a lost file or a hang; Ctrl-C still leaves as 130 with nothing written."""

from __future__ import annotations

import gc
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from scanner import plugins
from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files import cache as file_cache
from scanner.collectors.files.collector import WORKERS_OPTION, FileCollector
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.inventory import codec
from scanner.inventory.model import Observation
from tests.support import pki
from tests.support.scans import mixed_tree

AS_OF = "2026-12-01"


def _tree(root: Path, certificates: int) -> Path:
    """What a host holds: chains, shared keys, key files, configs reached by links, noise and errors."""
    mixed_tree(root)
    keys = [pki.rsa_key(2048), pki.ec_key(), pki.ec_key()]
    ca_key = pki.ec_key()
    for i in range(certificates):
        key = keys[i % len(keys)]
        cert = pki.certificate(key, f"host{i}.test", issuer_key=ca_key, issuer_name="Tree CA", san=[f"host{i}.test"])
        pki.write(root / f"d{i % 7}" / f"host{i}.pem", pki.pem(cert), 0o644)
    for i, key in enumerate(keys):
        pki.write(root / "keys" / f"k{i}.key", pki.key_pem(key), 0o640 if i else 0o644)
    pki.write(root / "tls" / "site.crt", pki.pem(pki.certificate(keys[0], "site.test")), 0o644)
    site = (
        f"server {{ listen 443 ssl; ssl_certificate {root}/tls/site.crt; ssl_certificate_key {root}/keys/k0.key; }}\n"
    )
    pki.write(root / "sites-available" / "site", site.encode(), 0o644)
    (root / "sites-enabled").mkdir()
    (root / "sites-enabled" / "site").symlink_to("../sites-available/site")
    (root / "d0" / "0a1b2c3d.0").symlink_to("host0.pem")
    (root / "dangling.pem").symlink_to(root / "nowhere.pem")
    pki.write(root / "broken.pem", b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    pki.write(root / "notes.txt", b"nothing cryptographic here\n" * 40)
    pki.write(root / "env" / ".env", b"API_TOKEN=sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2a\n")
    old = time.time() - 3600  # older than the cache's racy window, as on a real host
    for directory, _, names in os.walk(root):
        for name in names:
            os.utime(os.path.join(directory, name), (old, old), follow_symlinks=False)
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tree(tmp_path_factory.mktemp("workers") / "tree", 300)


def _keysweep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True, text=True, timeout=300)


def _report(tree: Path, out: Path, *extra: str) -> tuple[bytes, dict[str, Any]]:
    run = _keysweep("scan", "--path", str(tree), "--json", str(out), "--no-store", "--as-of", AS_OF, *extra)
    assert run.returncode in (0, 1), run.stderr
    raw = out.read_bytes()
    report = json.loads(raw)
    # the scan's own id and times differ from run to run; everything after them is compared as bytes
    return raw[raw.index(b'"assets"') :], report


def test_one_and_several_workers_write_the_same_report_bytes(tree: Path, tmp_path: Path) -> None:
    one, report = _report(tree, tmp_path / "one.json", "--workers", "1")
    three, _ = _report(tree, tmp_path / "three.json", "--workers", "3")
    assert one == three
    files = report["summary"]["files"]
    assert files["examined"] == files["recognised"] + files["skipped"] + files["failed"]
    assert files["failed"] >= 2 and files["recognised"] >= 300  # the tree's errors are in both
    targets = {e["target"] for e in report["errors"]}
    assert {str(tree / "dangling.pem"), str(tree / "broken.pem")} <= targets


def test_workers_with_the_cache_give_the_same_report(tree: Path, tmp_path: Path) -> None:
    plain, _ = _report(tree, tmp_path / "plain.json", "--workers", "1")
    cache = tmp_path / "cache"
    filled, _ = _report(tree, tmp_path / "filled.json", "--workers", "2", "--cache", str(cache))
    again, _ = _report(tree, tmp_path / "again.json", "--workers", "2", "--cache", str(cache))
    assert plain == filled == again
    with sqlite3.connect(cache / file_cache.FILE_NAME) as db:
        assert db.execute("SELECT count(*) FROM files").fetchone()[0] >= 300  # the workers' parses were kept


def _observations(tree: Path, workers: int, handlers: list[Any] | None = None) -> list[Observation]:
    context = CollectContext(options={WORKERS_OPTION: workers})
    return list(FileCollector(handlers).collect([Target("path", str(tree))], context))


def _encoded(observations: list[Observation]) -> list[str]:
    return [json.dumps(codec.encode(o), sort_keys=True) for o in observations]


def test_the_collector_yields_the_same_observations_in_the_same_order(tree: Path) -> None:
    assert _encoded(_observations(tree, 1)) == _encoded(_observations(tree, 4))


class _Probe:
    """A handler of the files whose head starts with its ``marker``, asked before the others."""

    name: ClassVar[str]
    marker: ClassVar[bytes]
    priority: ClassVar[int] = 0

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(self.marker)


class _Crashing(_Probe):
    """A parser that kills its own process on one file, as a crash in a native library would."""

    name, marker = "crashing", b"CRASH"

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("not reached")


def test_a_crashing_worker_is_an_error_naming_its_file(tree: Path, tmp_path: Path) -> None:
    work = tmp_path / "copy"
    for name in ("d1", "d2", "keys"):  # a few hundred files from the tree, and one that crashes its parser
        (work / name).mkdir(parents=True)
        for entry in (tree / name).iterdir():
            (work / name / entry.name).write_bytes(entry.read_bytes())
    (work / "crashes.bin").write_bytes(b"CRASH here")
    handlers = [_Crashing(), *(cls() for cls in plugins.load_all(plugins.FILE_HANDLERS).values())]

    started = time.monotonic()
    parallel = _observations(work, 2, handlers)
    assert time.monotonic() - started < 120
    errors = [o for o in parallel if type(o).__name__ == "CollectionError"]
    assert [(e.target, e.message) for e in errors] == [  # type: ignore[attr-defined]
        (str(work / "crashes.bin"), "the worker process reading it died (a crash in a parser, or killed)")
    ]
    # every other file is there, as one process finds it (which is not asked to parse the crashing one)
    crashing_free = [h for h in handlers if h.name != "crashing"]
    alone = _observations(work, 1, crashing_free)
    assert [e for e in _encoded(parallel) if '"error"' not in e and '"sweep"' not in e] == [
        e for e in _encoded(alone) if '"error"' not in e and '"sweep"' not in e
    ]
    sweep = json.loads(_encoded(parallel)[-1])["sweep"]
    assert sweep["failed"] == 1 and sweep["examined"] == json.loads(_encoded(alone)[-1])["sweep"]["examined"]


class _CollectorState(_Probe):
    """A parser that tells, as a file property, whether the process parsing has the cyclic collector on."""

    name, marker = "collector-state", b"PROBE"

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        return ParsedFile(format=self.name, file_properties={"collecting": gc.isenabled(), "pid": os.getpid()})


def test_the_parent_pauses_the_collector_while_workers_answer_and_they_keep_it(tmp_path: Path) -> None:
    for n in range(300):
        (tmp_path / f"probe{n}.txt").write_bytes(b"PROBE")
    handlers = [_CollectorState(), *(cls() for cls in plugins.load_all(plugins.FILE_HANDLERS).values())]
    context = CollectContext(options={WORKERS_OPTION: 2})
    assert gc.isenabled()
    parent_states, workers = set(), []
    for observation in FileCollector(handlers).collect([Target("path", str(tmp_path))], context):
        properties = getattr(observation, "properties", {})
        if "collecting" in properties:
            parent_states.add(gc.isenabled())
            workers.append((properties["collecting"], properties["pid"]))
    assert parent_states == {False}  # off while the workers' answers come
    assert gc.isenabled()  # and on again after
    assert len(workers) == 300 and {collecting for collecting, _ in workers} == {True}
    assert os.getpid() not in {pid for _, pid in workers}  # parsed in the workers
    gc.disable()
    try:  # a caller that had it off: off in the workers too, and still off after
        states = {
            o.properties["collecting"]  # type: ignore[union-attr]
            for o in FileCollector(handlers).collect([Target("path", str(tmp_path))], context)
            if "collecting" in getattr(o, "properties", {})
        }
        assert states == {False} and not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.slow
def test_ctrl_c_during_a_parallel_sweep_exits_130_with_nothing_written(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "big", 2500)
    out = tmp_path / "out"
    out.mkdir()
    scan = ["scan", "--path", str(tree), "--json", str(out / "r.json"), "--store", str(out / "store.db")]
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner", *scan, "--no-cache", "--workers", "2", "-vv"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # Ctrl-C at a terminal reaches the whole group: workers too
    )
    workers = _started_workers(process)
    watched = _sweeping(process)
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=60)
    stderr = watched.text()
    assert process.returncode == 130, stderr
    assert "done files:" not in stderr, "the interrupt came after the sweep"
    assert "Traceback" not in stderr
    assert not (out / "r.json").exists() and [p.name for p in out.iterdir() if p.name.startswith("r.")] == []
    # no worker left behind: the kernel kills one the pool did not stop, a moment after the scan exits
    assert _gone(workers, within=10), "workers outlived their scan"


def test_scan_toml_sets_the_workers(tmp_path: Path) -> None:
    from scanner.scanconfig import load_scan_config

    (tmp_path / "scan.toml").write_text("[scan]\nworkers = 3\n")
    assert load_scan_config(tmp_path / "scan.toml")["file_workers"] == 3


@pytest.mark.slow
def test_workers_do_not_outlive_a_killed_scan(tmp_path: Path) -> None:
    # a scanning process that dies without closing its pool (SIGKILL, the OOM killer, an interrupt
    # whose pool was left to a generator's finalisation) must not leave workers waiting for ever
    tree = _tree(tmp_path / "big", 2500)
    scan = ["scan", "--path", str(tree), "--no-store", "--no-cache", "--workers", "2", "-vv"]
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner", *scan],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    workers = _started_workers(process)
    watched = _sweeping(process)
    process.kill()
    process.wait(timeout=30)
    assert "done files:" not in watched.text(), "the scan was killed after its sweep"
    assert _gone(workers, within=15), "workers outlived their scan"


def _started_workers(process: subprocess.Popen[Any]) -> list[int]:
    """The pids of the scan's workers, once it has started them."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while not workers and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        workers = [int(p) for p in children.read_text().split()] if children.exists() else []
    assert workers, "the sweep never started its workers"
    return workers


class _Stderr:
    """A scan's stderr, collected line by line in a thread while the test watches it."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        stream = process.stderr
        assert stream is not None
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True)
        self._reader.start()

    def text(self) -> str:
        """All of it, once the scan has ended."""
        self._reader.join(30)
        return "".join(self.lines)


def _sweeping(process: subprocess.Popen[str], files: int = 50) -> _Stderr:
    """Once the scan (run with -vv) has read ``files`` files of its sweep: its stderr, still being
    collected. Not a fixed wait: on a quick host a 2,500-file sweep is over in a quarter of a second,
    and a signal sent later lands after it."""
    stderr = _Stderr(process)
    deadline = time.monotonic() + 120
    while sum(line.startswith("keysweep: read ") for line in stderr.lines) < files:
        assert time.monotonic() < deadline and process.poll() is None, "".join(stderr.lines[-20:])
        time.sleep(0.005)
    return stderr


def _gone(pids: list[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while True:
        alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)]
        if not alive or time.monotonic() > deadline:
            return not alive
        time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "zombie"  # gone while looking
