"""Installed programs and services against ``hivexregedit --export`` of the same hives."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from vmguard.guest.errors import GuestFactsError
from vmguard.guest.inspect import gather_guest_facts
from windowshives import merge_reg, reg_hex
from windowsplanted import build_tree

from .dirview import DirView


def _export(hive: Path, prefix: str, key: str) -> str:
    return subprocess.run(
        ["hivexregedit", "--export", "--prefix", prefix, str(hive), key],
        capture_output=True,
        check=True,
        text=True,
    ).stdout


def _export_keys(text: str) -> dict[str, dict[str, str]]:
    """Key path -> string/dword values, from hivexregedit's regedit text."""
    keys: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("["):
            current = keys.setdefault(line.strip("[]"), {})
        m = re.match(r'^"([^"]+)"=(?:hex\([12]\):([0-9a-f,]*)|dword:([0-9a-f]{8}))$', line)
        if m and m.group(2) is not None:
            raw = bytes.fromhex(m.group(2).replace(",", ""))
            current[m.group(1)] = raw.decode("utf-16-le").rstrip("\0")
        elif m:
            current[m.group(1)] = str(int(m.group(3), 16))
    return keys


def test_programs_and_services_match_hivex(tmp_path: Path) -> None:
    root = build_tree(tmp_path / "guest")
    facts = gather_guest_facts(DirView(root))
    assert facts.problems == ()
    software = root / "Windows/System32/config/SOFTWARE"
    expected = set()
    for key in (
        "\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
        "\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
    ):
        arch = "i386" if "WOW6432Node" in key else "x86_64"
        exported = _export(software, "HKEY_LOCAL_MACHINE\\SOFTWARE", key)
        for values in _export_keys(exported).values():
            if values.get("DisplayName"):
                expected.add(
                    (values["DisplayName"], values["DisplayVersion"], values["Publisher"], arch)
                )
    got = {(p.name, p.version, p.vendor, p.arch) for p in facts.packages}
    assert got == expected and len(got) == 2
    assert {p.manager for p in facts.packages} == {"windows"}

    system = root / "Windows/System32/config/SYSTEM"
    exported = _export_keys(
        _export(system, "HKEY_LOCAL_MACHINE\\SYSTEM", "\\ControlSet002\\Services")
    )
    starts = {"2": "automatic", "3": "manual"}
    expected_services = {
        (key.rsplit("\\", 1)[-1], starts[v["Start"]])
        for key, v in exported.items()
        if "Type" in v and int(v["Type"]) & ~0x0F
    }
    assert {(s.name, s.start) for s in facts.services} == expected_services
    assert expected_services == {("Spooler", "automatic"), ("TermService", "manual")}


def test_oversized_values_are_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # hivex refuses to write values near the real bound (1 MiB), so the bound is lowered.
    from vmguard.guest import registry

    monkeypatch.setattr(registry, "MAX_VALUE_BYTES", 4096)
    root = build_tree(tmp_path / "guest")
    software = root / "Windows/System32/config/SOFTWARE"
    key = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Huge"
    merge_reg(
        software,
        "HKEY_LOCAL_MACHINE\\SOFTWARE",
        f'[{key}]\n"DisplayName"="{"A" * 4096}"\n"Blob"={reg_hex(bytes(4097))}\n\n',
    )
    facts = gather_guest_facts(DirView(root))
    assert facts.problems == ()
    assert len(facts.packages) == 2  # the oversized name counts as absent
    entry = registry.Hive(DirView(root), "/Windows/System32/config/SOFTWARE").key(
        "Microsoft\\Windows\\CurrentVersion\\Uninstall\\Huge"
    )
    assert entry is not None
    with pytest.raises(GuestFactsError, match="too large"):
        entry.binary("Blob")
