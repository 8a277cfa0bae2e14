"""The root of every error vmguard raises on purpose.

Only ``vmguard.cli`` turns these into exit codes; library code raises them with a message a
user can act on and chains the cause with ``raise ... from err``. A message may carry text
from untrusted input, so ``diagnostics()`` shows it through ``vmguard.text.one_line``:
one line, no control characters, bounded in length.
"""

from vmguard.text import MAX_SHOWN, one_line

__all__ = ["MAX_MESSAGE", "VmguardError", "one_line"]

MAX_MESSAGE = MAX_SHOWN
"""Characters of a message shown; the rest is cut (an input must not flood a terminal)."""


class VmguardError(Exception):
    """An error with a one-line message meant for the user."""

    def diagnostics(self) -> str:
        """The one-line text shown after ``vmguard: error:`` (and in reports' errors)."""
        return one_line(str(self) or type(self).__name__)
