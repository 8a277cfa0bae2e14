"""Hypervisor package files against dpkg's recorded md5sums; dpkg --verify is the oracle."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from vmguard.host.facts import gather_host_facts
from vmguard.host.root import HostRoot

from .findings import by_rule


def _dpkg_verify(root: Path) -> set[str]:
    """Paths dpkg itself reports as changed or missing under ``root``."""
    run = subprocess.run(
        ["dpkg", f"--root={root}", "--verify"], capture_output=True, text=True, check=False
    )
    return {m.group(1) for m in re.finditer(r"^\S+\s+(?:c\s+)?(/\S+)$", run.stdout, re.M)}


def test_modified_binary_and_missing_file_match_dpkg(weak: Path) -> None:
    ours = {f.location.path for f in by_rule(weak, "host.package-file-modified")}
    ours |= {f.location.path for f in by_rule(weak, "host.package-file-missing")}
    ours |= {f.location.path for f in by_rule(weak, "host.package-config-changed")}
    assert ours == {
        "/usr/bin/qemu-system-x86_64",
        "/usr/share/qemu/firmware/60-edk2-x86_64.json",
        "/etc/libvirt/qemu.conf",
        "/etc/libvirt/libvirtd.conf",
    }
    assert ours == _dpkg_verify(weak)
    [binary] = by_rule(weak, "host.package-file-modified")
    assert "package qemu-system-x86" in binary.evidence


def test_unmodified_packages_verify_clean(hardened: Path) -> None:
    facts = gather_host_facts(HostRoot(hardened))
    assert facts.verification.mismatches == ()
    assert facts.verification.checked > 100
    assert {f.package for f in facts.packages.files} == {
        "qemu-system-x86", "libvirt-daemon", "libvirt-daemon-system",
        "libvirt-daemon-driver-qemu", "ovmf",
    }  # fmt: skip
    assert _dpkg_verify(hardened) == set()
