"""Errors of the guest-facts layer, and the one bounded read every gatherer goes through.

Nothing here opens a host path: guest files are reached only through a ``GuestView``.
"""

from __future__ import annotations

from vmguard.errors import VmguardError
from vmguard.guest.view import GuestView
from vmguard.problems import Problem, Stage


class GuestFactsError(VmguardError):
    """A guest file needed for a fact could not be read or is malformed.

    ``path`` names the guest file (empty when no single file is to blame).
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message

    def problem(self) -> Problem:
        """This error as the problem a gatherer records (stage ``FACTS``), the run going on."""
        return Problem(Stage.FACTS, self.path, self.reason)


def read_guest_file(view: GuestView, path: str, max_bytes: int) -> bytes | None:
    """Read a whole guest file of at most ``max_bytes``; None when it is absent.

    Any failure of the view (the file is too large, the filesystem below is corrupt) is
    re-raised as ``GuestFactsError`` naming ``path``, so callers handle one error type.
    """
    try:
        return view.read_file(path, max_bytes)
    except VmguardError as err:
        raise GuestFactsError(path, err.diagnostics()) from err
