"""Errors of the disk layer."""

from vmguard.errors import VmguardError


class DiskError(VmguardError):
    """Base error of the disk layer."""


class ImageRefused(DiskError):
    """The image is refused by policy: it names a host path, or asks for something unsafe."""


class UnsupportedFormat(DiskError):
    """The content is a format vmguard recognises but does not read (QED, VDI, ...)."""


class CorruptImage(DiskError):
    """A structure inside the image is inconsistent, truncated or out of bounds."""


class LimitExceeded(CorruptImage):
    """A structure asks for more than a parser bound allows (size, count, depth, time)."""
