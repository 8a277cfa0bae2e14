"""Content-based format detection. The file name never decides a format.

Every signature of the format table (``disk.formats``) is checked, and an image that matches
more than one container format is a polyglot (an ISO whose system area holds a qcow2 header,
a qcow2 with a VHD footer) and is refused: two readers would see two different disks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from vmguard.disk.errors import ImageRefused, UnsupportedFormat
from vmguard.disk.formats import FORMATS, RAW, READABLE_FORMATS, suggested_by
from vmguard.disk.signatures import ProbeInput
from vmguard.disk.source import ByteSource

__all__ = ["READABLE_FORMATS", "Detection", "detect_format"]


@dataclass(frozen=True, slots=True)
class Detection:
    """The format content says a file is, and what its name suggested."""

    format: str
    extension_suggests: str | None
    note: str | None = None
    """Why content that resembles another format was read as this one (shown in errors)."""

    @property
    def contradicts_extension(self) -> bool:
        """True when the name claims another format than the content has."""
        return self.extension_suggests is not None and self.extension_suggests != self.format


def detect_format(source: ByteSource, name: str = "") -> Detection:
    """Decide the container format from content; refuse polyglots and unsupported formats."""
    suggests = suggested_by(PurePath(name).suffix.lower()) if name else None
    probe = ProbeInput.of(source)
    found = [f for f in FORMATS if f.signature is not None and f.signature(probe)]
    if len(found) > 1:
        names = ", ".join(f.name for f in found)
        raise ImageRefused(
            f"content matches several formats ({names}): a polyglot image is refused"
        )
    fmt = found[0] if found else RAW
    if fmt.refusal is not None:
        raise UnsupportedFormat(fmt.refusal)
    note = probe.notes[0] if probe.notes and fmt is RAW else None
    return Detection(format=fmt.name, extension_suggests=suggests, note=note)
