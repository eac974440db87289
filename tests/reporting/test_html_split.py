"""Issue 12 item 5: past SPLIT_ABOVE assets the page holds the summaries and the first assets, and its
companion <name>.data.js beside it holds everything; small reports, stdout, devices and symlinks
stay one self-contained file."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from scanner.inventory.model import Asset, AssetType, ScanResult, freeze
from scanner.reporting import html
from scanner.reporting.base import write_report
from scanner.reporting.html import HEAD_ASSETS, SPLIT_ABOVE, HtmlReporter, build_data
from scanner.reporting.output import write_output
from tests.reporting.test_leadership_browser import AXE
from tests.support.browser import DevTools, chromium
from tests.support.scans import mixed_tree, scan_paths

HOSTILE = "</script><img src=x onerror=alert(1)>"
COMPANION = re.compile(
    rb'/\* keysweep report data, loaded by its page \*/\nkeysweepData\("([0-9a-f]{32})", "([A-Za-z0-9+/=]+)"\);\n'
)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    """A real scan (findings of every kind) and enough file assets to cross SPLIT_ABOVE; some of
    them, past the page's head, with markup in their names and properties."""
    root = tmp_path_factory.mktemp("split")
    result = scan_paths(mixed_tree(root / "tree")["ca"].parent)
    extra = []
    for i in range(SPLIT_ABOVE + 100):
        path = f"/srv/data/{i:05d}{HOSTILE if i % 1000 == 7 else ''}.pem"
        props = {"path": path, "format": "pem", "note": f"caf\u00e9 {HOSTILE}" if i % 1000 == 7 else "plain"}
        extra.append(Asset(f"file:{path}", AssetType.FILE, freeze(props)))
    return dataclasses.replace(result, assets=(*result.assets, *extra))


def _unpack(companion: bytes) -> tuple[str, dict[str, object]]:
    found = COMPANION.fullmatch(companion)
    assert found is not None, companion[:200]
    return found[1].decode(), json.loads(gzip.decompress(base64.b64decode(found[2])))


def _token(page: Path) -> str:
    found = re.search(r'"token":"([0-9a-f]{32})"', page.read_text())
    assert found is not None
    return found[1]


def _open(tools: DevTools, page: Path) -> None:
    tools.call("Page.navigate", url=page.as_uri())
    tools.wait_event("Page.loadEventFired")
    tools.wait_for("document.body.getAttribute('data-ready') === '1'", timeout=60)


def _count(tools: DevTools) -> str:
    text: str = tools.evaluate("document.getElementById('inv-count').textContent")
    return text


def test_a_large_report_is_a_page_and_a_companion_with_all_the_data(big: ScanResult, tmp_path: Path) -> None:
    page = tmp_path / "estate report.html"
    HtmlReporter().write(big, str(page))
    companion = tmp_path / "estate report.data.js"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["estate report.data.js", "estate report.html"]
    token, data = _unpack(companion.read_bytes())
    # every asset, finding and relation in the companion, exactly as a one-file page embeds them
    assert data == json.loads(json.dumps(build_data(big), default=str))
    text = page.read_text("utf-8")
    assert token in text and "estate%20report.data.js" in text  # the script's relative URL, encoded
    assert "script-src 'unsafe-inline' 'self';" in text  # the companion may run; nothing else may
    assert HOSTILE not in text and "<img" not in text  # the head's hostile names stay escaped JSON
    found = re.search(r'<script type="application/json" id="ks-data">(.*?)</script>', text, re.S)
    assert found is not None
    head = json.loads(found[1])
    assert len(head["assets"]) == HEAD_ASSETS and head["head"]["assets"] == len(big.assets)
    # written again: the same bytes (reproducible), the companion first so a new page never meets an old one
    before = page.read_bytes(), companion.read_bytes()
    HtmlReporter().write(big, str(page))
    assert (page.read_bytes(), companion.read_bytes()) == before


