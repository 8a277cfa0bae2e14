"""The HTML report in a real headless Chromium: it renders, a screenshot is taken, nothing
is fetched from the network (Chromium's own net log says so, and a control page proves the
log would show it), no secret appears whole, hostile guest names stay text."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from clirunner import Run, vmguard
from vmguard.findings import Report
from vmguard.report.threats import THREATS

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (make system-packages)"
)
CORPUS = Path(__file__).resolve().parents[1] / "data/corpus"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Links(HTMLParser):
    """Every URL-bearing attribute and every element name of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data", "xmlns", "xlink:href"):
                self.urls.append(value or "")


def _parsed(text: str) -> _Links:
    parser = _Links()
    parser.feed(text)
    return parser


def _chromium(tmp: Path, page: Path, *extra: str) -> str:
    """Run Chromium on ``page`` and return its stdout.

    The browser runs detached (``sh`` starts it in the background and exits, nobody in this
    process tree waits for it): its ~600 MB would otherwise count in this test process's
    RUSAGE_CHILDREN peak, which other tests in the same xdist worker use to measure vmguard.
    """
    assert CHROMIUM is not None
    out, done = tmp / f"chromium-{len(extra)}.out", tmp / f"chromium-{len(extra)}.done"
    done.unlink(missing_ok=True)
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'profile'}",
        "--proxy-server=127.0.0.1:9",
        *extra,
        page.as_uri(),
    ]
    script = '("$@" >"$OUT" 2>/dev/null; echo $? >"$DONE") </dev/null & exit 0'
    subprocess.run(
        ["sh", "-c", script, "sh", *args],
        env={**os.environ, "OUT": str(out), "DONE": str(done)},
        check=True,
    )
    deadline = time.monotonic() + 90
    while not done.exists() or not done.read_text().strip():
        assert time.monotonic() < deadline, "chromium did not finish in 90 s"
        time.sleep(0.1)
    assert done.read_text().strip() == "0", "chromium failed"
    return out.read_text(encoding="utf-8", errors="replace")


def _page_requests(net_log: Path) -> list[str]:
    """URLs the page asked for: requests keyed to the file:// site. Chromium's own
    background requests (component updater, time) are keyed to no site and not counted."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start
        and "url" in e.get("params", {})
        and "file://" in e["params"].get("network_isolation_key", "")
    ]


def test_the_page_is_self_contained_and_escapes_everything(planted_runs: dict[str, Run]) -> None:
    text = planted_runs["html"].stdout
    page = _parsed(text)
    assert all(u.startswith("#") for u in page.urls), page.urls  # in-page anchors only
    assert "script" not in page.tags and "iframe" not in page.tags and "link" not in page.tags
    assert not re.search(r"url\(|@import", text)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert "svg" in page.tags  # the chart


def test_the_page_holds_the_summary_threats_inventory_and_remediation(
    planted_runs: dict[str, Run], planted_report: Report
) -> None:
    text = planted_runs["html"].stdout
    summary = planted_report.summary()
    assert f'<div class="n">{summary["high"]}</div><div class="l">high</div>' in text
    for info in THREATS:
        assert info.summary.replace("'", "&#x27;") in text
    assert "Debian GNU/Linux 12 (bookworm)" in text and "installed packages (dpkg)" in text
    assert text.count('<article class="finding') == len(planted_report.findings)
    assert "Revoke and rotate it, remove it from the image" in text


def test_hostile_names_stay_text(hostile_image: Path) -> None:
    text = vmguard("scan", "--format", "html", hostile_image).stdout
    page = _parsed(text)
    assert "img" not in page.tags
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#x27;#?%41 \\u202etxt.pem" in text
    assert "\x1b" not in text and "\u202e" not in text


def test_several_configs_are_one_page_with_a_section_each(tmp_path: Path) -> None:
    configs = sorted((CORPUS / "vmx").rglob("*.vmx"))[:3]
    text = vmguard("audit", "--format", "html", *configs, cwd=tmp_path).stdout
    for number, config in enumerate(configs, 1):
        assert f'<section id="report-{number}" class="report-section">' in text
        assert str(config) in text
    assert text.count("<h2>Summary</h2>") == 1


@needs_chromium
def test_chromium_renders_the_page_without_touching_the_network(
    planted_runs: dict[str, Run],
    planted_secrets: list[str],
    tmp_path: Path,
) -> None:
    page = tmp_path / "report.html"
    page.write_text(planted_runs["html"].stdout, encoding="utf-8")
    shot, net_log = tmp_path / "report.png", tmp_path / "net.json"
    _chromium(
        tmp_path,
        page,
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        f"--log-net-log={net_log}",
    )
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 50_000  # a page, not a blank
    assert int.from_bytes(data[16:20], "big") == 1280
    assert _page_requests(net_log) == []
    dom = _chromium(tmp_path, page, "--dump-dom")
    assert "Findings per threat class" in dom and "<svg" in dom
    for secret in planted_secrets:
        assert secret not in dom


@needs_chromium
def test_the_network_check_sees_a_page_that_fetches(tmp_path: Path) -> None:
    page = tmp_path / "fetches.html"
    page.write_text(
        '<img src="http://192.0.2.1/x.png"><link rel=stylesheet href="https://192.0.2.1/a.css">'
    )
    net_log = tmp_path / "net.json"
    _chromium(tmp_path, page, "--dump-dom", f"--log-net-log={net_log}")
    assert sorted(_page_requests(net_log)) == ["http://192.0.2.1/x.png", "https://192.0.2.1/a.css"]
