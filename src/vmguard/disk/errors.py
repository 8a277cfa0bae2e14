"""Errors of the disk layer."""

from vmguard.errors import VmguardError


class DiskError(VmguardError):
    """Base error of the disk layer.

    ``safe_reason`` is an optional cause worded from facts the *naming* image states (never
    from the bytes, names or sizes of the file being read), so that it may still be shown
    when the error is ``withheld`` for a referenced file.
    """

    def __init__(self, *args: object, safe_reason: str | None = None) -> None:
        super().__init__(*args)
        self.safe_reason = safe_reason


class ImageRefused(DiskError):
    """The image is refused by policy: it names a host path, or asks for something unsafe."""


class HostPathRefused(ImageRefused):
    """A name the image stores does not resolve to a host file the path policy allows."""


class BackingLoop(ImageRefused):
    """A backing chain leads back to an image already in it."""


class UnsupportedFormat(DiskError):
    """The content is a format vmguard recognises but does not read (QED, VDI, ...)."""


class UnreadableFile(DiskError):
    """A host file cannot be opened or read (permissions, an I/O error, a vanished file)."""


class CorruptImage(DiskError):
    """A structure inside the image is inconsistent, truncated or out of bounds."""


class LimitExceeded(CorruptImage):
    """A structure asks for more than a parser bound allows (size, count, depth, time)."""


_WITHHELD_KINDS: tuple[tuple[type[DiskError], str], ...] = (
    (LimitExceeded, "goes past a parser limit"),
    (CorruptImage, "is corrupt or truncated"),
    (UnsupportedFormat, "is in a format vmguard does not read"),
    (BackingLoop, "leads back into its own backing chain (a loop)"),
    (HostPathRefused, "names a host file the path policy refuses (--allow-dir allows a directory)"),
    (ImageRefused, "is refused"),
    (UnreadableFile, "cannot be read"),
)


def withheld(err: DiskError, what: str) -> DiskError:
    """The same kind of error as ``err``, saying nothing of what the referenced file holds.

    A file an image names (a backing file, a parent, an extent) may be a neighbour's upload:
    its bytes, names and sizes must never travel back to the image's author through an error
    message. ``what`` names the reference as the *naming* image stores it (already printable).
    """
    kind = next((text for cls, text in _WITHHELD_KINDS if isinstance(err, cls)), "is unusable")
    if err.safe_reason:
        kind = f"{kind}: {err.safe_reason}"
    message = (
        f"{what} {kind} (its content is not quoted because the image named it; "
        "run vmguard inspect on that file itself for details)"
    )
    return type(err)(message, safe_reason=err.safe_reason)
