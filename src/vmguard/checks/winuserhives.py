"""Saved credentials in each Windows user's registry hive (``Users/<name>/NTUSER.DAT``).

PuTTY keeps proxy passwords of saved sessions in plaintext; WinSCP keeps session and
proxy passwords in a reversible obfuscation. Both are reported redacted, located by the
user's hive and the registry path of the value. Profiles and sessions are bounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from vmguard.checks.redact import redact
from vmguard.checks.winfiles import SAVED_SESSION
from vmguard.errors import VmguardError
from vmguard.findings import Area, Finding, Rule
from vmguard.guest.errors import GuestFactsError
from vmguard.guest.facts import GuestFacts
from vmguard.guest.registry import Hive, child_named, find_path
from vmguard.guest.view import GuestView

MAX_PROFILES = 500
TOOLS = (
    ("PuTTY", "Software\\SimonTatham\\PuTTY\\Sessions", ("ProxyPassword",)),
    ("WinSCP", "Software\\Martin Prikryl\\WinSCP 2\\Sessions", ("Password", "ProxyPassword")),
)


def user_hives(view: GuestView) -> Iterator[tuple[str, str]]:
    """(profile name, guest path of NTUSER.DAT) for each profile under /Users."""
    for root in ("Users", "Documents and Settings"):
        base = find_path(view, root)
        if base is None:
            continue
        try:
            names = view.list_dir(base) or []
        except VmguardError as err:
            raise GuestFactsError(base, err.diagnostics()) from err
        for name in sorted(names)[:MAX_PROFILES]:
            hive = child_named(view, f"{base}/{name}", ("ntuser.dat",))
            if hive is not None:
                yield name, hive


class UserHivesUnreadable(VmguardError):
    """Some user hives could not be read; the others were checked."""


class WindowsUserHives:
    """Saved tool credentials in user hives (``GuestCheck``)."""

    rules: tuple[Rule, ...] = ()
    """``secret.saved-session-password`` is listed by ``WindowsCredentialFiles``."""

    def check(self, view: GuestView, facts: GuestFacts) -> Iterable[Finding]:
        """Findings for every saved session password of every profile."""
        if facts.os.family != "windows":
            return
        unreadable: list[str] = []
        for profile, path in user_hives(view):
            try:
                yield from _saved_sessions(Hive(view, path), profile, path)
            except GuestFactsError as err:
                unreadable.append(err.diagnostics())
        if unreadable:
            # Raised last, so the findings of every readable profile are kept.
            raise UserHivesUnreadable("; ".join(unreadable[:5]))


def _saved_sessions(hive: Hive, profile: str, path: str) -> Iterator[Finding]:
    """Saved session passwords of PuTTY and WinSCP in one user hive."""
    for tool, key_path, values in TOOLS:
        sessions = hive.key(key_path)
        if sessions is None:
            continue
        for session in sessions.subkeys():
            for value_name in values:
                secret = session.text(value_name)
                if not secret:
                    continue
                host = session.text("HostName")[:64]
                yield SAVED_SESSION.finding(
                    f"{path}:HKU\\{profile}\\{session.path}\\{value_name}",
                    f"{tool} session {session.name[:64]} {host}: {value_name} {redact(secret)}",
                    area=Area.CONFIG,
                    secret=secret.encode("utf-8", "surrogateescape"),
                )
