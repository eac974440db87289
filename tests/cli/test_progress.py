"""TerminalProgress: the bar follows each collector in turn (files, then endpoints)."""

from __future__ import annotations

import io

from scanner.cli.progress import TerminalProgress


def test_bar_counts_files_then_endpoints_and_escapes_names() -> None:
    out = io.StringIO()
    progress = TerminalProgress(out, live=True, verbosity=0)
    progress.target_started("files", "/srv")
    progress.items_found("files", 2)
    progress._last_draw = 0.0  # redraws are throttled to ten a second: let each update draw
    progress.item_done("files", "/srv/a\x1b[2J.pem")
    progress._last_draw = 0.0
    progress.item_done("files", "/srv/b.pem")
    progress.target_finished("files", "/srv", True)
    progress._last_draw = 0.0
    progress.target_started("tls", "127.0.0.1:443")
    progress._last_draw = 0.0
    progress.target_finished("tls", "127.0.0.1:443", False)
    progress.close()
    frames = out.getvalue().split("\r\x1b[K")
    assert any(f.startswith("[##########..........] 1/2 files") and "a\\x1b[2J.pem" in f for f in frames)
    assert any(f.startswith("[####################] 2/2 files") for f in frames)
    assert any(f.startswith("1 targets done") and "tls: 127.0.0.1:443" in f for f in frames)
    assert out.getvalue().endswith("\r\x1b[K")  # erased at the end
    assert "\x1b[2J" not in out.getvalue()


def test_not_live_and_not_verbose_writes_nothing() -> None:
    out = io.StringIO()
    progress = TerminalProgress(out, live=False, verbosity=0)
    progress.target_started("files", "/srv")
    progress.items_found("files", 1)
    progress.item_done("files", "/srv/a.pem")
    progress.target_finished("files", "/srv", True)
    progress.close()
    assert out.getvalue() == ""


def test_the_bar_with_the_files_total_is_drawn_at_the_first_file_however_quick() -> None:
    """The first draw ("0 targets done") is the moment the sweep starts; the files' total found
    just after must not wait out the tenth of a second, or a quick sweep never shows its bar."""
    out = io.StringIO()
    progress = TerminalProgress(out, live=True, verbosity=0)
    progress.target_started("files", "/srv")
    progress.items_found("files", 3)
    progress.item_done("files", "/srv/a.pem")
    progress.item_done("files", "/srv/b.pem")  # within the tenth of a second: not drawn
    frames = out.getvalue().split("\r\x1b[K")
    assert [f for f in frames if f.startswith("[")] == [frames[-1]]
    assert frames[-1].startswith("[######..............] 1/3 files") and "/srv/a.pem" in frames[-1]
