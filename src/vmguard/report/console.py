"""The console report: what a person reads in a terminal (rich; NO_COLOR and pipes honoured).

Findings are grouped by threat class (each explained in one line, from ``threats``) and
then by severity, worst first; suppressed findings stay in their group, marked as such.
Colour follows rich's rules: none when ``NO_COLOR`` is set or the output is not a terminal.
Every guest-controlled string goes through ``vmguard.text.printable`` (control characters
shown escaped, one line, bounded) and then ``rich.markup.escape`` before it reaches the
terminal.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from vmguard.findings import Finding, Report, Severity
from vmguard.inventory import Inventory
from vmguard.report.compliance import text_lines
from vmguard.report.grouping import SEVERITIES, group_findings
from vmguard.text import printable

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def _safe(value: object) -> str:
    return escape(printable(value))


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _inventory(console: Console, inv: Inventory) -> None:
    console.print(
        f"[bold]Format[/] {_safe(inv.format)} ({_safe(inv.variant)}), "
        f"virtual size {_size(inv.virtual_size)}"
    )
    for link in inv.backing_chain:
        console.print(f"  backing file {_safe(link.name)} -> {_safe(link.path)} ({link.format})")
    if len(inv.disks) > 1:
        for d in inv.disks:
            console.print(f"  disk {_safe(d.name)}: {d.format} ({_safe(d.variant)})")
    if inv.os is not None:
        o = inv.os
        what = " ".join(_safe(part) for part in (o.family, o.distro, o.version) if part)
        details = [what, _safe(o.arch), f"hostname {_safe(o.hostname)}" if o.hostname else ""]
        shown = ", ".join(part for part in details if part)
        console.print(f"[bold]OS[/] {_safe(o.pretty_name or o.distro)} — {shown}")
    table = Table(title="Partitions", title_justify="left")
    for col in (
        "disk",
        "#",
        "scheme",
        "start",
        "size",
        "filesystem",
        "label",
        "uuid",
        "mounted at",
    ):
        table.add_column(col)
    for p in inv.partitions:
        fs = p.filesystem or (f"({p.role})" if p.role else "")
        if p.encryption:
            fs = f"{fs} (encrypted)"
        table.add_row(
            _safe(inv.disks[p.disk].name if p.disk < len(inv.disks) else p.disk),
            str(p.index),
            p.scheme,
            str(p.start),
            _size(p.size),
            _safe(fs),
            _safe(p.label or p.lvm_name),
            _safe(p.uuid),
            _safe(p.mountpoint),
        )
    console.print(table)
    if inv.users and all(u.admin is not None for u in inv.users):  # SAM accounts
        accounts = Table(title="Local accounts (SAM)", title_justify="left")
        for col in ("name", "RID", "state", "administrator", "password"):
            accounts.add_column(col)
        for u in inv.users:
            state = "disabled" if u.disabled else "enabled"
            admin = "yes" if u.admin else ""
            accounts.add_row(_safe(u.name), str(u.uid), state, admin, u.password)
        console.print(accounts)
    elif inv.users:
        users = Table(title="Users with a login shell or password", title_justify="left")
        for col in ("name", "uid", "home", "shell", "password"):
            users.add_column(col)
        for u in inv.users:
            if u.password in ("hash", "empty") or not u.shell.endswith(("nologin", "false")):
                users.add_row(_safe(u.name), str(u.uid), _safe(u.home), _safe(u.shell), u.password)
        console.print(users)
    if inv.services:
        automatic = sum(1 for s in inv.services if s.start == "automatic")
        console.print(f"[bold]Services[/] {len(inv.services)} ({automatic} automatic)")
    managers = sorted({p.manager for p in inv.packages})
    console.print(
        f"[bold]Packages[/] {len(inv.packages)}" + (f" ({', '.join(managers)})" if managers else "")
    )


def _where(finding: Finding) -> str:
    loc = finding.location
    where = _safe(loc.path) + (f":{loc.line}" if loc.line is not None else "")
    if loc.partition is not None:
        where += f" partition {loc.partition}"
    if loc.offset is not None and loc.line is None:
        where += f" byte {loc.offset}"
    if finding.subject is not None:
        where += f" ({_safe(finding.subject)})"
    return where


def _finding(console: Console, finding: Finding) -> None:
    if finding.suppressed is None:
        label = f"[{_STYLE[finding.severity]}]{finding.severity.value.upper():10}[/]"
    else:
        label = f"[dim]{'suppressed':10}[/]"
    console.print(
        f"  {label} {_safe(finding.title)} [dim]\\[{_safe(finding.rule_id)}][/]",
        style="dim" if finding.suppressed is not None else None,
    )
    lines = [
        f"at {_where(finding)}",
        f"evidence: {_safe(finding.evidence)}",
        f"fix: {_safe(finding.remediation)}",
    ]
    if finding.suppressed is not None:
        lines.append(
            f"[dim]suppressed by policy ({finding.severity.value}): {_safe(finding.suppressed)}[/]"
        )
    for line in lines:  # long lines wrap under their own indentation
        console.print(Padding(line, (0, 0, 0, 13), expand=False))


def _findings(console: Console, report: Report) -> None:
    groups = group_findings(report.findings)
    for group in groups:
        info = group.info
        section = f", survey {info.section}" if info.section else ""
        suppressed = f", {group.suppressed} suppressed" if group.suppressed else ""
        console.print()
        console.rule(
            f"[bold]{_safe(info.label)}[/] ({group.active}{suppressed}{section})", align="left"
        )
        console.print(f"[dim]{_safe(info.summary)}[/]")
        for level in group.severities:
            for finding in level.findings:
                _finding(console, finding)
    if not groups and report.checked:
        console.print("No findings.")


def write_console(report: Report, out: TextIO) -> None:
    """Render a report for people."""
    console = Console(file=out, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    console.print(f"[bold]vmguard[/] {_safe(report.target.kind)}: {_safe(report.target.path)}")
    if report.inventory is not None:
        _inventory(console, report.inventory)
    _findings(console, report)
    if report.errors:
        console.print()
    for e in report.errors:
        console.print(f"[yellow]could not read[/] {_safe(e.where)}: {_safe(e.reason)}")
    if report.compliance is not None:
        console.print()
        for line in text_lines(report.compliance):
            console.print(_safe(line))
    counts = report.summary()
    suppressed = sum(1 for f in report.findings if f.suppressed is not None)
    console.print()
    console.print(
        "[bold]Summary[/] "
        + ", ".join(
            f"[{_STYLE[s]}]{counts[s.value]} {s.value}[/]" if counts[s.value] else f"0 {s.value}"
            for s in SEVERITIES
        )
        + (f"; {suppressed} suppressed" if suppressed else "")
        + f"; {len(report.errors)} errors"
    )
