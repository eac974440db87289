"""The HTML report: one self-contained file (CSS, JS and data inlined; no network).

The first screen (readiness, severities, post-quantum readiness, top risks, trend, errors) is
rendered here by Jinja2 with autoescape. The per-system view, the inventory table and the graph
view are drawn in the browser from the scan's data, embedded once as JSON, a page at a time, so
that a report of 50,000 assets stays responsive.

A report of more than SPLIT_ABOVE assets written to a file comes in two files (issue 12 item 5):
the page holds the summaries, the systems roll-up and the first HEAD_ASSETS assets (worst first),
and ``<name>.data.js`` beside it holds all the data, loaded by a ``<script src>`` (a page opened
from disk may load a script beside it, never fetch a JSON file). See docs/reports.md.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import stat
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup

from scanner import __version__, resources
from scanner.inventory import jsonio
from scanner.inventory.model import Asset, AssetType, Finding, ScanResult, Severity, TrendPoint
from scanner.inventory.pq_priority import quantum_vulnerable_uses
from scanner.inventory.summary import asset_systems, summarize, top_risks
from scanner.plurals import plural
from scanner.reporting import leadership
from scanner.reporting.output import STDOUT, write_output

MAX_ERRORS_SHOWN = 500
_SEVERITIES = [s.value for s in sorted(Severity, key=lambda s: s.rank)]  # info .. critical


@cache
def _template() -> Template:
    env = Environment(
        loader=FileSystemLoader(str(resources.reports_dir())),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")


@cache
def _static(name: str) -> Markup:
    text = (resources.reports_dir() / name).read_text("utf-8")
    # our own files, inlined verbatim; they must not be able to close their element early
    if "</script" in text.lower() or "</style" in text.lower():
        raise ValueError(f"reports/{name} must not contain a closing script or style tag")
    return Markup(text)


# above this much data the page carries it gzip-compressed (base64, about a seventh of the size) and
# the browser inflates it (DecompressionStream): 500,000 assets were a 211 MB page, now about 32 MB
COMPRESS_ABOVE = 2_000_000
# above this many assets a report written to a file keeps its full data in a companion file; its
# page holds the summaries and the first HEAD_ASSETS assets (ten pages of the inventory, worst first)
SPLIT_ABOVE = 20_000
HEAD_ASSETS = 1_000
COMPANION_SUFFIX = ".data.js"


def script_json(value: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' can end the element."""
    text = jsonio.dumps(value).decode("utf-8")
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def _cn(subject: str) -> str:
    for part in subject.split(","):
        if part.strip().upper().startswith("CN="):
            return part.strip()[3:]
    return subject


def asset_label(asset: Asset) -> tuple[str, str]:
    """A short name and a one-line description for tables and the graph."""
    p = asset.properties
    if asset.type == AssetType.CERTIFICATE:
        label = _cn(str(p.get("subject") or "")) or asset.id[:24]
        detail = f"{p.get('signature_algorithm') or '?'}; valid until {p.get('not_after') or '?'}"
        if p.get("is_ca"):
            detail = "CA; " + detail
        return label, detail
    if asset.type == AssetType.KEY:
        size = p.get("curve") or p.get("key_size") or ""
        label = f"{p.get('algorithm') or 'key'} {size}".strip()
        bits = p.get("security_bits")
        parts = [f"{bits}-bit security" if bits is not None else "strength unknown"]
        if p.get("quantum_vulnerable"):
            parts.append("quantum-vulnerable")
        if p.get("has_private_key"):
            parts.append("private key" + (" (encrypted)" if p.get("encrypted_at_rest") else ""))
        return f"{label} ({str(p.get('spki_sha256') or asset.id.rsplit(':', 1)[-1])[:10]})", "; ".join(parts)
    if asset.type == AssetType.TLS_ENDPOINT:
        protocols = ", ".join(str(x) for x in p.get("protocols") or [])
        pq = "PQ key exchange" if p.get("pq_key_exchange") else "no PQ key exchange"
        return asset.id.removeprefix("tls:"), f"{protocols or 'protocols unknown'}; {pq}"
    if asset.type == AssetType.HSM_TOKEN:
        return str(p.get("label") or asset.id), f"{p.get('manufacturer') or ''} {p.get('model') or ''}".strip()
    if asset.type == AssetType.SECRET:
        return f"{p.get('kind') or 'secret'}", str(p.get("location") or "")
    path = str(p.get("path") or asset.id.split(":", 2)[-1])
    if asset.type == AssetType.CONFIG:
        return path, f"{p.get('kind') or 'config'} configuration"
    if asset.type == AssetType.TRUST_STORE:
        anchors = p.get("anchors")
        return path, f"trust store, {plural(len(anchors), 'anchor') if isinstance(anchors, list) else '? anchors'}"
    return path, str(p.get("format") or "")


