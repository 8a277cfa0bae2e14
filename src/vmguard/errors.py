"""The root of every error vmguard raises on purpose.

Only ``vmguard.cli`` turns these into exit codes; library code raises them with a message a
user can act on and chains the cause with ``raise ... from err``. A message may carry text
from untrusted input, so ``diagnostics()`` is the one place that makes it safe to print:
one line, no control characters, bounded in length.
"""

MAX_MESSAGE = 1000
"""Characters of a message shown; the rest is cut (an input must not flood a terminal)."""


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` as one printable line of at most about ``limit`` characters: whitespace runs
    collapsed, other control characters escaped, the tail beyond ``limit`` cut."""
    joined = " ".join(text.split())
    shown = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in joined
    )
    if len(shown) > limit:
        return f"{shown[:limit]}... (cut at {limit} characters)"
    return shown


class VmguardError(Exception):
    """An error with a one-line message meant for the user."""

    def diagnostics(self) -> str:
        """The one-line text shown after ``vmguard: error:`` (and in reports' errors)."""
        return one_line(str(self) or type(self).__name__)
