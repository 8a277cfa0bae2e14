"""Account checks: empty passwords, weak hash schemes, guessable passwords, extra UID 0.

Password guessing hashes a small built-in word list plus user-name variants with the
guest's own hash parameters (libxcrypt's crypt(3), see ``crypt3``); the attempt count is
bounded per account so a slow scheme (yescrypt, bcrypt) cannot stall a scan. Without
libxcrypt the other account checks still run and the scan's errors say guessing did not.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from vmguard.checks.crypt3 import MAX_PHRASE, CryptUnavailable, crypt
from vmguard.checks.hashcost import guess_cost
from vmguard.errors import VmguardError
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
    rationale=(
        "An account with an empty password logs in without any secret at all, wherever a service "
        "accepts password logins."
    ),
)
WEAK_HASH = Rule(
    "account.weak-hash",
    "Password hashed with an obsolete scheme",
    Severity.HIGH,
    _WEAK,
    "Re-set the password so it is stored with yescrypt or SHA-512 (ENCRYPT_METHOD in "
    "/etc/login.defs); DES and MD5 crypt are cracked in minutes.",
    rationale=(
        "Obsolete schemes (DES crypt, MD5 crypt, unsalted hashes) fall to commodity cracking "
        "hardware in minutes to days, and the hash ships with every copy of the image."
    ),
)
GUESSABLE = Rule(
    "account.guessable-password",
    "Password found in a common-password list",
    Severity.CRITICAL,
    _WEAK,
    "Set a strong unique password, or lock password login for the account.",
    rationale=(
        "A password from a common-password list is the first thing any brute-force attempt tries; "
        "every instance of the image accepts it."
    ),
)
EXTRA_UID0 = Rule(
    "account.extra-uid0",
    "Additional account with UID 0",
    Severity.HIGH,
    _WEAK,
    "Remove the account or give it an unprivileged UID: a second UID 0 is a root backdoor.",
    rationale=(
        "Any account with user id 0 is root under another name: a classic backdoor, and easy to "
        "overlook in an account list."
    ),
)

_MAX_GUESSES = 400
GUESS_BUDGET_MS = 3000.0
"""Estimated hashing time one account may cost (``hashcost``): 400 guesses at SHA-512's
default 5,000 rounds, about 200 at yescrypt's default, none at a hostile cost."""


class PasswordsNotGuessed(VmguardError):
    """Some accounts' passwords were not tried against the word list (listed in errors)."""


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
        if len(w.encode()) < MAX_PHRASE:  # libxcrypt takes no longer phrase
            seen.setdefault(w, None)
    return list(seen)[:_MAX_GUESSES]


def guess_limit(hash_: str) -> int:
    """How many guesses the account's hash setting allows within ``GUESS_BUDGET_MS``."""
    cost = guess_cost(hash_)
    if cost is None:
        return 0
    return min(_MAX_GUESSES, int(GUESS_BUDGET_MS // cost))


def scheme_of(hash_: str) -> str:
    """Name of a crypt(3) hash scheme ("DES" for the 13-character traditional form)."""
    if hash_.startswith("$"):
        return _SCHEMES.get(hash_.split("$")[1], "unknown")
    if len(hash_) == 13:
        return "DES"
    return "unknown"


def guess_password(user: UserAccount, words: list[str], limit: int = _MAX_GUESSES) -> str | None:
    """The word-list password that matches the account's hash, if any, in at most
    ``limit`` guesses (raises ``CryptUnavailable`` without libxcrypt)."""
    hash_ = user.password_hash or ""
    for candidate in _candidates(user, words)[:limit]:
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
        if facts.os.family == "windows":
            return  # SAM accounts: vmguard.checks.winaccounts
        words = _words()
        unavailable: CryptUnavailable | None = None
        too_costly: list[str] = []
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
            limit = guess_limit(user.password_hash)
            if limit == 0:
                too_costly.append(user.name)
                continue
            if unavailable is not None:
                continue
            try:
                found = guess_password(user, words, limit)
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
        problems = []
        if unavailable is not None:
            problems.append(f"passwords not guessed: {unavailable.diagnostics()}")
        if too_costly:
            names = ", ".join(too_costly[:10]) + (" ..." if len(too_costly) > 10 else "")
            problems.append(
                f"passwords of {names} not guessed: hash settings of unknown scheme or beyond "
                f"the guessing budget ({GUESS_BUDGET_MS / 1000:.0f} s, 64 MiB per guess)"
            )
        if problems:
            raise PasswordsNotGuessed("; ".join(problems))