def _systems_of(result: ScanResult) -> dict[str, list[str]]:
    """Declared systems when a systems file was given (and "unassigned"), else the hosts, tokens
    and file trees the assets were seen in."""
    if result.membership is None:
        return asset_systems(result)
    names = {s.id: s.name for s in result.systems.systems} if result.systems else {}
    return {
        a.id: [names.get(s, s) for s in result.membership.systems.get(a.id, ())] or ["unassigned"]
        for a in result.assets
    }


def _system_info(result: ScanResult) -> dict[str, str]:
    """For each declared system's name, one line for its detail pane: owner, impact, readiness, priority."""
    if result.systems is None:
        return {}
    rows = {row["id"]: row for row in leadership.system_status(summarize(result))}
    out = {}
    for system in (*result.systems.systems, None):
        row = rows.get(system.id if system else "unassigned")
        if row is None:
            continue
        score = "not assessed" if row["score"] is None else f"{row['score']}%"
        parts = [f"owner {row['owner'] or 'not named'}", f"impact {row['impact'] or 'n/a'}"]
        parts += [f"readiness {score} ({row['word']})", f"post-quantum priority {row['priority'] or 'n/a'}"]
        out[system.name if system else "unassigned"] = "; ".join(parts)
    return out


def build_data(result: ScanResult) -> dict[str, Any]:
    """The browser-side data: every asset, finding and relation once, indexed by position."""
    index = {a.id: i for i, a in enumerate(result.assets)}
    systems_of = _systems_of(result)
    system_names = sorted({s for names in systems_of.values() for s in names})
    system_index = {name: i for i, name in enumerate(system_names)}
    descriptions = _system_info(result)
    rules = {r.id: r for r in result.rules}
    rule_ids = sorted({f.rule_id for f in result.findings} | set(rules))
    rule_index = {r: i for i, r in enumerate(rule_ids)}
    first: dict[str, Finding] = {}  # each rule's first finding, found in one walk (not one per rule)
    for f in result.findings:
        first.setdefault(f.rule_id, f)
    rule_rows: list[dict[str, Any]] = []
    for rule_id in rule_ids:
        info = rules.get(rule_id)
        sample = first.get(rule_id)
        rule_rows.append(
            {
                "id": rule_id,
                "t": info.title if info else (sample.title if sample else rule_id),
                "c": info.category if info else (sample.category if sample else ""),
                "r": info.remediation if info else (sample.remediation if sample else ""),
                "x": list(info.references if info else (sample.references if sample else ())),
            }
        )
    worst: dict[str, int] = {}
    open_count: Counter[str] = Counter()
    findings = []
    for f in result.findings:
        rank = f.severity.rank
        if f.waived is None:
            worst[f.asset_id] = max(worst.get(f.asset_id, -1), rank)
            open_count[f.asset_id] += 1
        row: dict[str, Any] = {
            "a": index.get(f.asset_id, -1),
            "r": rule_index[f.rule_id],
            "s": rank,
            "m": f.message,
        }
        if f.remediation and f.remediation != rule_rows[rule_index[f.rule_id]]["r"]:
            row["f"] = f.remediation
        if f.deadline:
            row["d"] = f.deadline
        if f.waived is not None:
            row["w"] = f"{f.waived.reason} ({f.waived.owner}"
            row["w"] += f", until {f.waived.expires})" if f.waived.expires else ")"
        if f.evidence:
            row["e"] = dict(f.evidence)
        findings.append(row)
    relation_types = sorted({r.type.value for r in result.relations})
    relation_type_index = {t: i for i, t in enumerate(relation_types)}
    assets = []
    for a in result.assets:
        label, detail = asset_label(a)
        assets.append(
            {
                "i": a.id,
                "t": a.type.value,
                "l": label,
                "d": detail,
                "s": worst.get(a.id, -1),
                "n": open_count.get(a.id, 0),
                "y": [system_index[s] for s in systems_of[a.id]],
                "p": dict(a.properties),
                "o": [loc.as_dict() for loc in a.locations],
            }
        )
    relations = [
        [index[r.source], index[r.target], relation_type_index[r.type.value]]
        for r in result.relations
        if r.source in index and r.target in index
    ]
    return {
        "severities": _SEVERITIES,
        "systems": system_names,
        "systemInfo": [descriptions.get(name) for name in system_names],
        "rules": rule_rows,
        "assets": assets,
        "findings": findings,
        "relationTypes": relation_types,
        "relations": relations,
    }


