"""Errors of the vulnerability layer: one base, one subclass per thing that can go wrong."""

from __future__ import annotations

from vmguard.errors import VmguardError


class VulnsError(VmguardError):
    """Base of every error the vulnerability layer raises."""


class AdvisoryImportError(VulnsError):
    """An advisory file, archive or directory that cannot be imported at all."""


class AdvisoryIndexError(VulnsError):
    """The advisory index cannot be opened, created or read."""


class IndexMissing(AdvisoryIndexError):
    """No advisory index at the given location: nothing has been imported yet."""


class UnsupportedLocation(AdvisoryIndexError):
    """A database location (URL) that vmguard cannot use."""
