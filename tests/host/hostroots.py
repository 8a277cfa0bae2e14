"""Host roots built as directory trees from real Debian packages, for the host tests.

``apt-get download`` fetches qemu-system-x86, libvirt-daemon, libvirt-daemon-system,
libvirt-daemon-driver-qemu and ovmf (cached between runs); ``dpkg-deb -x`` unpacks them
into the root with their real ``md5sums`` under /var/lib/dpkg/info and a dpkg status entry
built from each package's control fields and conffiles. /sys and /proc facts are files
written the way the kernel words them. ``hardened_root`` has nothing at medium or above;
``weak_root`` makes every host check fire.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from guestimages import cached

PACKAGES = (
    "qemu-system-x86",
    "libvirt-daemon",
    "libvirt-daemon-system",
    "libvirt-daemon-driver-qemu",
    "ovmf",
)
QEMU_UID = 64055
KVM_GID = 994
UUID = "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"


def _run(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, cwd=cwd).stdout


def _download(work: Path) -> None:
    _run("apt-get", "download", *PACKAGES, cwd=work)
    tree = work / "tree"
    status = []
    for deb in sorted(work.glob("*.deb")):
        _run("dpkg-deb", "-x", str(deb), str(tree))
        control = work / "control" / deb.stem
        control.parent.mkdir(exist_ok=True)
        _run("dpkg-deb", "-e", str(deb), str(control))
        name = _run("dpkg-deb", "-f", str(deb), "Package").strip()
        info = tree / "var/lib/dpkg/info"
        info.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(control / "md5sums", info / f"{name}.md5sums")
        fields = (control / "control").read_text()
        paragraph = fields.replace("\n", "\nStatus: install ok installed\n", 1)
        members = _run("dpkg-deb", "-c", str(deb)).splitlines()
        listed = ["/."] + [
            "/" + line.split()[5].removeprefix("./").rstrip("/")
            for line in members
            if line.split()[5] != "./"
        ]
        (info / f"{name}.list").write_text("\n".join(listed) + "\n")
        conffiles = control / "conffiles"
        if conffiles.exists():
            lines = [
                f" {path} {hashlib.md5((tree / path.lstrip('/')).read_bytes()).hexdigest()}"
                for path in conffiles.read_text().split()
                if (tree / path.lstrip("/")).is_file()
            ]
            paragraph += "Conffiles:\n" + "\n".join(lines) + "\n"
        status.append(paragraph)
    (tree / "var/lib/dpkg/status").write_text("\n".join(status))


def package_tree() -> Path:
    """The unpacked packages with their dpkg database (cached; do not modify)."""
    return cached("host-packages-v2", _download) / "tree"


def _write(root: Path, path: str, text: str | bytes, mode: int = 0o644) -> Path:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text)
    target.chmod(mode)
    return target


def _domain(name: str, disk: str, *, hostdev: bool = False, nosharepages: bool = True) -> str:
    memory = "<memoryBacking><nosharepages/></memoryBacking>" if nosharepages else ""
    passthrough = (
        "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
        "<address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source></hostdev>"
        if hostdev
        else ""
    )
    return (
        f"<domain type='kvm'><name>{name}</name><uuid>{UUID}</uuid>"
        f"<memory unit='KiB'>1048576</memory>{memory}<os><type arch='x86_64' machine='q35'>"
        f"hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' "
        f"type='qcow2'/><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>"
        f"{passthrough}</devices></domain>\n"
    )


def _image(root: Path, path: str, mode: int, uid: int, gid: int) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    _run("qemu-img", "create", "-q", "-f", "qcow2", str(target), "64M")
    target.chmod(mode)
    os.chown(target, uid, gid)


def _common(root: Path) -> None:
    shutil.copytree(package_tree(), root, symlinks=True, dirs_exist_ok=True)
    _write(
        root,
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\n"
        f"libvirt-qemu:x:{QEMU_UID}:{KVM_GID}:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\n"
        "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n",
    )
    _write(
        root,
        "/etc/group",
        f"root:x:0:\nkvm:x:{KVM_GID}:\nlibvirt:x:995:alice\nalice:x:1000:\nusers:x:100:\n",
    )
    _write(root, "/etc/hostname", "hv01\n")
    _write(root, "/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-amd64 root=/dev/sda1 ro\n")
    _write(root, "/sys/kernel/mm/ksm/pages_sharing", "0\n")


def hardened_root(root: Path) -> Path:
    """Debian's own configuration, private images, mitigated CPU, MAC enforcing."""
    _common(root)
    _image(root, "/var/lib/libvirt/images/web.qcow2", 0o600, QEMU_UID, KVM_GID)
    _write(
        root,
        "/etc/libvirt/qemu/web.xml",
        _domain("web", "/var/lib/libvirt/images/web.qcow2"),
        0o600,
    )
    vulns = "/sys/devices/system/cpu/vulnerabilities"
    _write(root, f"{vulns}/meltdown", "Not affected\n")
    _write(
        root, f"{vulns}/spectre_v2", "Mitigation: Enhanced / Automatic IBRS; IBPB: conditional\n"
    )
    _write(root, f"{vulns}/l1tf", "Not affected\n")
    _write(root, "/sys/devices/system/cpu/smt/control", "off\n")
    _write(root, "/sys/devices/system/cpu/smt/active", "0\n")
    _write(root, "/sys/kernel/mm/ksm/run", "0\n")
    _write(root, "/sys/kernel/iommu_groups/0/type", "DMA\n")
    _write(root, "/sys/class/iommu/dmar0/name", "dmar0\n")
    _write(root, "/sys/module/apparmor/parameters/enabled", "Y\n")
    _write(
        root,
        "/sys/kernel/security/apparmor/profiles",
        f"libvirt-{UUID} (enforce)\nlibvirtd (enforce)\n/usr/sbin/libvirtd (enforce)\n",
    )
    _process(root, 4242, QEMU_UID, f"libvirt-{UUID} (enforce)")
    return root


