"""Raw images: the file is the disk. No structure is interpreted, so nothing is named."""

from __future__ import annotations

from vmguard.disk.containers.interface import Container
from vmguard.disk.source import ByteSource


def open_raw(source: ByteSource) -> Container:
    """A raw image's guest view is its bytes, unchanged."""
    return Container(format="raw", variant="raw", disk=source)
