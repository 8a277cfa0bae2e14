"""Fuzz harnesses of the guest readers added after the first campaign: application package
analyzers, the Windows registry and file checks, and the secret table's matching.

Each goes through what ``scan`` runs: the app finder's read of the files its analyzers
chose, ``gather_guest_facts`` then the Windows guest checks, the Windows credential-file
path check, and the content scanner (one yara-x pass, then the table's validators).
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from functools import cache
from typing import Any

from vmguard.checks.content import ContentScanner, compile_rules
from vmguard.checks.interface import FileContent
from vmguard.checks.winaccounts import WindowsAccounts
from vmguard.checks.winfiles import WindowsCredentialFiles
from vmguard.checks.winsettings import WindowsSettings
from vmguard.checks.winuserhives import WindowsUserHives
from vmguard.disk.guestfs import Mount, WalkEntry
from vmguard.errors import VmguardError
from vmguard.guest.apps.finder import AppPackageFinder
from vmguard.guest.inspect import gather_guest_facts
from vmguard.guest.view import GuestStat

from .memview import MemoryView

APP_PATHS = {
    "app-python": (
        "/usr/lib/python3/dist-packages/requests-2.19.1.dist-info/METADATA",
        "/usr/lib/python3/dist-packages/six-1.15.0.egg-info/PKG-INFO",
        "/usr/lib/python3/dist-packages/chardet-3.0.4.egg-info",
    ),
    "app-node": (
        "/srv/site/node_modules/lodash/package.json",
        "/srv/site/package-lock.json",
        "/srv/site/yarn.lock",
    ),
    "app-java": ("/opt/tomcat/webapps/shop.war",),
    "app-manifests": (
        "/var/lib/gems/3.1.0/specifications/bundler-2.3.7.gemspec",
        "/var/www/shop/vendor/composer/installed.json",
        "/opt/dotnetapp/ShopApi.deps.json",
    ),
    "app-binary": ("/usr/local/bin/planted",),
}
"""Where each app harness puts its input: paths the analyzers' filters pick."""
WINDOWS_HIVES = (
    "/Windows/System32/config/SAM",
    "/Windows/System32/config/SOFTWARE",
    "/Windows/System32/config/SYSTEM",
    "/Users/alice/NTUSER.DAT",
)
WINDOWS_FILES = (
    "/Windows/Panther/Unattend.xml",
    "/Windows/Panther/sysprep.inf",
    "/Windows/SYSVOL/domain/Policies/{31B2F340}/Machine/Preferences/Groups/Groups.xml",
    "/inetpub/wwwroot/web.config",
    "/Users/alice/AppData/Roaming/FileZilla/sitemanager.xml",
    "/Users/alice/Documents/server.rdp",
    "/Users/alice/AppData/Roaming/winscp.ini",
)
SECRET_PATH = "/srv/app/.env"


class _MemoryFiles:
    """What ``AppPackageFinder.read`` needs of a GuestFS: ``read_node`` over one input."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read_node(self, mount: Mount, node: Any, offset: int, length: int) -> bytes:
        return self._data[offset : offset + length]


def _apps(name: str) -> Callable[[bytes], None]:
    def harness(data: bytes) -> None:
        finder = AppPackageFinder()
        mount: Any = Mount("/", None, "fuzz input")  # type: ignore[arg-type]
        info = GuestStat(stat.S_IFREG | 0o755, len(data), 0, 0, 0, 1)
        for n, path in enumerate(APP_PATHS[name]):
            finder.consider(WalkEntry(path, info, mount, n))
        finder.read(_MemoryFiles(data))  # type: ignore[arg-type]

    return harness


def fuzz_windows_registry(data: bytes) -> None:
    """The bytes as SAM, SOFTWARE, SYSTEM and a user's NTUSER.DAT: the Windows facts, then
    every Windows guest check (accounts, auto-logon, settings, saved sessions)."""
    view = MemoryView(dict.fromkeys(WINDOWS_HIVES, data))
    facts = gather_guest_facts(view)
    for check in (WindowsAccounts(), WindowsSettings(), WindowsUserHives()):
        try:  # as scanning.py runs them: one check's error does not stop the others
            list(check.check(view, facts))
        except VmguardError:
            continue


def fuzz_windows_files(data: bytes) -> None:
    """The bytes as each Windows credential file the path check reads (answer files, GPP,
    web.config, FileZilla, RDP, WinSCP)."""
    check = WindowsCredentialFiles()
    for path in WINDOWS_FILES:
        if check.wants(path):
            list(check.check(FileContent(path, data, 0)))


@cache
def _scanner() -> ContentScanner:
    return ContentScanner(compile_rules())


def fuzz_secrets(data: bytes) -> None:
    """The content pass over one file: yara-x candidates, then the credential table's
    validators (entropy, keywords, checksums, decoding) and redaction."""
    _scanner().scan(FileContent(SECRET_PATH, data, 0))


APP_HARNESSES = {name: _apps(name) for name in APP_PATHS}
