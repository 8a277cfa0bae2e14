"""The summary chart of the HTML report: threat class × severity as an inline SVG.

One horizontal bar per threat class, stacked by severity, with a legend and a count at the
end of each bar. Every class is drawn, also those without findings: the chart doubles as a
map of what was covered. Only vmguard's own labels and numbers go into the SVG.
"""

from __future__ import annotations

from html import escape

from vmguard.findings import Severity, Threat
from vmguard.report.grouping import SEVERITIES
from vmguard.report.html_assets import SEVERITY_COLOURS
from vmguard.report.threats import THREATS

WIDTH = 1000
LABEL_WIDTH = 330
ROW = 30
BAR = 18
TOP = 44


def _legend() -> str:
    parts = []
    x = LABEL_WIDTH
    for severity in SEVERITIES:
        colour = SEVERITY_COLOURS[severity]
        parts.append(
            f'<rect x="{x}" y="8" width="14" height="14" rx="3" fill="{colour}"/>'
            f'<text x="{x + 20}" y="20" class="lg">{severity.value}</text>'
        )
        x += 110
    return "".join(parts)


def threat_severity_chart(counts: dict[Threat, dict[Severity, int]]) -> str:
    """The chart as an ``<svg>`` element (``counts`` from ``threat_severity_counts``)."""
    biggest = max((sum(row.values()) for row in counts.values()), default=0)
    scale_width = WIDTH - LABEL_WIDTH - 60
    height = TOP + ROW * len(THREATS) + 10
    rows = []
    for number, info in enumerate(THREATS):
        y = TOP + number * ROW
        row = counts[info.threat]
        total = sum(row.values())
        label = f"{info.label} ({info.section})" if info.section else info.label
        rows.append(
            f'<text x="{LABEL_WIDTH - 12}" y="{y + BAR - 4}" class="lb{"" if total else " z"}" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{scale_width}" height="{BAR}" '
            f'fill="#eef1f4" rx="3"/>'
        )
        x = float(LABEL_WIDTH)
        for severity in SEVERITIES:
            n = row[severity]
            if not n:
                continue
            w = scale_width * n / biggest
            rows.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR}" '
                f'fill="{SEVERITY_COLOURS[severity]}"><title>{escape(info.label)}: {n} '
                f"{severity.value}</title></rect>"
            )
            x += w
        rows.append(
            f'<text x="{x + 8 if total else LABEL_WIDTH + 8:.1f}" y="{y + BAR - 4}" '
            f'class="{"n" if total else "n z"}">{total}</text>'
        )
    return (
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="Findings per threat class and severity">'
        "<style>text{font-family:'DejaVu Sans',Arial,sans-serif;font-size:14px;fill:#1d2733}"
        ".lg{font-size:13px}.n{font-weight:700}.z{fill:#a6b0ba}</style>"
        f"{_legend()}{''.join(rows)}</svg>"
    )
