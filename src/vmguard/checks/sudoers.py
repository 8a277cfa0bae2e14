"""sudoers: rules that grant every command without a password (NOPASSWD: ALL).

/etc/sudoers and what it includes (@includedir / #includedir / @include), read through the
guest view with bounded file counts and sizes.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from vmguard.findings import Finding, Rule, Severity, Threat
from vmguard.guest.facts import GuestFacts
from vmguard.guest.view import GuestFileTooLarge, GuestView
from vmguard.text import printable

NOPASSWD_ALL = Rule(
    "sudo.nopasswd-all",
    "sudo grants every command without a password",
    Severity.HIGH,
    Threat.WEAK_CONFIGURATION,
    "Require the password (remove NOPASSWD) or limit the rule to the commands needed.",
    ("https://www.sudo.ws/docs/man/sudoers.man/",),
    rationale=(
        "Whoever gets a shell as that user, by any bug or leaked key, becomes root at once without "
        "knowing a password."
    ),
)
_INCLUDE = re.compile(r"^[@#](include|includedir)\s+(\S+)")
_NOPASSWD_ALL = re.compile(r"NOPASSWD\s*:\s*(\([^)]*\)\s*)?ALL\s*$")
_MAX_FILES = 64
_MAX_FILE = 1024 * 1024


class SudoersChecks:
    """``GuestCheck`` over sudoers."""

    rules: tuple[Rule, ...] = (NOPASSWD_ALL,)

    def check(self, view: GuestView, facts: GuestFacts) -> Iterable[Finding]:
        """Findings for NOPASSWD: ALL rules in every sudoers file."""
        pending: list[str] = ["/etc/sudoers"]
        seen: set[str] = set()
        dormant = view.stat("/etc/sudoers") is None
        if dormant:
            # No sudo installed (yet): a drop-in left by the builder activates with it.
            pending = [f"/etc/sudoers.d/{n}" for n in view.list_dir("/etc/sudoers.d") or []]
        while pending and len(seen) < _MAX_FILES:
            path = pending.pop(0)
            if path in seen:
                continue
            seen.add(path)
            try:
                data = view.read_file(path, _MAX_FILE)
            except GuestFileTooLarge:
                continue
            if data is None:
                continue
            text = data.decode("utf-8", "replace").replace("\\\n", " ")
            for number, raw in enumerate(text.splitlines(), 1):
                line = raw.strip()
                include = _INCLUDE.match(line)
                if include:
                    target = include.group(2)
                    if not target.startswith("/"):
                        target = posixpath.join(posixpath.dirname(path), target)
                    if include.group(1) == "includedir":
                        names = view.list_dir(target) or []
                        pending.extend(
                            posixpath.join(target, n)
                            for n in names
                            if "." not in n and not n.endswith("~")
                        )
                    else:
                        pending.append(target)
                    continue
                body = line.split("#", 1)[0].strip()
                if body and not body.startswith("Defaults") and _NOPASSWD_ALL.search(body):
                    evidence = printable(body, 120)
                    if dormant:
                        yield NOPASSWD_ALL.finding(
                            path,
                            f"{evidence} (dormant: /etc/sudoers is missing)",
                            line=number,
                            severity=Severity.MEDIUM,
                        )
                    else:
                        yield NOPASSWD_ALL.finding(path, evidence, line=number)
