"""What a host check is: rule metadata (the shared ``checks.interface.Rule``) and a
function of ``HostFacts``.

A host check never opens a file: everything it looks at was gathered into ``HostFacts``
by ``host.facts``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from vmguard.findings import Finding, Rule
from vmguard.host.facts import HostFacts


class HostCheck(Protocol):
    """A check of the host as a whole; its docstring explains the risk."""

    rules: tuple[Rule, ...]

    def check(self, facts: HostFacts) -> Iterable[Finding]:
        """Findings for the host."""
        ...
