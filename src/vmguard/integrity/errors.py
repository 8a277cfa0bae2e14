"""Errors of the integrity layer.

``VerificationFailed`` and its subclasses mean "the bundle is not what was signed" (exit 1);
every other ``IntegrityError`` means the input could not be used (exit 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmguard.errors import VmguardError

if TYPE_CHECKING:
    from vmguard.integrity.changes import Change


class IntegrityError(VmguardError):
    """Base error of the integrity layer: unusable input (keys, envelopes, manifests)."""


class KeyProblem(IntegrityError):
    """A key file cannot be read, is of an unsupported type, or the passphrase is wrong."""


class EnvelopeMalformed(IntegrityError):
    """The signature file is not a well-formed, bounded DSSE envelope or in-toto statement."""


class TrustProblem(IntegrityError):
    """The trust material (public keys, CA certificates) cannot be used."""


class VerificationFailed(IntegrityError):
    """The bundle is not what a trusted key signed. Always means "do not run it"."""


class SignatureInvalid(VerificationFailed):
    """No trusted key verifies the envelope (wrong key, altered envelope, bad certificate)."""


class ManifestTooOld(VerificationFailed):
    """A validly signed manifest that is older than ``--not-before`` / ``--min-version``."""


class BundleModified(VerificationFailed):
    """The signature is valid but the bundle differs from the manifest it signs."""

    def __init__(self, message: str, changes: tuple[Change, ...]) -> None:
        super().__init__(message)
        self.changes = changes
        """What differs, disk by disk and definition by definition."""
