"""Errors of the host layer.

``HostError`` is the base: the root cannot be used, or a baseline cannot be made or read.
This module must never decide exit codes (only ``vmguard.cli`` does).
"""

from __future__ import annotations

from vmguard.errors import VmguardError


class HostError(VmguardError):
    """Base error of the host layer."""


class RootUnusable(HostError):
    """The directory given as the host's root cannot be audited."""


class BaselineError(HostError):
    """A host baseline cannot be made, or a baseline file is malformed."""
