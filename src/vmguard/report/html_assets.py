"""The fixed parts of the HTML report: its stylesheet, severity colours and page frame.

Everything here is vmguard's own text, never report data; report data enters a page only
through ``html_text`` (``vmguard.text.printable``, then HTML escaping). The page must stay
self-contained: no external URL, no script, no font or image fetched from anywhere; the
Content-Security-Policy below makes a browser refuse any fetch even if one slipped in.
"""

from __future__ import annotations

from html import escape

from vmguard.findings import Severity
from vmguard.text import printable

SEVERITY_COLOURS = {
    Severity.CRITICAL: "#8e1b1b",
    Severity.HIGH: "#d9412b",
    Severity.MEDIUM: "#e9a23b",
    Severity.LOW: "#3f7fbf",
    Severity.INFO: "#9aa6b2",
}


def html_text(value: object) -> str:
    """Report data made safe for element content and quoted attributes."""
    return escape(printable(value), quote=True)


CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLESHEET = """
:root { --ink: #1d2733; --muted: #5b6875; --line: #dfe4ea; --paper: #f5f7f9; --card: #fff;
  --accent: #234e70; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--paper); color: var(--ink);
  font: 15px/1.5 "DejaVu Sans", "Noto Sans", "Helvetica Neue", Arial, sans-serif; }
code, .mono { font-family: "DejaVu Sans Mono", "Noto Sans Mono", Menlo, Consolas, monospace;
  font-size: 13px; }
header.page { background: var(--accent); color: #fff; padding: 22px 40px 18px; }
header.page h1 { margin: 0 0 4px; font-size: 24px; letter-spacing: .2px; }
header.page .target { font-size: 14px; opacity: .9; word-break: break-all; }
header.page nav { margin-top: 12px; font-size: 13px; }
header.page nav a { color: #fff; margin-right: 18px; text-decoration: none;
  border-bottom: 1px solid rgba(255,255,255,.45); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 40px 60px; }
section { margin-bottom: 34px; }
h2 { font-size: 20px; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 22px 0 10px; }
h4 { font-size: 14px; margin: 14px 0 8px; text-transform: uppercase; letter-spacing: .6px;
  color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 18px; }
.tiles { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 18px; }
.tile { flex: 1 1 120px; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; padding: 10px 14px; border-top: 5px solid var(--c, #ccc); }
.tile .n { font-size: 28px; font-weight: 700; line-height: 1.1; }
.tile .l { color: var(--muted); font-size: 13px; text-transform: capitalize; }
.verdict { font-size: 16px; margin: 0 0 14px; }
.chart svg { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; background: var(--card); font-size: 13.5px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.zero { color: #b8c0c8; }
.threats { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr));
  gap: 12px; }
.threat { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 14px; border-left: 5px solid #c9d1d9; }
.threat.hit { border-left-color: var(--c, #d9412b); }
.threat .name { font-weight: 700; }
.threat .sec { color: var(--muted); font-size: 12px; margin-left: 6px; }
.threat p { margin: 6px 0 0; font-size: 13.5px; }
.threat .looks { color: var(--muted); }
.threat .count { float: right; font-weight: 700; font-size: 13px; padding: 1px 9px;
  border-radius: 10px; background: #eef1f4; }
.threat.hit .count { background: var(--c); color: #fff; }
.pill { display: inline-block; padding: 1px 9px; border-radius: 10px; color: #fff;
  font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .4px;
  background: var(--c); vertical-align: 1px; }
.pill.grey { background: #7b8792; }
.finding { background: var(--card); border: 1px solid var(--line); border-left: 5px solid var(--c);
  border-radius: 6px; padding: 10px 14px; margin-bottom: 10px; }
.finding .head { font-weight: 600; }
.finding .rule { color: var(--muted); font-size: 12.5px; margin-left: 8px; font-weight: 400; }
.finding dl { display: grid; grid-template-columns: 110px 1fr; gap: 3px 12px; margin: 8px 0 0; }
.finding dt { color: var(--muted); font-size: 13px; }
.finding dd { margin: 0; word-break: break-word; }
.finding dd code { background: #f1f3f5; padding: 1px 5px; border-radius: 4px; }
.finding.suppressed { opacity: .62; border-left-style: dashed; }
.finding ul { margin: 0; padding-left: 18px; }
.kv { display: grid; grid-template-columns: 160px 1fr; gap: 4px 14px; margin-bottom: 14px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; word-break: break-all; }
details summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
.empty { color: var(--muted); font-style: italic; }
.report-section { border-top: 4px solid var(--accent); padding-top: 10px; }
footer { color: var(--muted); font-size: 12.5px; text-align: center; padding: 0 0 30px; }
@media print { header.page { background: none; color: var(--ink); }
  .finding { break-inside: avoid; } }
"""


def page(title: str, header: str, body: str) -> str:
    """The whole document around already-escaped ``title``, ``header`` and ``body``."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{STYLESHEET}</style>\n</head>\n<body>\n"
        f"{header}\n<main>\n{body}\n</main>\n"
        "<footer>Generated offline by vmguard. This page loads nothing from the network.</footer>\n"
        "</body>\n</html>\n"
    )
