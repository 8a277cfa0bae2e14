"""``vmguard host --profile libvirt-kvm``: every host item of the libvirt/KVM profile, on the
real Debian host roots (weak and hardened) and on the hardened root with one qemu.conf or
libvirtd.conf line changed the way an administrator would write it.

What the sources say is in each case's ``says`` (libvirt qemu.conf.in / libvirtd.conf.in
comments, drvqemu.rst, acl.rst, cgroups.rst; virt-host-validate's checks).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from vmguard.host.audit import audit_host
from vmguard.profiles.catalogue import profile_named
from vmguard.profiles.libvirt_kvm import KVM_ITEMS
from vmguard.profiles.model import ItemStatus, Scope

PROFILE = profile_named("libvirt-kvm")
HOST_ITEMS = [i.item_id for i in KVM_ITEMS if i.scope is Scope.HOST and not i.manual]

# The items the weak root's settings break (the rest it leaves as the hardened root has them).
WEAK_FAILS = {
    "KVM-01": 'qemu.conf user = "root": QEMU runs as root',
    "KVM-02": 'security_driver = "none", security_default_confined = 0',
    "KVM-03": "seccomp_sandbox = 0",
    "KVM-04": "namespaces = [ ]",
    "KVM-06": "cgroup_device_acl adds /dev/sda",
    "KVM-07": 'vnc_listen = "0.0.0.0" without TLS or a password',
    "KVM-08": "migrate_tls_force = 0",
    "KVM-10": 'listen_tcp = 1 with auth_tcp = "none"',
    "KVM-11": 'unix_sock_group = "users" with no access_drivers',
    "KVM-12": "SELinux permissive / MAC not confining QEMU",
    "KVM-13": "CPU vulnerabilities without mitigation, KSM merging guest pages",
    "KVM-14": "virt-host-validate: devices assigned without IOMMU support",
    "KVM-15": "packaged hypervisor files modified or missing (dpkg md5sums)",
}
# Lines the sources call unsafe, appended to the hardened root's files.
CHANGED = {
    "KVM-05": ("etc/libvirt/qemu.conf", "dynamic_ownership = 0\n",
               "qemu.conf.in: with dynamic_ownership off the admin must chown images by hand"),
    "KVM-06": ("etc/libvirt/qemu.conf", 'cgroup_device_acl = [ "/dev/null", "/dev/kvm", "/dev/sda" ]\n',  # noqa: E501
               "cgroups: the device ACL lists what QEMU may open besides the guest's devices"),
    "KVM-09": ("etc/libvirt/qemu.conf", "chardev_tls = 0\n",
               "qemu.conf.in: chardev_tls enables TLS for TCP character devices"),
    "KVM-11": ("etc/libvirt/libvirtd.conf", 'unix_sock_group = "users"\nunix_sock_rw_perms = "0770"\n',  # noqa: E501
               "acl.rst: without an access driver every connected user has full control"),
}  # fmt: skip


def _status(root: Path, item: str) -> ItemStatus:
    compliance = audit_host(root, PROFILE).compliance
    assert compliance is not None
    (result,) = [r for r in compliance.results if r.item_id == item]
    return result.status


def _changed_root(hardened: Path, tmp_path: Path, file: str, line: str) -> Path:
    """The hardened root, hard-linked, with ``line`` appended to a fresh copy of ``file``."""
    root = tmp_path / "root"
    shutil.copytree(hardened, root, symlinks=True, copy_function=os.link)
    target = root / file
    text = target.read_text(encoding="utf-8") + line
    target.unlink()  # never write through the link into the shared hardened root
    target.write_text(text, encoding="utf-8")
    return root


def test_every_host_item_is_covered() -> None:
    """Each judged host item has a weak-root case or a changed-line case."""
    assert sorted(set(WEAK_FAILS) | set(CHANGED)) == sorted(HOST_ITEMS)


def test_hardened_host_passes_every_judged_item(hardened: Path) -> None:
    """Debian's packaged defaults plus the hardened root's settings: no item fails."""
    compliance = audit_host(hardened, PROFILE).compliance
    assert compliance is not None
    failed = [r for r in compliance.results if r.status is ItemStatus.FAIL]
    assert failed == []
    manual = {r.item_id for r in compliance.results if r.status is ItemStatus.MANUAL}
    assert manual == {"KVM-40", "KVM-41"}


@pytest.mark.parametrize("item", sorted(WEAK_FAILS))
def test_weak_host_fails_the_item(weak: Path, item: str) -> None:
    """The weak root's setting is the one the source warns about (``WEAK_FAILS``)."""
    assert _status(weak, item) is ItemStatus.FAIL, WEAK_FAILS[item]


@pytest.mark.parametrize("item", sorted(CHANGED))
def test_changed_line_fails_the_item(hardened: Path, tmp_path: Path, item: str) -> None:
    """One line appended to the hardened root's file fails the item it belongs to."""
    file, line, says = CHANGED[item]
    assert _status(hardened, item) is ItemStatus.PASS
    assert _status(_changed_root(hardened, tmp_path, file, line), item) is ItemStatus.FAIL, says


def test_empty_cgroup_controllers_fail(hardened: Path, tmp_path: Path) -> None:
    """qemu.conf.in: cgroup_controllers = [ ] turns every controller off."""
    root = _changed_root(hardened, tmp_path, "etc/libvirt/qemu.conf", "cgroup_controllers = [ ]\n")
    assert _status(root, "KVM-06") is ItemStatus.FAIL


def test_vm_items_point_at_audit(hardened: Path) -> None:
    """Domain items are not judged by the host command: not applicable, with the command."""
    compliance = audit_host(hardened, PROFILE).compliance
    assert compliance is not None
    (result,) = [r for r in compliance.results if r.item_id == "KVM-20"]
    assert result.status is ItemStatus.NOT_APPLICABLE
    assert "vmguard audit --profile libvirt-kvm" in result.reason


def test_a_root_without_libvirt_is_not_applicable(tmp_path: Path) -> None:
    """No qemu.conf, no daemon configuration: the qemu.conf items do not apply."""
    (tmp_path / "etc").mkdir()
    assert _status(tmp_path, "KVM-01") is ItemStatus.NOT_APPLICABLE