def trend_chart(result: ScanResult, summary: dict[str, Any], width: int = 640, height: int = 180) -> dict[str, Any]:
    """Points for the readiness and open-findings lines, oldest scan first, this scan last."""
    current = TrendPoint(
        scan_id=result.metadata.id,
        finished_at=result.metadata.finished_at,
        readiness=summary["readiness"]["score"],
        assets=len(result.assets),
        open_findings=sum(summary["by_severity"].values()),
        by_severity=summary["by_severity"],
    )
    # real scans only: a projection (--as-of another day) is not a point in the estate's history
    points = [*result.history] if summary["projection"] else [*result.history, current]
    pad = 30
    top_findings = max((p.open_findings for p in points), default=0) or 1
    step = (width - 2 * pad) / max(len(points) - 1, 1)
    rows = []
    for i, p in enumerate(points):
        x = pad + i * step
        rows.append(
            {
                "x": round(x, 1),
                "y_score": None
                if p.readiness is None
                else round(height - pad - (height - 2 * pad) * p.readiness / 100, 1),
                "y_findings": round(height - pad - (height - 2 * pad) * p.open_findings / top_findings, 1),
                "date": p.finished_at.strftime("%Y-%m-%d %H:%M"),
                "score": p.readiness,
                "findings": p.open_findings,
                "assets": p.assets,
                "scan_id": p.scan_id,
                "current": p is current,
            }
        )
    return {
        "width": width,
        "height": height,
        "pad": pad,
        "points": rows,
        "score_line": " ".join(f"{r['x']},{r['y_score']}" for r in rows if r["y_score"] is not None),
        "findings_line": " ".join(f"{r['x']},{r['y_findings']}" for r in rows),
        "max_findings": top_findings,
    }


