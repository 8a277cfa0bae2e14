"""The added harnesses' seeds reach what they are there for: a LUKS seed unlocks, a
BitLocker seed is named, an app seed yields packages, a Windows or secret seed yields
findings. A harness whose seeds stop at the first check would fuzz nothing deeper."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vmguard.checks.interface import FileContent
from vmguard.checks.winaccounts import WindowsAccounts
from vmguard.checks.winfiles import WindowsCredentialFiles
from vmguard.checks.winsettings import WindowsSettings
from vmguard.checks.winuserhives import WindowsUserHives
from vmguard.disk.guestfs import Mount, WalkEntry
from vmguard.disk.limits import DEFAULT_LIMITS
from vmguard.disk.volumes.luks_unlock import VolumeSecret
from vmguard.disk.volumes.scan import scan_volumes
from vmguard.errors import VmguardError
from vmguard.guest.apps.finder import AppPackageFinder
from vmguard.guest.inspect import gather_guest_facts
from vmguard.guest.view import GuestStat

from .diskharnesses import PASSPHRASE
from .guestharnesses import APP_PATHS, SECRET_PATH, WINDOWS_FILES, WINDOWS_HIVES, _scanner
from .memview import MemoryView
from .packed import PackedSource
from .seeds import seed_dir, seeds

CACHE = Path(__file__).resolve().parents[2] / ".fuzz" / "seeds"


def _built(name: str) -> list[bytes]:
    if (seed_dir(CACHE, name) / ".unavailable").exists():
        pytest.skip((seed_dir(CACHE, name) / ".unavailable").read_text())
    return seeds(CACHE, name)


def test_luks_seeds_unlock_and_bitlocker_seeds_are_named() -> None:
    secret = (VolumeSecret(PASSPHRASE),)
    for data in _built("luks-unlock"):
        layout = scan_volumes(PackedSource(data), limits=DEFAULT_LIMITS, secrets=secret)
        assert [v.unlocked for v in layout.volumes] == [True], layout.problems
    for data in _built("bitlocker"):
        layout = scan_volumes(PackedSource(data), limits=DEFAULT_LIMITS)
        assert [v.encryption for v in layout.volumes] == ["bitlocker"]


@pytest.mark.parametrize("name", sorted(APP_PATHS))
def test_app_seeds_yield_packages(name: str) -> None:
    """Most seeds name packages (a Debian jar without Maven metadata names none)."""
    inputs, yielding = _built(name), 0
    for data in inputs:
        finder = AppPackageFinder()
        info = GuestStat(stat.S_IFREG | 0o755, len(data), 0, 0, 0, 1)
        for n, path in enumerate(APP_PATHS[name]):
            finder.consider(WalkEntry(path, info, Mount("/", None, "seed"), n))  # type: ignore[arg-type]
        found = finder.read(_Files(data))  # type: ignore[arg-type]
        yielding += bool(found.value)
    assert yielding > len(inputs) // 2, (name, yielding, len(inputs))


class _Files:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read_node(self, mount: object, node: object, offset: int, length: int) -> bytes:
        return self.data[offset : offset + length]


def test_windows_and_secret_seeds_yield_findings() -> None:
    rules: set[str] = set()
    for data in _built("windows-registry"):
        view = MemoryView(dict.fromkeys(WINDOWS_HIVES, data))
        facts = gather_guest_facts(view)
        for check in (WindowsAccounts(), WindowsSettings(), WindowsUserHives()):
            try:
                rules |= {f.rule_id for f in check.check(view, facts)}
            except VmguardError:
                continue
    expected = {"windows.admin-blank-password", "windows.blank-password", "windows.lm-hash-stored",
                "windows.rdp-without-nla", "secret.windows-autologon",
                "secret.saved-session-password"}  # fmt: skip
    assert expected <= rules, rules
    check = WindowsCredentialFiles()
    files = _built("windows-files")
    found = [f for d in files for p in WINDOWS_FILES for f in check.check(FileContent(p, d, 0))]
    assert len({f.rule_id for f in found}) == 4, found
    secrets = _built("secrets")
    hits = sum(bool(_scanner().scan(FileContent(SECRET_PATH, d, 0))) for d in secrets)
    assert hits == len(secrets)
