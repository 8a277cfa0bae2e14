"""Memory artefacts met by the walk: hibernation file, page and swap files, crash dumps.

Each can hold any secret the running machine had in memory (keys, passwords, tokens), in
forms no pattern finds reliably; they are named with their size. No content is read here.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable

from vmguard.findings import Finding, Rule, SecretKind, Severity, Threat
from vmguard.guest.view import GuestStat

MEMORY_ARTEFACT = Rule(
    "secret.memory-artefact",
    "Memory image left in the disk (hibernation, page file or crash dump)",
    Severity.MEDIUM,
    Threat.IMAGE_EXPOSURE,
    "Delete hiberfil.sys (powercfg /h off), pagefile.sys/swapfile.sys (or clear the page "
    "file at shutdown) and crash dumps before capturing the image: they hold whatever was "
    "in memory, credentials included.",
    rationale=(
        "Hibernation files, page files and crash dumps hold what was in memory, including "
        "passwords, keys and session tokens, readable offline from the image."
    ),
    shares=SecretKind.CREDENTIAL,
)
_MEMORY_PATHS = re.compile(
    r"^/(?:hiberfil\.sys|pagefile\.sys|swapfile\.sys"
    r"|windows/memory\.dmp|windows/minidump/[^/]+\.dmp"
    r"|windows/livekernelreports/(?:[^/]+/)?[^/]+\.dmp)$",
    re.IGNORECASE,
)


class MemoryArtefacts:
    """Metadata check for memory artefacts (fed by the walk's stat results)."""

    rules: tuple[Rule, ...] = (MEMORY_ARTEFACT,)

    def check(self, path: str, info: GuestStat) -> Iterable[Finding]:
        """A finding when ``path`` is a non-empty memory artefact."""
        if stat.S_ISREG(info.mode) and info.size > 0 and _MEMORY_PATHS.match(path):
            yield MEMORY_ARTEFACT.finding(path, f"{info.size} bytes ({_human(info.size)})")


def _human(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.1f} {unit}"
    return f"{size} B"
