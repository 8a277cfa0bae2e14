"""The fleet layer's errors: one base, wrapping causes with ``from``.

Only ``vmguard.cli`` turns these into exit codes. A failure of one image is never one of
these: it is recorded as data (an error result for that image) and the run goes on.
"""

from __future__ import annotations

from vmguard.errors import VmguardError


class FleetError(VmguardError):
    """Base of every error the fleet layer raises."""


class SourceError(FleetError):
    """A catalogue source (directory, list file, libvirt URI) cannot be used at all."""


class FleetDatabaseError(FleetError):
    """The results database cannot be opened, migrated, read or written."""


class EngineError(FleetError):
    """The scan engine cannot run (no Dask scheduler at that address, no workers...)."""
