"""Remove what the scan of the same image found: files that carry a secret or a shared key.

A line-oriented configuration file (``.env``, ``.netrc``, INI-style ``.conf``,
``authorized_keys``, ...) loses only the offending lines when the secret sits on one line;
any other file is removed. Files of the operating system itself (``/usr``, ``/etc/passwd``
...) are never removed: the finding stays, and the re-scan shows it.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from vmguard.findings import Area, Finding, Threat
from vmguard.sanitize.plan import EditKind

if TYPE_CHECKING:
    from vmguard.sanitize.operations import Context

_THREATS = (Threat.IMAGE_EXPOSURE, Threat.GUEST_TO_GUEST)
_LINE_FILES = (
    ".env",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    ".my.cnf",
    ".npmrc",
    ".pypirc",
    "credentials",
    "authorized_keys",
    "authorized_keys2",
)
_LINE_SUFFIXES = (".env", ".conf", ".cfg", ".ini", ".properties", ".nmconnection", "_history")
_SYSTEM_PREFIXES = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/")
# What boots the guest: removing an initramfs that embeds a key would make it unbootable.
_BOOT_FILES = ("vmlinuz", "vmlinux", "initrd", "initramfs", "grub", "shim", "System.map")
_SYSTEM_FILES = ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/fstab")


def wanted(finding: Finding) -> bool:
    """Whether a scan finding is one sanitize removes: a leak in a file (its rule names a
    secret or key, ``Rule.shares``), not suppressed."""
    return (
        finding.suppressed is None
        and finding.location.area is Area.FILE
        and finding.threat in _THREATS
        and finding.rule is not None
        and finding.rule.shares is not None
    )


def _spans_lines(finding: Finding) -> bool:
    return finding.rule is not None and finding.rule.spans_lines


def line_oriented(path: str) -> bool:
    """Whether removing one line of this file leaves a valid file of its kind."""
    name = posixpath.basename(path)
    return name in _LINE_FILES or name.endswith(_LINE_SUFFIXES)


def _drop_lines(lines: set[int]) -> Callable[[bytes], tuple[bytes, str]]:
    def change(data: bytes) -> tuple[bytes, str]:
        kept = [
            line for number, line in enumerate(data.split(b"\n"), start=1) if number not in lines
        ]
        shown = ", ".join(str(n) for n in sorted(lines))
        return b"\n".join(kept), f"line {shown} removed"

    return change


def remove_secret_findings(ctx: Context, name: str) -> None:
    """Plan the removal of every file (or line) the scan found a secret in."""
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in ctx.findings:
        if wanted(finding):
            by_path[finding.location.path].append(finding)
    plan = ctx.plan
    for path, findings in sorted(by_path.items()):
        rules = ", ".join(sorted({f.rule_id for f in findings}))
        if (
            path in _SYSTEM_FILES
            or path.startswith(_SYSTEM_PREFIXES)
            or (path.startswith("/boot/") and posixpath.basename(path).startswith(_BOOT_FILES))
        ):
            plan.skip(name, path, f"a file of the operating system: not removed ({rules})")
            continue
        lines = {f.location.line for f in findings}
        if line_oriented(path) and None not in lines and not any(_spans_lines(f) for f in findings):
            numbers = {n for n in lines if n is not None}
            if plan.rewrite(name, path, _drop_lines(numbers)):
                continue
        earlier = plan.edits.get(path)
        if earlier is not None and earlier.kind is not EditKind.REWRITE:
            continue  # already emptied or removed by an earlier operation
        plan.remove(name, path, rules)
