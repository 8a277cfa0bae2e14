"""Local accounts of a Linux guest: /etc/passwd joined with /etc/shadow.

Each malformed line is reported as a problem and skipped; the rest are still read. The
raw password field is kept on ``UserAccount.password_hash`` for weak-hash checks but
never put in a report.
"""

from __future__ import annotations

from vmguard.guest.errors import GuestFactsError, read_guest_file
from vmguard.guest.facts import Gathered, PasswordState, UserAccount, guest_text
from vmguard.guest.view import GuestView
from vmguard.problems import Problem, Stage

ACCOUNT_FILE_MAX = 2 * 1024 * 1024
"""Cap on /etc/passwd and /etc/shadow."""

MAX_ACCOUNTS = 100_000
"""Accounts read at most; more lines are reported, not parsed."""

MAX_ID = 2**32 - 1

PASSWD_PATH = "/etc/passwd"  # noqa: S105 - a path, not a password
SHADOW_PATH = "/etc/shadow"


def password_state(field: str) -> PasswordState:
    """State of a crypt(3) password field (from shadow, or passwd without shadow).

    ``""`` needs no password; ``!`` or ``*`` in front locks the account even when a hash
    follows (``passwd -l`` prepends ``!``); anything else is treated as a hash.
    """
    if field == "":
        return "empty"
    if field[0] in "!*":
        return "locked"
    return "hash"


def parse_shadow(data: bytes) -> dict[str, str]:
    """User name -> raw password field of a shadow file; the first entry of a name wins."""
    fields: dict[str, str] = {}
    for raw in data.splitlines()[:MAX_ACCOUNTS]:
        parts = raw.split(b":")
        if len(parts) < 2 or not parts[0] or raw.startswith((b"#", b"+", b"-")):
            continue
        name = guest_text(parts[0])
        fields.setdefault(name, guest_text(parts[1]))
    return fields


def _parse_id(text: bytes) -> int | None:
    """A uid/gid field, None unless it is a plain decimal in range."""
    if not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def parse_passwd(
    data: bytes, shadow: dict[str, str] | None
) -> tuple[list[UserAccount], list[Problem]]:
    """Accounts of a passwd file in file order, joined with ``parse_shadow`` output.

    ``shadow`` is None when there is no shadow file; an ``x`` password then means
    ``none``. NIS (``+``/``-``) lines and comments are skipped.
    """
    users: list[UserAccount] = []
    problems: list[Problem] = []
    lines = data.splitlines()
    if len(lines) > MAX_ACCOUNTS:
        problems.append(
            Problem(Stage.FACTS, PASSWD_PATH, f"only the first {MAX_ACCOUNTS} lines read")
        )
    for number, raw in enumerate(lines[:MAX_ACCOUNTS], start=1):
        if not raw.strip() or raw.startswith((b"#", b"+", b"-")):
            continue
        parts = raw.split(b":")
        if len(parts) != 7:
            problems.append(
                Problem(Stage.FACTS, PASSWD_PATH, f"line {number}: {len(parts)} fields, not 7")
            )
            continue
        uid, gid = _parse_id(parts[2]), _parse_id(parts[3])
        if uid is None or gid is None or not parts[0]:
            problems.append(
                Problem(Stage.FACTS, PASSWD_PATH, f"line {number}: bad name, uid or gid")
            )
            continue
        name = guest_text(parts[0])
        field = guest_text(parts[1])
        if field == "x":
            field_or_none = shadow.get(name) if shadow is not None else None
        else:
            field_or_none = field
        state: PasswordState = "none" if field_or_none is None else password_state(field_or_none)
        users.append(
            UserAccount(
                name=name,
                uid=uid,
                gid=gid,
                home=guest_text(parts[5]),
                shell=guest_text(parts[6]),
                password=state,
                password_hash=field_or_none or None,
            )
        )
    return users, problems


def read_accounts(view: GuestView) -> Gathered[tuple[UserAccount, ...]]:
    """Accounts of the guest in /etc/passwd order; unreadable files become problems."""
    problems: list[Problem] = []
    shadow: dict[str, str] | None = None
    try:
        shadow_data = read_guest_file(view, SHADOW_PATH, ACCOUNT_FILE_MAX)
        shadow = parse_shadow(shadow_data) if shadow_data is not None else None
    except GuestFactsError as err:
        problems.append(Problem(Stage.FACTS, SHADOW_PATH, err.reason))
    try:
        passwd = read_guest_file(view, PASSWD_PATH, ACCOUNT_FILE_MAX)
    except GuestFactsError as err:
        problems.append(Problem(Stage.FACTS, PASSWD_PATH, err.reason))
        passwd = None
    if passwd is None:
        return Gathered((), tuple(problems))
    users, line_problems = parse_passwd(passwd, shadow)
    return Gathered(tuple(users), tuple(problems + line_problems))
