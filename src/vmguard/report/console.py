"""The console report: what a person reads in a terminal (rich; NO_COLOR and pipes honoured).

Every guest-controlled string goes through ``rich.markup.escape`` and has its control
characters removed before it reaches the terminal.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vmguard.findings import Report, Severity
from vmguard.inventory import Inventory

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def _safe(value: object) -> str:
    text = "" if value is None else str(value)
    return escape("".join(ch if ch.isprintable() else "?" for ch in text))


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
        console.print(
            f"[bold]OS[/] {_safe(o.pretty_name or o.distro)} — {_safe(o.family)} "
            f"{_safe(o.distro)} {_safe(o.version)}, {_safe(o.arch)}, hostname {_safe(o.hostname)}"
        )
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
        fs = p.filesystem or ""
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
    if inv.users:
        users = Table(title="Users with a login shell or password", title_justify="left")
        for col in ("name", "uid", "home", "shell", "password"):
            users.add_column(col)
        for u in inv.users:
            if u.password in ("hash", "empty") or not u.shell.endswith(("nologin", "false")):
                users.add_row(_safe(u.name), str(u.uid), _safe(u.home), _safe(u.shell), u.password)
        console.print(users)
    managers = sorted({p.manager for p in inv.packages})
    console.print(
        f"[bold]Packages[/] {len(inv.packages)}" + (f" ({', '.join(managers)})" if managers else "")
    )


def write_console(report: Report, out: TextIO) -> None:
    """Render a report for people."""
    console = Console(file=out, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    console.print(f"[bold]vmguard[/] {_safe(report.target.kind)}: {_safe(report.target.path)}")
    if report.inventory is not None:
        _inventory(console, report.inventory)
    order = sorted(report.findings, key=lambda f: (-f.severity.rank, f.threat.value, f.rule_id))
    for f in order:
        console.print(
            f"[{_STYLE[f.severity]}]{f.severity.value.upper():8}[/] {f.threat.value:22} "
            f"{_safe(f.title)} — {_safe(f.location.path)}"
        )
        console.print(f"         evidence: {_safe(f.evidence)}")
        console.print(f"         fix: {_safe(f.remediation)}")
        if f.suppressed is not None:
            console.print(f"         [dim]suppressed by policy: {_safe(f.suppressed)}[/]")
    for e in report.errors:
        console.print(f"[yellow]could not read[/] {_safe(e.path)}: {_safe(e.message)}")
    counts = report.summary()
    console.print(
        "[bold]Summary[/] "
        + ", ".join(f"{counts[s.value]} {s.value}" for s in Severity)
        + f"; {len(report.errors)} errors"
    )
