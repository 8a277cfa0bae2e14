"""rpm-based hosts: a real package built by rpmbuild and installed by rpm into the root;
``rpm -V --root`` is the oracle for what changed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from vmguard.host.facts import gather_host_facts
from vmguard.host.root import HostRoot

from .findings import by_rule

SPEC = """Name: qemu-kvm
Version: 8.2.0
Release: 1
Summary: vmguard test hypervisor
License: GPL-2.0
BuildArch: noarch
%description
A package standing in for RHEL's qemu-kvm.
%install
mkdir -p %{buildroot}/usr/libexec %{buildroot}/etc/qemu-kvm
head -c 300000 /dev/urandom > %{buildroot}/usr/libexec/qemu-kvm
echo 'allow virbr0' > %{buildroot}/etc/qemu-kvm/bridge.conf
%files
/usr/libexec/qemu-kvm
%config(noreplace) /etc/qemu-kvm/bridge.conf
"""


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def rpm_root(tmp_path: Path) -> Path:
    for tool in ("rpm", "rpmbuild"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (Debian package: rpm)")
    (tmp_path / "qemu-kvm.spec").write_text(SPEC)
    _run("rpmbuild", "-bb", "--quiet", "--define", f"_topdir {tmp_path / 'top'}",
         "--define", f"_rpmdir {tmp_path / 'out'}", str(tmp_path / "qemu-kvm.spec"))  # fmt: skip
    root = tmp_path / "root"
    root.mkdir()
    sqlite = ("--define", "_db_backend sqlite", "--define", "_dbpath /var/lib/rpm")
    _run("rpm", "--root", str(root), *sqlite, "--initdb")
    [package] = (tmp_path / "out/noarch").glob("*.rpm")
    _run("rpm", "--root", str(root), *sqlite, "-i", "--nodeps", "--noscripts", str(package))
    return root


def _rpm_verify(root: Path) -> set[str]:
    out = subprocess.run(
        ["rpm", "--root", str(root), "--define", "_dbpath /var/lib/rpm", "-V", "qemu-kvm"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return {
        m.group(2)
        for m in re.finditer(r"^(\S+)\s+(?:c\s+)?(/\S+)$", out, re.M)
        if "5" in m.group(1) or m.group(1) == "missing"
    }


def test_rpm_file_digests_are_read_and_checked(rpm_root: Path) -> None:
    facts = gather_host_facts(HostRoot(rpm_root))
    assert facts.packages.manager == "rpm"
    assert {(f.path, f.algorithm, f.config) for f in facts.packages.files} == {
        ("/usr/libexec/qemu-kvm", "sha256", False),
        ("/etc/qemu-kvm/bridge.conf", "sha256", True),
    }
    assert facts.verification.mismatches == () and _rpm_verify(rpm_root) == set()
    binary = rpm_root / "usr/libexec/qemu-kvm"
    data = bytearray(binary.read_bytes())
    data[1000] ^= 0x01
    binary.write_bytes(bytes(data))
    (rpm_root / "etc/qemu-kvm/bridge.conf").write_text("allow all\n")
    assert [f.location.path for f in by_rule(rpm_root, "host.package-file-modified")] == [
        "/usr/libexec/qemu-kvm"
    ]
    assert [f.location.path for f in by_rule(rpm_root, "host.package-config-changed")] == [
        "/etc/qemu-kvm/bridge.conf"
    ]
    assert _rpm_verify(rpm_root) == {"/usr/libexec/qemu-kvm", "/etc/qemu-kvm/bridge.conf"}
