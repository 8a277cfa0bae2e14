"""The root of every error vmguard raises on purpose.

Only ``vmguard.cli`` turns these into exit codes; library code raises them with a message a
user can act on and chains the cause with ``raise ... from err``.
"""


class VmguardError(Exception):
    """An error with a one-line message meant for the user."""

    def diagnostics(self) -> str:
        """The one-line text shown after ``vmguard: error:``."""
        text = str(self) or type(self).__name__
        return " ".join(text.split())
