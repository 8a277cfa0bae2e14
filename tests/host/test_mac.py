"""AppArmor / SELinux state and the running QEMU processes' labels and uids."""

from __future__ import annotations

import shutil
from pathlib import Path

from vmguard.findings import Severity

from .findings import by_rule, evidences


def test_selinux_permissive_unconfined_root_qemu(weak: Path) -> None:
    assert sorted(f.severity for f in by_rule(weak, "host.selinux-permissive")) == [
        Severity.HIGH,
        Severity.MEDIUM,
    ]
    assert evidences(weak, "host.vmm-unconfined") == [
        "qemu-system-x86 (pid 4242) label unconfined_u:unconfined_r:unconfined_t:s0"
    ]
    assert evidences(weak, "host.vmm-process-root") == ["qemu-system-x86 (pid 4242) uid 0"]
    assert by_rule(weak, "host.mac-off") == []


def test_apparmor_disabled_and_complaining(weak_apparmor: Path) -> None:
    assert sorted(evidences(weak_apparmor, "host.vmm-profile-disabled")) == [
        "libvirt-4dea22b3-1d52-d8f3-2516-782e98ab3fa0 (complain)",
        "profile usr.sbin.libvirtd disabled",
    ]
    assert [f.severity for f in by_rule(weak_apparmor, "host.vmm-unconfined")] == [Severity.MEDIUM]


def test_no_mac_at_all(hardened: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(hardened, root, symlinks=True)
    shutil.rmtree(root / "sys/module/apparmor")
    assert len(by_rule(root, "host.mac-off")) == 1
    assert by_rule(hardened, "host.mac-off") == []
    assert by_rule(hardened, "host.vmm-unconfined") == []
