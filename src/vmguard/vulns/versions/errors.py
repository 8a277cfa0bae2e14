"""The one error of version ordering."""

from __future__ import annotations

from vmguard.vulns.errors import VulnsError


class UnorderableVersion(VulnsError):
    """A version string outside its ecosystem's grammar: it cannot be placed in a range."""
