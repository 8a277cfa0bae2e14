"""The fleet posture as one self-contained HTML page (``fleet report --format html``).

It uses the single-image report's page shell (``report.html_assets``: inline stylesheet, a
Content-Security-Policy that forbids every fetch and script). Guest and path strings are
hostile: all go through ``_e``. This module must never render a marker HMAC, a fingerprint
or a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from vmguard import __version__
from vmguard.findings import Finding, Severity
from vmguard.report.html_assets import SEVERITY_COLOURS, html_text, page

if TYPE_CHECKING:
    from vmguard.fleet.posture import FleetPosture, ImagePosture


_e = html_text


def _pill(severity: Severity | None) -> str:
    if severity is None:
        return "none"
    return f'<span class="pill" style="--c:{SEVERITY_COLOURS[severity]}">{severity.value}</span>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _finding_rows(items: Sequence[tuple[str, Finding]]) -> list[list[str]]:
    return [
        [_e(image), _pill(f.severity), _e(f.rule_id), _e(f.location.path), _e(f.evidence)]
        for image, f in items
    ]


def _posture_tables(posture: FleetPosture) -> str:
    severity = _table(
        ["worst severity", "images"], [[_e(k), str(v)] for k, v in posture.by_severity().items()]
    )
    threat = _table(
        ["threat class", "images", "findings"],
        [[_e(t), str(n), str(m)] for t, (n, m) in posture.by_threat().items()],
    )
    by_os = _table(
        ["operating system", "images"], [[_e(k), str(v)] for k, v in posture.by_os().items()]
    )
    age = _table(
        ["age of the image file", "images"], [[_e(k), str(v)] for k, v in posture.by_age().items()]
    )
    return f"<section><h2>Posture</h2>{severity}{threat}{by_os}{age}</section>"


def _shared(posture: FleetPosture) -> str:
    if not posture.shared:
        return "<section><h2>Secrets shared between images</h2><p>None.</p></section>"
    parts = []
    for group in posture.shared:
        rows = [[_e(c.image), _e(c.path), _e(c.evidence)] for c in group.carriers]
        parts.append(
            f"<h3>{_pill(group.severity)} {_e(group.kind)} shared by {len(group.images)} "
            f"images</h3>{_table(['image', 'guest path', 'evidence (redacted)'], rows)}"
        )
    return f"<section><h2>Secrets shared between images</h2>{''.join(parts)}</section>"


def _changes(posture: FleetPosture) -> str:
    ch = posture.changes
    if ch.previous_run is None:
        return "<section><h2>Changes</h2><p>Only one run recorded so far.</p></section>"
    lists = "".join(
        f"<h3>{title} ({len(items)})</h3><ul>{''.join(f'<li>{_e(i)}</li>' for i in items)}</ul>"
        for title, items in (
            ("New images", ch.new_images),
            ("Not seen in the latest run", ch.missing_images),
            ("Changed", ch.changed_images),
        )
    )
    heads = ["image", "severity", "rule", "guest path", "evidence"]
    return (
        f"<section><h2>Changes since run #{ch.previous_run}</h2>{lists}"
        f"<h3>New findings ({len(ch.new_findings)})</h3>"
        f"{_table(heads, _finding_rows(ch.new_findings))}"
        f"<h3>Resolved findings ({len(ch.resolved_findings)})</h3>"
        f"{_table(heads, _finding_rows(ch.resolved_findings))}</section>"
    )


def _image(image: ImagePosture) -> str:
    rows = [
        [
            _pill(f.severity),
            _e(f.threat.value),
            _e(f.rule_id),
            _e(f.location.path),
            _e(f.evidence),
            _e(f.remediation),
        ]
        for f in image.findings
    ]
    errors = "".join(f"<li>{_e(e.where)}: {_e(e.reason)}</li>" for e in image.errors)
    failure = f"<p>Latest run: {_e(image.error)}</p>" if image.error else ""
    return (
        f"<details><summary>{_pill(image.worst)} {_e(image.path)} "
        f"({len(image.findings)} findings)</summary>{failure}"
        f"{_table(['severity', 'threat', 'rule', 'guest path', 'evidence', 'fix'], rows)}"
        f"{f'<ul>{errors}</ul>' if errors else ''}</details>"
    )


def _images(posture: FleetPosture) -> str:
    order = sorted(posture.images, key=lambda i: (-(i.worst.rank if i.worst else -1), i.path))
    rows = [
        [
            _pill(i.worst),
            _e(i.path),
            _e(i.format or "?"),
            _e(i.os_name or "unknown"),
            _e(i.hostname),
            _e(i.latest_outcome or "not in latest run"),
            str(len(i.findings)),
        ]
        for i in order
    ]
    heads = ["worst", "image", "format", "OS", "hostname", "latest run", "findings"]
    details = "".join(_image(i) for i in order)
    return f"<section><h2>Images</h2>{_table(heads, rows)}{details}</section>"


def posture_html(posture: FleetPosture) -> str:
    """The whole page."""
    title = f"vmguard fleet report: {len(posture.images)} images"
    header = (
        f"<header><h1>{_e(title)}</h1><p>{_e(posture.database)} · generated "
        f"{_e(posture.generated.isoformat(timespec='seconds'))} by vmguard {_e(__version__)}"
        "</p></header>"
    )
    body = _posture_tables(posture) + _shared(posture) + _changes(posture) + _images(posture)
    return page(_e(title), header, body)


def write_posture_html(posture: FleetPosture, out: TextIO) -> None:
    """Write the page."""
    out.write(posture_html(posture))