def render_context(result: ScanResult, companion: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template's values; the page's data is ``data`` (everything) or, with a companion, the head."""
    summary = summarize(result)
    uses = quantum_vulnerable_uses(result)  # once, for the two charts that need them
    meta = result.metadata
    by_severity = summary["by_severity"]
    most = max(by_severity.values(), default=0) or 1
    return {
        "version": __version__,
        "meta": meta,
        "summary": summary,
        "severity_bars": [
            {"name": s, "count": by_severity[s], "width": round(100 * by_severity[s] / most)}
            for s in reversed(_SEVERITIES)
        ],
        "categories": [(c, n) for c, n in sorted(summary["by_category"].items(), key=lambda x: -x[1]) if n],
        "pq": summary["post_quantum"],
        "projection": summary["projection"],
        "verdict": leadership.verdict(result, summary),
        "systems": leadership.system_status(summary),
        "timeline": leadership.timeline(summary),
        "algorithms": leadership.algorithm_mix(result),
        "quantum_by_system": leadership.quantum_share_by_system(result, uses),
        "expiry": leadership.expiry_histogram(result),
        "burndown": leadership.burndown(result, uses),
        "compliance": summary["compliance"],
        "risks": top_risks(result),
        "trend": trend_chart(result, summary),
        "scopes": sorted(result.scopes, key=lambda s: (s.stale, s.readiness, s.scope)),
        # a fleet report shows what only the fleet view sees first: the fleet rules' findings
        "fleet_findings": [f for f in result.findings if "fleet" in f.policies and f.waived is None][:MAX_ERRORS_SHOWN],
        "errors": result.errors[:MAX_ERRORS_SHOWN],
        "errors_hidden": max(0, len(result.errors) - MAX_ERRORS_SHOWN),
        "css": _static("report.css"),
        "js": _static("report.js"),
        "companion": companion,
        **embedded_data(companion["head"] if companion else build_data(result)),
    }


def embedded_data(data: dict[str, Any]) -> dict[str, Markup]:
    """The page's data as JSON (``data``), or gzip-compressed and base64-encoded (``data_gz``) when large."""
    text = script_json(data)
    if len(text) <= COMPRESS_ABOVE:
        return {"data": text, "data_gz": Markup("")}
    # level 6: within 5% of level 9's size in a third of the time; mtime 0 keeps the bytes reproducible
    packed = gzip.compress(jsonio.dumps(data), compresslevel=6, mtime=0)
    return {"data": Markup(""), "data_gz": Markup(base64.b64encode(packed).decode("ascii"))}


def head_data(data: dict[str, Any], count: int) -> dict[str, Any]:
    """What the page holds when its companion holds the rest: the first ``count`` assets in the
    inventory's first order (worst first, then scan order), their findings, the relations between
    them, and the systems roll-up of every asset."""
    assets = data["assets"]
    order = sorted(range(len(assets)), key=lambda i: (-assets[i]["s"], i))[:count]
    position = {g: h for h, g in enumerate(order)}
    findings = []
    for f in data["findings"]:
        at = position.get(f["a"])
        if at is not None:
            findings.append({**f, "a": at})
    relations = [[position[a], position[b], t] for a, b, t in data["relations"] if a in position and b in position]
    # the roll-up the page shows for every system: [worst, open findings, assets], from all the data
    rollup = [[-1, 0, 0] for _ in data["systems"]]
    for a in assets:
        for s in a["y"]:
            row = rollup[s]
            row[0] = max(row[0], a["s"])
            row[1] += a["n"]
            row[2] += 1
    return {
        **data,
        "assets": [assets[i] for i in order],
        "findings": findings,
        "relations": relations,
        "head": {"at": order, "assets": len(assets), "findings": len(data["findings"]), "systems": rollup},
    }


def companion_path(path: str) -> Path | None:
    """Where the companion of a page written to ``path`` goes, or None when there is no "beside":
    standard output, a descriptor, a device or FIFO, or a symlink (opened by its name or its
    target's, the page would look for the companion in a different directory)."""
    if path == STDOUT:
        return None
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError:
        return None  # write_output names the problem
    if st is not None and not stat.S_ISREG(st.st_mode):
        return None
    page = Path(path)
    return page.with_name(page.stem + COMPANION_SUFFIX)


def companion_script(token: str, packed: str) -> bytes:
    """The companion: one call handing the page its data. Only the token (hex) and the base64 data
    go in, so nothing from the scan can end the string or the script."""
    return f'/* keysweep report data, loaded by its page */\nkeysweepData("{token}", "{packed}");\n'.encode("ascii")


class HtmlReporter:
    format: ClassVar[str] = "html"

    def __init__(self, split_above: int = SPLIT_ABOVE) -> None:
        self.split_above = split_above

    def render(self, result: ScanResult) -> bytes:
        """The report as one self-contained page, all of its data embedded."""
        return self._page(render_context(result))

    def write(self, result: ScanResult, path: str) -> None:
        """The page at ``path``; above ``split_above`` assets written to a file, its full data in the
        companion beside it, written first so that a new page never meets an old companion."""
        companion = companion_path(path)
        if companion is None or len(result.assets) <= self.split_above:
            write_output(path, self.render(result))
            return
        page, data = self.render_split(result, companion.name)
        write_output(str(companion), data)
        write_output(path, page)

    def render_split(self, result: ScanResult, companion_name: str) -> tuple[bytes, bytes]:
        """The page and its companion (named ``companion_name``, beside the page)."""
        data = build_data(result)
        payload = jsonio.dumps(data)
        # the token ties the page to this companion and no other: a digest of the data it carries
        token = hashlib.sha256(payload).hexdigest()[:32]
        # zlib lets go of the GIL: the data compresses in a thread while the page is rendered
        # (each about a second at 60,000 assets); mtime 0 for reproducible bytes
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="keysweep-html") as aside:
            packed = aside.submit(gzip.compress, payload, compresslevel=6, mtime=0)
            head = head_data(data, HEAD_ASSETS)
            src = quote(os.fsencode(companion_name))  # a relative URL: spaces, '#', '?' and non-UTF-8 bytes encoded
            head["head"]["companion"] = {"src": src, "name": companion_name, "token": token}
            shown = len(head["assets"])
            companion = {"head": head, "name": companion_name, "assets": len(result.assets), "shown": shown}
            page = self._page(render_context(result, companion))
            script = companion_script(token, base64.b64encode(packed.result()).decode("ascii"))
        return page, script

    @staticmethod
    def _page(context: dict[str, Any]) -> bytes:
        # a non-UTF-8 file name (PEP 383 surrogates) shows as \udcXX, as in the JSON report
        return _template().render(**context).encode("utf-8", "backslashreplace")
