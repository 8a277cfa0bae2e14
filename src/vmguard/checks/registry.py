"""The built-in image checks, listed explicitly in one place (no discovery, no import side
effects). ``vmguard.rulebook`` gathers their rules with every other command's and refuses
duplicate ids.
"""

from __future__ import annotations

from vmguard.checks.accounts import AccountChecks
from vmguard.checks.content import HOST_KEY_RULE
from vmguard.checks.credfiles import CredentialFiles
from vmguard.checks.interface import GuestCheck, PathCheck
from vmguard.checks.memartefacts import MemoryArtefacts
from vmguard.checks.permissions import MetadataChecks
from vmguard.checks.secrets.patterns import SECRET_PATTERNS
from vmguard.checks.sshd import SshdChecks
from vmguard.checks.sshkeys import AuthorizedKeys
from vmguard.checks.sudoers import SudoersChecks
from vmguard.checks.winaccounts import WindowsAccounts
from vmguard.checks.winfiles import WindowsCredentialFiles
from vmguard.checks.winsettings import WindowsSettings
from vmguard.checks.winuserhives import WindowsUserHives
from vmguard.findings import Rule


def guest_checks() -> tuple[GuestCheck, ...]:
    """Checks of the guest as a whole."""
    return (
        AccountChecks(),
        SshdChecks(),
        SudoersChecks(),
        WindowsAccounts(),
        WindowsSettings(),
        WindowsUserHives(),
    )


def path_checks() -> tuple[PathCheck, ...]:
    """Checks of files chosen by path."""
    return (CredentialFiles(), AuthorizedKeys(), WindowsCredentialFiles())


def all_rules() -> tuple[Rule, ...]:
    """Every built-in image rule, for documentation and SARIF rule tables."""
    rules: list[Rule] = [p.rule for p in SECRET_PATTERNS]
    rules.append(HOST_KEY_RULE)
    for guest_check in guest_checks():
        rules.extend(guest_check.rules)
    for path_check in path_checks():
        rules.extend(path_check.rules)
    rules.extend(MetadataChecks().rules)
    rules.extend(MemoryArtefacts().rules)
    return tuple(rules)