def test_small_reports_stdout_and_symlinks_stay_one_file(
    big: ScanResult, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    small = dataclasses.replace(big, assets=big.assets[:SPLIT_ABOVE])
    page = tmp_path / "small.html"
    write_report(HtmlReporter(), small, str(page))
    assert [p.name for p in tmp_path.iterdir()] == ["small.html"]
    assert page.read_bytes() == HtmlReporter().render(small)
    # standard output and a symlink: no "beside" for a companion, so everything is embedded
    write_report(HtmlReporter(), big, "-")
    assert capfdbinary.readouterr().out == HtmlReporter().render(big)
    target = tmp_path / "real" / "report.html"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(target)
    write_report(HtmlReporter(), big, str(link))
    assert link.is_symlink() and target.read_bytes() == HtmlReporter().render(big)
    assert not list(tmp_path.glob("*.data.js")) and not list(target.parent.glob("*.data.js"))


def test_a_companion_that_cannot_be_written_is_an_output_error(big: ScanResult, tmp_path: Path) -> None:
    (tmp_path / "r.data.js").mkdir()  # a directory where the companion goes
    with pytest.raises(OSError, match=r"r\.data\.js: is a directory|r\.data\.js"):
        HtmlReporter().write(big, str(tmp_path / "r.html"))
    assert not (tmp_path / "r.html").exists()  # no page that would look for a missing companion


def test_the_page_renders_its_head_then_loads_the_companion(big: ScanResult, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    HtmlReporter().write(big, str(page))
    total = len(big.assets)
    last = f"/srv/data/{SPLIT_ABOVE + 99:05d}.pem"  # scan order, no findings: far past the head
    with chromium(tmp_path) as tools:
        _open(tools, page)
        # the summaries are in the page itself, server-rendered
        assert tools.evaluate("document.querySelectorAll('#overview .card').length") > 3
        tools.wait_for("document.body.getAttribute('data-companion') === 'loaded'", timeout=60)
        assert tools.requested_urls() == [page.as_uri(), page.with_name("report.data.js").as_uri()]
        assert _count(tools) == f"{total} of {total} assets"
        note = tools.evaluate("document.getElementById('ks-companion').textContent")
        assert f"full inventory ({total} assets) is loaded from report.data.js" in note
        # the last page of the inventory holds an asset that only the companion has
        tools.evaluate("document.querySelector('#inv-table th[data-key=s] button').click()")  # worst last
        tools.wait_for("document.querySelector('#inv-body tr') !== null")
        pages = (total + 99) // 100
        for _ in range(3):  # paging works across the companion's data
            tools.evaluate("document.querySelector('#inv-pager button:last-child').click()")
        assert tools.evaluate("document.querySelector('#inv-pager span').textContent") == f"page 4 of {pages}"
        tools.evaluate("document.getElementById('inv-filter').focus()")
        tools.call("Input.insertText", text=last)
        tools.wait_for("document.querySelectorAll('#inv-body tr').length === 1")
        tools.evaluate("document.querySelector('#inv-body tr').click()")
        tools.wait_for("!document.getElementById('asset-detail').hidden")
        assert last in tools.evaluate("document.getElementById('asset-detail').textContent")
        # hostile names from the companion are text: no element, no dialog
        tools.evaluate("const f = document.getElementById('inv-filter'); f.value = ''; f.select()")
        tools.call("Input.insertText", text="onerror")
        hostile = sum(1 for a in big.assets if "onerror" in a.id)
        tools.wait_for(f"document.querySelectorAll('#inv-body tr').length === {hostile}")
        assert HOSTILE in tools.evaluate("document.querySelector('#inv-body tr').textContent")
        assert tools.evaluate("document.querySelectorAll('img, #inv-body b').length") == 0
        assert not [e for e in tools.events if e["method"] == "Page.javascriptDialogOpening"]
        tools.evaluate(AXE.read_text("utf-8") + ";true")
        found = tools.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
            ".then(r => JSON.stringify(r.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target)}))))"
        )
        assert json.loads(found) == []
        # printing: every asset once the companion is loaded
        tools.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        assert tools.evaluate("document.querySelectorAll('#print-inventory tbody tr').length") == total
        assert tools.errors() == []


def test_without_its_companion_the_page_says_so_and_shows_what_it_holds(big: ScanResult, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    HtmlReporter().write(big, str(page))
    (tmp_path / "report.data.js").unlink()  # the page copied alone
    total = len(big.assets)
    with chromium(tmp_path) as tools:
        _open(tools, page)
        tools.wait_for("document.body.getAttribute('data-companion') === 'missing'", timeout=30)
        note = tools.evaluate("document.getElementById('ks-companion').textContent")
        assert note.startswith("report.data.js is missing")
        assert f"only the first {HEAD_ASSETS} of {total} assets" in note
        assert _count(tools).startswith(f"{HEAD_ASSETS} of {HEAD_ASSETS} assets (the first {HEAD_ASSETS} of {total}")
        assert len(tools.evaluate("Array.from(document.querySelectorAll('#inv-body tr'))")) == 100
        # the summaries are server-rendered; the systems roll-up counts every asset, not only the head's
        assert tools.evaluate("document.querySelectorAll('#overview .card').length") > 3
        data = build_data(big)
        name, count = Counter(data["systems"][s] for a in data["assets"] for s in a["y"]).most_common(1)[0]
        assert count > HEAD_ASSETS
        tools.evaluate("document.getElementById('sys-filter').focus()")
        tools.call("Input.insertText", text=name)
        tools.wait_for(f"document.querySelectorAll('#sys-list button').length < {len(data['systems'])}")
        shown = tools.evaluate("Array.from(document.querySelectorAll('#sys-list button')).map(b => b.textContent)")
        assert any(name in text and f"{count} assets" in text for text in shown), (name, count, shown)
        # printing what the page holds, and where the rest is
        tools.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        caption = tools.evaluate("document.querySelector('#print-inventory caption').textContent")
        assert caption == (
            f"The first {HEAD_ASSETS} of {total} inventoried assets, worst first;"
            " the full inventory is in report.data.js, beside this page"
        )
        assert tools.evaluate("document.querySelectorAll('#print-inventory tbody tr').length") == HEAD_ASSETS
        errors = tools.errors()
        assert errors and all("report.data.js" in e or "ERR_FILE_NOT_FOUND" in e for e in errors), errors


def test_a_companion_of_another_report_or_damaged_is_refused(big: ScanResult, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    HtmlReporter().write(big, str(page))
    other = dataclasses.replace(big, assets=big.assets[:-1])
    _, companion = HtmlReporter().render_split(other, "report.data.js")
    write_output(str(tmp_path / "report.data.js"), companion)  # a later scan's data beside an old page
    with chromium(tmp_path) as tools:
        _open(tools, page)
        tools.wait_for("document.body.getAttribute('data-companion') === 'wrong'", timeout=30)
        assert "belongs to another report" in tools.evaluate("document.getElementById('ks-companion').textContent")
        assert _count(tools).startswith(f"{HEAD_ASSETS} of {HEAD_ASSETS} assets")
        assert tools.errors() == []
        # the right token over damaged data: said so, not "loading" for ever
        token = COMPANION.fullmatch(companion)[1].decode()  # type: ignore[index]
        (tmp_path / "report.data.js").write_text(f'keysweepData("{_token(page)}", "AAAA");')
        tools.events.clear()  # the next load event is the new one
        _open(tools, page)
        tools.wait_for("document.body.getAttribute('data-companion') === 'broken'", timeout=30)
        assert "report.data.js could not be read" in tools.evaluate(
            "document.getElementById('ks-companion').textContent"
        )
        assert token != _token(page)


def test_the_threshold_is_a_setting_and_the_head_the_worst_first(
    big: ScanResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = dataclasses.replace(big, assets=big.assets[:50])
    monkeypatch.setattr(html, "HEAD_ASSETS", 5)
    HtmlReporter(split_above=10).write(small, str(tmp_path / "r.html"))
    found = re.search(
        r'<script type="application/json" id="ks-data">(.*?)</script>', (tmp_path / "r.html").read_text(), re.S
    )
    assert found is not None
    head = json.loads(found[1])
    full = build_data(small)
    worst_first = sorted(range(len(full["assets"])), key=lambda i: (-full["assets"][i]["s"], i))[:5]
    assert head["head"]["at"] == worst_first
    assert [a["i"] for a in head["assets"]] == [full["assets"][i]["i"] for i in worst_first]
    assert {f["m"] for f in head["findings"]} == {f["m"] for f in full["findings"] if f["a"] in worst_first}
    assert _unpack((tmp_path / "r.data.js").read_bytes())[1] == json.loads(json.dumps(full, default=str))


def test_the_python_api_writes_as_the_cli(big: ScanResult, tmp_path: Path) -> None:
    from scanner.api import ScanResult as ApiResult

    ApiResult(big).write(tmp_path / "api.html", "html")
    ApiResult(big).write(tmp_path / "api.json", "json")
    assert (tmp_path / "api.data.js").is_file()  # split, as the CLI does
    assert _unpack((tmp_path / "api.data.js").read_bytes())[1] == json.loads(json.dumps(build_data(big), default=str))
    assert (tmp_path / "api.json").read_bytes() == ApiResult(big).render("json")  # streamed, same bytes