def _process(root: Path, pid: int, uid: int, label: str) -> None:
    _write(root, f"/proc/{pid}/comm", "qemu-system-x86\n")
    _write(
        root, f"/proc/{pid}/status", f"Name:\tqemu-system-x86\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
    )
    _write(root, f"/proc/{pid}/attr/current", label + "\n")


WEAK_QEMU_CONF = """
user = "root"
group = "root"
security_driver = "none"
security_default_confined = 0
seccomp_sandbox = 0
namespaces = [ ]
vnc_listen = "0.0.0.0"
spice_listen = "::"
spice_password = "hunter2-secret"
migrate_tls_force = 0
relaxed_acs_check = 1
sched_core = "none"
stdio_handler = "file"
dump_guest_core = 1
cgroup_device_acl = [ "/dev/null", "/dev/kvm", "/dev/sda" ]
"""
WEAK_LIBVIRTD_CONF = """
listen_tcp = 1
auth_tcp = "none"
listen_tls = 1
tls_no_verify_certificate = 1
unix_sock_rw_perms = "0777"
unix_sock_group = "users"
auth_unix_rw = "none"
"""


def weak_root(root: Path) -> Path:
    """Every weakness the host checks know, on top of the same real packages."""
    _common(root)
    with open(root / "etc/libvirt/qemu.conf", "a") as conf:
        conf.write(WEAK_QEMU_CONF)
    with open(root / "etc/libvirt/libvirtd.conf", "a") as conf:
        conf.write(WEAK_LIBVIRTD_CONF)
    _image(root, "/var/lib/libvirt/images/web.qcow2", 0o666, 1000, 1000)
    _image(root, "/var/lib/libvirt/images/old.qcow2", 0o640, 1000, 100)
    _image(root, "/srv/vms/db.qcow2", 0o600, QEMU_UID, KVM_GID)
    _write(
        root,
        "/etc/libvirt/qemu/web.xml",
        _domain("web", "/var/lib/libvirt/images/web.qcow2", hostdev=True, nosharepages=False),
        0o666,
    )
    _write(root, "/srv/defs/db.xml", _domain("db", "/srv/vms/db.qcow2"), 0o600)
    (root / "etc/libvirt/qemu/db.xml").symlink_to("/srv/defs/db.xml")
    vulns = "/sys/devices/system/cpu/vulnerabilities"
    _write(root, f"{vulns}/spec_store_bypass", "Vulnerable\n")
    _write(
        root,
        f"{vulns}/l1tf",
        "Mitigation: PTE Inversion; VMX: conditional cache flushes, SMT vulnerable\n",
    )
    _write(root, f"{vulns}/meltdown", "Not affected\n")
    _write(root, "/sys/devices/system/cpu/smt/control", "on\n")
    _write(root, "/sys/devices/system/cpu/smt/active", "1\n")
    _write(root, "/sys/kernel/mm/ksm/run", "1\n")
    _write(root, "/sys/kernel/mm/ksm/pages_sharing", "81234\n")
    (root / "sys/kernel/iommu_groups").mkdir(parents=True)
    (root / "sys/bus/pci/drivers/vfio-pci").mkdir(parents=True)
    (root / "sys/bus/pci/drivers/vfio-pci/0000:03:00.0").symlink_to(
        "../../../../devices/pci0000:00/0000:03:00.0"
    )
    _write(root, "/sys/fs/selinux/enforce", "0")
    _write(root, "/etc/selinux/config", "SELINUX=permissive\nSELINUXTYPE=targeted\n")
    _process(root, 4242, 0, "unconfined_u:unconfined_r:unconfined_t:s0")
    qemu = root / "usr/bin/qemu-system-x86_64"
    data = bytearray(qemu.read_bytes())
    data[0x12345] ^= 0x01
    qemu.unlink()
    qemu.write_bytes(bytes(data))
    (root / "usr/share/qemu/firmware/60-edk2-x86_64.json").unlink()
    return root


def apparmor_variant(root: Path) -> Path:
    """The weak root with AppArmor instead of SELinux: a disabled and a complaining profile."""
    shutil.rmtree(root / "sys/fs/selinux")
    (root / "etc/selinux/config").unlink()
    _write(root, "/sys/module/apparmor/parameters/enabled", "Y\n")
    _write(root, "/sys/kernel/security/apparmor/profiles", f"libvirt-{UUID} (complain)\n")
    disabled = root / "etc/apparmor.d/disable"
    disabled.mkdir(parents=True, exist_ok=True)
    (disabled / "usr.sbin.libvirtd").symlink_to("/etc/apparmor.d/usr.sbin.libvirtd")
    _process(root, 4242, QEMU_UID, f"libvirt-{UUID} (complain)")
    return root
