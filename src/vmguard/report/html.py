"""The HTML report: one self-contained page a person would rather look at than read.

Summary tiles and a threat class × severity chart, the survey's threat classes explained,
the image inventory, and every finding with its remediation, grouped by threat class and
severity. Several reports share one page, one section each.

Guest data is hostile: every string that comes from a report goes through ``_e`` (HTML
escaping after ``printable``), references are shown as text and never as links, and the
page has no script and fetches nothing (see ``html_assets``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from vmguard import __version__
from vmguard.findings import Finding, Report, Severity
from vmguard.inventory import Inventory
from vmguard.profiles.model import ItemStatus
from vmguard.report.compliance import LABEL
from vmguard.report.grouping import SEVERITIES, group_findings, threat_severity_counts
from vmguard.report.html_assets import SEVERITY_COLOURS, html_text, page
from vmguard.report.html_chart import threat_severity_chart
from vmguard.report.threats import THREATS

_e = html_text


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _colour(severity: Severity) -> str:
    return f"--c:{SEVERITY_COLOURS[severity]}"


def _pill(severity: Severity) -> str:
    return f'<span class="pill" style="{_colour(severity)}">{severity.value}</span>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    """A table of already-escaped cells."""
    head = "".join(
        f"<th{' class=num' if i in numeric else ''}>{h}</th>" for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i in numeric else ''}>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary(reports: Sequence[Report]) -> str:
    counts = {s: 0 for s in SEVERITIES}
    for report in reports:
        for key, n in report.summary().items():
            counts[Severity(key)] += n
    suppressed = sum(1 for r in reports for f in r.findings if f.suppressed is not None)
    errors = sum(len(r.errors) for r in reports)
    worst = max((s for s in SEVERITIES if counts[s]), key=lambda s: s.rank, default=None)
    total = sum(counts.values())
    if worst is None:
        verdict = "No findings." if all(r.checked for r in reports) else "Nothing was checked."
    else:
        verdict = f"{total} finding{'s' if total != 1 else ''}; the worst is {_pill(worst)}."
    tiles = [
        f'<div class="tile" style="{_colour(s)}"><div class="n">{counts[s]}</div>'
        f'<div class="l">{s.value}</div></div>'
        for s in SEVERITIES
    ]
    tiles.append(
        f'<div class="tile"><div class="n">{suppressed}</div><div class="l">suppressed</div></div>'
    )
    tiles.append(
        f'<div class="tile" style="--c:#5b6875"><div class="n">{errors}</div>'
        '<div class="l">read errors</div></div>'
    )
    matrix = threat_severity_counts(reports)
    rows = []
    for info in THREATS:
        cells = matrix[info.threat]
        if sum(cells.values()):
            rows.append(
                [_e(info.label)]
                + [str(cells[s]) if cells[s] else "·" for s in SEVERITIES]
                + [str(sum(cells.values()))]
            )
    table = (
        _table(["Threat class", *(s.value for s in SEVERITIES), "total"], rows, set(range(1, 7)))
        if rows
        else ""
    )
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<p class="verdict">{verdict}</p><div class="tiles">{"".join(tiles)}</div>'
        f'<div class="card chart">{threat_severity_chart(matrix)}</div>'
        f"{'<h4>Findings per threat class</h4>' + table if table else ''}</section>"
    )


def _threat_classes(reports: Sequence[Report]) -> str:
    matrix = threat_severity_counts(reports)
    cards = []
    for info in THREATS:
        counts = matrix[info.threat]
        total = sum(counts.values())
        worst = next((s for s in SEVERITIES if counts[s]), None)
        style = f' style="{_colour(worst)}"' if worst else ""
        section = f'<span class="sec">survey {_e(info.section)}</span>' if info.section else ""
        cards.append(
            f'<div class="threat{" hit" if total else ""}"{style}>'
            f'<span class="count">{total}</span><span class="name">{_e(info.label)}</span>{section}'
            f'<p>{_e(info.summary)}</p><p class="looks">Looked for: {_e(info.examples)}</p></div>'
        )
    return (
        '<section id="threats"><h2>Threat classes</h2>'
        "<p>vmguard sorts every finding into one threat class: the eight of the survey of "
        "virtualization security it follows, and four for what images themselves carry. "
        "The number is the count of findings in this report.</p>"
        f'<div class="threats">{"".join(cards)}</div></section>'
    )


def _inventory(inv: Inventory) -> str:
    facts = [("Format", f"{_e(inv.format)} ({_e(inv.variant)}), {_size(inv.virtual_size)}")]
    if inv.os is not None:
        o = inv.os
        facts.append(("Operating system", _e(o.pretty_name or f"{o.distro} {o.version}")))
        facts.append(("Family / distro", _e(f"{o.family} / {o.distro} {o.version}")))
        facts.append(("Architecture", _e(o.arch or "unknown")))
        facts.append(("Hostname", _e(o.hostname or "(none)")))
    else:
        facts.append(("Operating system", "not found"))
    for link in inv.backing_chain:
        facts.append(("Backing file", _e(f"{link.name} -> {link.path} ({link.format})")))
    kv = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    parts = [
        [
            str(p.index),
            _e(p.scheme),
            _size(p.start),
            _size(p.size),
            _e((p.filesystem or "") + (f" ({p.encryption})" if p.encryption else "")),
            _e(p.label or p.lvm_name or ""),
            f'<span class="mono">{_e(p.uuid or "")}</span>',
            _e(p.mountpoint or ""),
        ]
        for p in inv.partitions
    ]
    partitions = (
        _table(
            ["#", "scheme", "start", "size", "filesystem", "label", "uuid", "mounted at"],
            parts,
            {0, 2, 3},
        )
        if parts
        else '<p class="empty">No partitions or filesystems found.</p>'
    )
    logins = [
        u
        for u in inv.users
        if u.password in ("hash", "empty") or not u.shell.endswith(("nologin", "false"))
    ]
    users = _table(
        ["name", "uid", "gid", "home", "shell", "password"],
        [
            [_e(u.name), str(u.uid), str(u.gid), _e(u.home), _e(u.shell), _e(u.password)]
            for u in logins
        ],
        {1, 2},
    )
    managers = ", ".join(sorted({p.manager for p in inv.packages}))
    packages = _table(
        ["name", "version", "arch", "manager"],
        [[_e(p.name), _e(p.version), _e(p.arch), _e(p.manager)] for p in inv.packages],
        set(),
    )
    return (
        f'<h3>Inventory</h3><dl class="kv">{kv}</dl><h4>Partitions</h4>{partitions}'
        f"<h4>Users who can log in ({len(logins)} of {len(inv.users)})</h4>"
        + (users if logins else '<p class="empty">None.</p>')
        + f"<h4>Packages</h4><details><summary>{len(inv.packages)} installed packages"
        + (f" ({_e(managers)})" if managers else "")
        + f"</summary>{packages}</details>"
    )


def _where(finding: Finding) -> str:
    loc = finding.location
    text = f"<code>{_e(loc.path)}</code>"
    if loc.line is not None:
        text += f" line {loc.line}"
    if loc.partition is not None:
        text += f", partition {loc.partition}"
    if loc.offset is not None:
        text += f", byte offset {loc.offset}"
    text += f' <span class="rule">({_e(loc.area.value)})</span>'
    if finding.subject is not None:
        text += f" — {_e(finding.subject)}"
    return text


def _finding(finding: Finding) -> str:
    suppressed = finding.suppressed is not None
    badge = '<span class="pill grey">suppressed</span> ' if suppressed else ""
    rows = [("Where", _where(finding)), ("Evidence", f"<code>{_e(finding.evidence)}</code>")]
    rows.append(("How to fix", _e(finding.remediation)))
    if finding.references:
        items = "".join(f"<li>{_e(r)}</li>" for r in finding.references)
        rows.append(("References", f"<ul>{items}</ul>"))
    if suppressed:
        rows.append(("Suppressed", f"by policy: {_e(finding.suppressed)}"))
    details = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (
        f'<article class="finding{" suppressed" if suppressed else ""}" '
        f'style="{_colour(finding.severity)}"><div class="head">{badge}{_pill(finding.severity)} '
        f'{_e(finding.title)}<span class="rule">{_e(finding.rule_id)}</span></div>'
        f"<dl>{details}</dl></article>"
    )


def _findings(report: Report) -> str:
    groups = group_findings(report.findings)
    if not groups:
        text = "No findings." if report.checked else "This command describes; it checks nothing."
        return f'<h3>Findings</h3><p class="empty">{text}</p>'
    parts = ["<h3>Findings</h3>"]
    for group in groups:
        suppressed = f", {group.suppressed} suppressed" if group.suppressed else ""
        count = f'<span class="rule">{group.active} finding(s){suppressed}</span>'
        parts.append(f"<h3>{_e(group.info.label)} {count}</h3><p>{_e(group.info.summary)}</p>")
        for level in group.severities:
            parts.append(f"<h4>{level.severity.value} ({len(level.findings)})</h4>")
            parts.extend(_finding(f) for f in level.findings)
    return "".join(parts)


def _errors(report: Report) -> str:
    if not report.errors:
        return ""
    rows = [[f"<code>{_e(e.where)}</code>", _e(e.reason)] for e in report.errors]
    return "<h3>Could not be read</h3>" + _table(["path", "problem"], rows, set())


def _compliance(report: Report) -> str:
    c = report.compliance
    if c is None:
        return ""
    counts = ", ".join(f"{n} {status}" for status, n in c.counts().items())
    rows = [
        [
            f"<strong>{_e(LABEL[r.status])}</strong>",
            f"<code>{_e(r.item_id)}</code>",
            _e(r.subject),
            _e(r.title),
            "" if r.status is ItemStatus.PASS else _e(r.reason),
        ]
        for r in c.results
    ]
    heading = f"<h3>Compliance: {_e(c.guide)}</h3><p>--profile {_e(c.profile)}: {_e(counts)}</p>"
    return heading + _table(["status", "item", "subject", "title", "why"], rows, set())


def _report_section(report: Report, number: int, several: bool) -> str:
    title = f"{_e(report.target.kind)}: <code>{_e(report.target.path)}</code>"
    counts = report.summary()
    line = ", ".join(f"{counts[s.value]} {s.value}" for s in SEVERITIES)
    body = f'<section id="report-{number}" class="{"report-section" if several else ""}">'
    body += f"<h2>{title}</h2><p>{line}; {len(report.errors)} read error(s).</p>" if several else ""
    if report.inventory is not None:
        body += _inventory(report.inventory)
    return body + _findings(report) + _compliance(report) + _errors(report) + "</section>"


def html_page(reports: Sequence[Report]) -> str:
    """Every report on one page."""
    several = len(reports) != 1
    if several:
        target = f"{len(reports)} targets"
    else:
        target = f"{_e(reports[0].target.kind)}: {_e(reports[0].target.path)}"
    nav = '<a href="#summary">Summary</a><a href="#threats">Threat classes</a>'
    for number, report in enumerate(reports, 1):
        name = _e(report.target.path.rsplit("/", 1)[-1]) if several else "Details"
        nav += f'<a href="#report-{number}">{name}</a>'

    header = (
        f'<header class="page"><h1>vmguard report</h1><div class="target">{target}</div>'
        f'<div class="target">vmguard {_e(__version__)}</div><nav>{nav}</nav></header>'
    )
    body = _summary(reports) + _threat_classes(reports)
    body += "".join(_report_section(r, i, several) for i, r in enumerate(reports, 1))
    return page(f"vmguard report — {target}", header, body)


def write_html_reports(reports: Sequence[Report], out: TextIO) -> None:
    """Write several reports as one HTML page."""
    out.write(html_page(reports))


def write_html(report: Report, out: TextIO) -> None:
    """Write one report as an HTML page."""
    write_html_reports([report], out)
