"""Windows account checks (from the SAM facts) and the Winlogon auto-logon password.

Accounts: the Guest account enabled, the built-in Administrator (RID 500) enabled with a
blank password, and any other enabled local account with a blank password. Winlogon's
DefaultPassword is a plaintext password in the SOFTWARE hive, readable by anyone who gets
the disk; it is reported redacted, with or without AutoAdminLogon set.
"""

from __future__ import annotations

from collections.abc import Iterable

from vmguard.checks.redact import redact
from vmguard.checks.winsettings import registry_path
from vmguard.findings import Area, Finding, Rule, SecretKind, Severity, Threat
from vmguard.guest.facts import GuestFacts
from vmguard.guest.view import GuestView
from vmguard.guest.windows import open_system_hive

_USERS = "SAM\\Domains\\Account\\Users"
_REF = "https://learn.microsoft.com/en-us/windows/security/identity-protection/access-control/local-accounts"
GUEST_ENABLED = Rule(
    "windows.guest-enabled",
    "Guest account enabled",
    Severity.HIGH,
    Threat.WEAK_CONFIGURATION,
    "Disable the Guest account (net user Guest /active:no); it logs in without a password.",
    (_REF,),
    rationale=(
        "The Guest account lets anyone log on without credentials of their own, locally and often "
        "over the network."
    ),
)
ADMIN_BLANK = Rule(
    "windows.admin-blank-password",
    "Built-in Administrator enabled with a blank password",
    Severity.CRITICAL,
    Threat.WEAK_CONFIGURATION,
    "Disable the built-in Administrator or give it a strong, unique password (LAPS).",
    (_REF,),
    rationale=(
        "The built-in Administrator has a well-known name and full control: with a blank password "
        "anyone who reaches a logon prompt owns the machine."
    ),
)
BLANK_PASSWORD = Rule(
    "windows.blank-password",
    "Enabled local account with a blank password",
    Severity.HIGH,
    Threat.WEAK_CONFIGURATION,
    "Set a strong password on the account or disable it before publishing the image.",
    (_REF,),
    rationale=(
        "An enabled account with a blank password logs in with no secret wherever blank passwords "
        "are accepted."
    ),
)
AUTOLOGON = Rule(
    "secret.windows-autologon",
    "Plaintext auto-logon password in the registry (Winlogon DefaultPassword)",
    Severity.HIGH,
    Threat.IMAGE_EXPOSURE,
    "Delete Winlogon\\DefaultPassword, set AutoAdminLogon=0, and change the password: it "
    "is stored in cleartext in the SOFTWARE hive.",
    (
        "https://learn.microsoft.com/en-us/troubleshoot/windows-server/user-profiles-and-logon/turn-on-automatic-logon",
    ),
    rationale=(
        "The auto-logon password sits in the registry in plain text, readable by anyone who mounts "
        "the image."
    ),
    shares=SecretKind.CREDENTIAL,
)
WINLOGON = "Microsoft\\Windows NT\\CurrentVersion\\Winlogon"


class WindowsAccounts:
    """Account and auto-logon checks of a Windows guest (``GuestCheck``)."""

    rules: tuple[Rule, ...] = (GUEST_ENABLED, ADMIN_BLANK, BLANK_PASSWORD, AUTOLOGON)

    def check(self, view: GuestView, facts: GuestFacts) -> Iterable[Finding]:
        """Findings for SAM accounts and Winlogon."""
        if facts.os.family != "windows":
            return
        for user in facts.users:
            if user.disabled is not False:
                continue
            where = registry_path("SAM", f"{_USERS}\\{user.uid:08X}")
            who = f"{user.name} (RID {user.uid})"
            if user.uid == 501:
                yield GUEST_ENABLED.finding(where, f"{who} is enabled", area=Area.CONFIG)
            elif user.password == "empty" and user.uid == 500:  # noqa: S105 - a state
                yield ADMIN_BLANK.finding(
                    where, f"{who}: enabled, blank password", area=Area.CONFIG
                )
            elif user.password == "empty":  # noqa: S105 - a state name
                yield BLANK_PASSWORD.finding(
                    where, f"{who}: enabled, blank password", area=Area.CONFIG
                )
        software = open_system_hive(view, "SOFTWARE")
        key = software.key(WINLOGON) if software is not None else None
        if key is None:
            return
        password = key.text("DefaultPassword")
        if password:
            logon_user = key.text("DefaultUserName")
            auto = key.text("AutoAdminLogon") or str(key.number("AutoAdminLogon") or "")
            yield AUTOLOGON.finding(
                registry_path("SOFTWARE", WINLOGON, "DefaultPassword"),
                f"AutoAdminLogon={auto or 'unset'} DefaultUserName={logon_user[:64]}: "
                f"{redact(password)}",
                area=Area.CONFIG,
                secret=password.encode("utf-8", "surrogateescape"),
            )
