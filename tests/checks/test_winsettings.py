"""Weak Windows settings: the current control set only, policies before local settings."""

from __future__ import annotations

from pathlib import Path

from guest.dirview import DirView
from vmguard.checks.winsettings import WindowsSettings
from vmguard.guest.inspect import gather_guest_facts
from windowshives import hive_from_reg

SYSTEM = "HKEY_LOCAL_MACHINE\\SYSTEM"
SOFTWARE = "HKEY_LOCAL_MACHINE\\SOFTWARE"


def _guest(tmp_path: Path, current: int, software: str = "") -> DirView:
    config = tmp_path / "Windows/System32/config"
    config.mkdir(parents=True, exist_ok=True)
    for hive in ("SYSTEM", "SOFTWARE"):
        (config / hive).unlink(missing_ok=True)
    weak = (
        f"[{SYSTEM}\\ControlSet001\\Control\\Terminal Server]\n"
        '"fDenyTSConnections"=dword:00000000\n\n'
        f"[{SYSTEM}\\ControlSet001\\Control\\Terminal Server\\WinStations\\RDP-Tcp]\n"
        '"UserAuthentication"=dword:00000000\n\n'
        f"[{SYSTEM}\\ControlSet001\\Control\\Lsa]\n"
        '"NoLMHash"=dword:00000000\n\n'
    )
    select = f'[{SYSTEM}\\Select]\n"Current"=dword:{current:08x}\n\n[{SYSTEM}\\ControlSet002]\n\n'
    hive_from_reg(config / "SYSTEM", SYSTEM, select + weak)
    hive_from_reg(
        config / "SOFTWARE",
        SOFTWARE,
        f'[{SOFTWARE}\\Microsoft\\Windows NT\\CurrentVersion]\n"ProductName"="Windows"\n\n'
        + software,
    )
    return DirView(tmp_path)


def _found(view: DirView) -> set[tuple[str, str]]:
    facts = gather_guest_facts(view)
    return {(f.rule_id, f.location.path) for f in WindowsSettings().check(view, facts)}


def test_only_the_current_control_set_counts(tmp_path: Path) -> None:
    assert _found(_guest(tmp_path, 2)) == set()
    assert _found(_guest(tmp_path, 1)) == {
        (
            "windows.rdp-without-nla",
            "HKLM\\SYSTEM\\ControlSet001\\Control\\Terminal Server\\WinStations\\RDP-Tcp"
            "\\UserAuthentication",
        ),
        ("windows.lm-hash-stored", "HKLM\\SYSTEM\\ControlSet001\\Control\\Lsa\\NoLMHash"),
    }


def test_terminal_services_policy_overrides_the_local_setting(tmp_path: Path) -> None:
    policy = f"[{SOFTWARE}\\Policies\\Microsoft\\Windows NT\\Terminal Services]\n"
    enforced = _guest(tmp_path, 1, policy + '"UserAuthentication"=dword:00000001\n\n')
    assert "windows.rdp-without-nla" not in {rule for rule, _ in _found(enforced)}
    denied = _guest(tmp_path, 1, policy + '"fDenyTSConnections"=dword:00000001\n\n')
    assert "windows.rdp-without-nla" not in {rule for rule, _ in _found(denied)}


def test_unreadable_user_hive_is_reported_and_the_others_checked(tmp_path: Path) -> None:
    import pytest

    from vmguard.checks.winuserhives import UserHivesUnreadable, WindowsUserHives

    view = _guest(tmp_path, 1)
    (tmp_path / "Users/bad").mkdir(parents=True)
    (tmp_path / "Users/bad/NTUSER.DAT").write_bytes(b"regf" + b"\xff" * 8188)
    (tmp_path / "Users/good").mkdir()
    putty = "HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions\\s1"
    hive_from_reg(
        tmp_path / "Users/good/ntuser.dat",
        "HKEY_CURRENT_USER",
        f'[{putty}]\n"HostName"="h"\n"ProxyPassword"="Pr0xy!Secret"\n\n',
    )
    found = []
    with pytest.raises(UserHivesUnreadable, match=r"/Users/bad/NTUSER\.DAT"):
        found.extend(WindowsUserHives().check(view, gather_guest_facts(view)))
    assert [f.location.path for f in found] == [
        "/Users/good/ntuser.dat:HKU\\good\\Software\\SimonTatham\\PuTTY\\Sessions\\s1"
        "\\ProxyPassword"
    ]
    assert "Pr0xy!Secret" not in found[0].evidence
