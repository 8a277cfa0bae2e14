"""Account checks: empty passwords, weak hash schemes, guessable passwords, extra UID 0.

Password guessing hashes a small built-in word list plus user-name variants with the
guest's own hash parameters (libxcrypt's crypt(3), see ``crypt3``); the attempt count is
bounded per account so a slow scheme (yescrypt, bcrypt) cannot stall a scan. Without
libxcrypt the other account checks still run and the scan's errors say guessing did not.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from vmguard.checks.crypt3 import CryptUnavailable, crypt
from vmguard.findings import Finding, Rule, Severity, Threat
from vmguard.guest.facts import GuestFacts, UserAccount
from vmguard.guest.view import GuestView

_WEAK = Threat.WEAK_CONFIGURATION
EMPTY_PASSWORD = Rule(
    "account.empty-password",
    "Account with an empty password",
    Severity.CRITICAL,
    _WEAK,
    "Lock the account (passwd -l) or set a strong password; an empty shadow field logs in "
    "with no password at all.",
)
WEAK_HASH = Rule(
    "account.weak-hash",
    "Password hashed with an obsolete scheme",
    Severity.HIGH,
    _WEAK,
    "Re-set the password so it is stored with yescrypt or SHA-512 (ENCRYPT_METHOD in "
    "/etc/login.defs); DES and MD5 crypt are cracked in minutes.",
)
GUESSABLE = Rule(
    "account.guessable-password",
    "Password found in a common-password list",
    Severity.CRITICAL,
    _WEAK,
    "Set a strong unique password, or lock password login for the account.",
)
EXTRA_UID0 = Rule(
    "account.extra-uid0",
    "Additional account with UID 0",
    Severity.HIGH,
    _WEAK,
    "Remove the account or give it an unprivileged UID: a second UID 0 is a root backdoor.",
)

_MAX_GUESSES = 400
_SCHEMES = {
    "1": "MD5",
    "2a": "bcrypt",
    "2b": "bcrypt",
    "2y": "bcrypt",
    "5": "SHA-256",
    "6": "SHA-512",
    "y": "yescrypt",
    "gy": "gost-yescrypt",
    "7": "scrypt",
}


def _words() -> list[str]:
    text = resources.files("vmguard.data").joinpath("weak-passwords.txt").read_text()
    return [w for w in text.splitlines() if w and not w.startswith("#")]


def _candidates(user: UserAccount, words: list[str]) -> list[str]:
    name = user.name
    variants = [
        name,
        name.capitalize(),
        name.upper(),
        name + "1",
        name + "123",
        name + "!",
        name[::-1],
        name + name,
        name + "2024",
        name + "2025",
        name + "2026",
    ]
    seen: dict[str, None] = {}
    for w in variants + words:
        seen.setdefault(w, None)
    return list(seen)[:_MAX_GUESSES]


def scheme_of(hash_: str) -> str:
    """Name of a crypt(3) hash scheme ("DES" for the 13-character traditional form)."""
    if hash_.startswith("$"):
        return _SCHEMES.get(hash_.split("$")[1], "unknown")
    if len(hash_) == 13:
        return "DES"
    return "unknown"


def guess_password(user: UserAccount, words: list[str]) -> str | None:
    """The word-list password that matches the account's hash, if any (raises
    ``CryptUnavailable`` without libxcrypt)."""
    hash_ = user.password_hash or ""
    for candidate in _candidates(user, words):
        hashed = crypt(candidate, hash_)
        if hashed is None:  # a scheme or setting this libxcrypt does not take
            return None
        if hashed == hash_:
            return candidate
    return None


class AccountChecks:
    """``GuestCheck`` over /etc/passwd and /etc/shadow (already parsed into facts)."""

    rules: tuple[Rule, ...] = (EMPTY_PASSWORD, WEAK_HASH, GUESSABLE, EXTRA_UID0)

    def check(self, view: GuestView, facts: GuestFacts) -> Iterable[Finding]:
        """Findings for every local account."""
        words = _words()
        unavailable: CryptUnavailable | None = None
        for user in facts.users:
            where = "/etc/shadow"
            if user.password == "empty":  # noqa: S105 - a state name, not a password
                yield EMPTY_PASSWORD.finding(
                    where, f"user {user.name} (uid {user.uid}): empty password field"
                )
            if user.uid == 0 and user.name != "root":
                yield EXTRA_UID0.finding("/etc/passwd", f"user {user.name} has uid 0")
            if user.password != "hash" or not user.password_hash:  # noqa: S105
                continue
            scheme = scheme_of(user.password_hash)
            if scheme in ("DES", "MD5"):
                yield WEAK_HASH.finding(where, f"user {user.name}: {scheme} crypt hash")
            if unavailable is not None:
                continue
            try:
                found = guess_password(user, words)
            except CryptUnavailable as err:
                unavailable = err
                continue
            if found is not None:
                shown = found[:1] + "*" * (len(found) - 1)
                yield GUESSABLE.finding(
                    where,
                    f"user {user.name}: password is a common word-list entry "
                    f"({shown}, {len(found)} chars)",
                )
        if unavailable is not None:
            raise CryptUnavailable(f"passwords not guessed: {unavailable.diagnostics()}")
