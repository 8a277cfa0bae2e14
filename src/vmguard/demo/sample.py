"""The sample VM of ``vmguard demo``: a Debian-like guest with deliberately planted problems.

The root is assembled from this machine's own Debian files (os-release, the dpkg status
database, the dash binary), so the inventory is real, plus accounts, secrets and settings
that a careless image builder leaves behind. Nothing here needs the network.
"""

from __future__ import annotations

import os
import secrets
import shutil
import string
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from vmguard.checks.secrets.validators import github_checksum
from vmguard.demo.imagebuild import (
    ESP_TYPE,
    LINUX_TYPE,
    MiB,
    PartitionSpec,
    assemble_gpt,
    make_ext4,
    make_vfat,
    make_xfs,
    qemu_convert,
    run_tool,
)

ROOT_UUID = "3f1c9a52-7d0e-4b6a-9c1f-2e8d5b7a4c31"
HOME_UUID = "9b2e4d6f-1a3c-4e5b-8d7f-0c2a4e6b8d1f"
ESP_SERIAL = "5EED1234"
HOME_PARTUUID = "7c3e5a1b-9d2f-4b6e-a8c0-1e3f5a7b9c2d"
DISK_GUID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"

# Real crypt(3) hashes: MD5-crypt of "password" (weak scheme, weak password) and
# SHA-512-crypt of "Summer2024!" (strong scheme, guessable password).
_ROOT_HASH = "$1$vmguard1$yYoCMQHhKywPCx6tRD7dv/"
_ALICE_HASH = (
    "$6$demoSALTdemo$b3Lx.T7AHa5LUZhVn09jig9TerVgHQ40uMFIlehnN79bu0AOc4ulJmPcK"
    "MXY6xhShP.3bsgn2W6xkPMTMX3QC1"
)

LIBVIRT_XML = """<domain type='kvm'>
  <name>vmguard-sample</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{image}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='floppy'>
      <target dev='fda' bus='fdc'/>
    </disk>
    <filesystem type='mount' accessmode='passthrough'>
      <source dir='/'/>
      <target dir='hostroot'/>
    </filesystem>
    <interface type='network'>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <graphics type='vnc' port='-1' autoport='yes' listen='0.0.0.0'/>
    <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
  </devices>
</domain>
"""


@dataclass(frozen=True, slots=True)
class SampleVm:
    """The files of a built sample VM."""

    image: Path
    definition: Path


def _write(path: Path, text: str, mode: int = 0o644, owner: tuple[int, int] = (0, 0)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    os.chown(path, *owner)


def _host_file(src: str, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(src).resolve(), dst)


def _github_token() -> str:
    random_part = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(30))
    return f"ghp_{random_part}{github_checksum(random_part)}"


def _rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _ed25519_openssh() -> tuple[str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return private, public


def _root_tree(root: Path) -> None:
    for d in (
        "etc",
        "boot/efi",
        "dev",
        "home",
        "proc",
        "sys",
        "tmp",
        "var/log",
        "usr/bin",
        "usr/lib",
    ):
        (root / d).mkdir(parents=True, exist_ok=True)
    os.symlink("usr/bin", root / "bin")
    _host_file("/usr/lib/os-release", root / "usr/lib/os-release")
    os.symlink("../usr/lib/os-release", root / "etc/os-release")
    _host_file("/etc/debian_version", root / "etc/debian_version")
    # A real Debian 12 minbase package database (from debootstrap), shipped with vmguard so
    # the sample does not depend on what this machine has installed.
    status = resources.files("vmguard.data").joinpath("sample-dpkg-status").read_bytes()
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_bytes(status)
    _host_file("/usr/bin/dash", root / "usr/bin/dash")
    os.symlink("dash", root / "usr/bin/sh")
    _write(root / "etc/hostname", "vmguard-sample\n")
    _write(
        root / "etc/fstab",
        f"UUID={ROOT_UUID} / ext4 errors=remount-ro 0 1\n"
        f"PARTUUID={HOME_PARTUUID} /home xfs defaults 0 2\n"
        f"UUID={ESP_SERIAL[:4]}-{ESP_SERIAL[4:]} /boot/efi vfat umask=0077 0 1\n",
    )
    _write(
        root / "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "toor:x:0:0:backdoor:/root:/bin/sh\n"
        "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n"
        "build:x:1001:1001::/home/build:/bin/bash\n",
    )
    _write(
        root / "etc/shadow",
        f"root:{_ROOT_HASH}:20000:0:99999:7:::\n"
        "daemon:*:20000:0:99999:7:::\n"
        "toor::20000:0:99999:7:::\n"
        f"alice:{_ALICE_HASH}:20000:0:99999:7:::\n"
        "build:!:20000:0:99999:7:::\n",
        0o640,
    )
    _write(root / "etc/group", "root:x:0:\nalice:x:1000:\nbuild:x:1001:\nsudo:x:27:alice\n")
    _write(
        root / "etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nPasswordAuthentication yes\n",
    )
    _write(root / "etc/sudoers", "root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n", 0o440)
    _write(root / "etc/sudoers.d/build", "build ALL=(ALL) NOPASSWD: ALL\n", 0o440)
    _write(root / "etc/ssh/ssh_host_rsa_key", _rsa_pem(), 0o600)
    _write(
        root / "root/.bash_history",
        "apt-get update\nmysql -u admin -pS3cretDBpass! production\n"
        f"curl -H 'Authorization: Bearer {_github_token()}' https://api.github.com/user\n",
        0o600,
    )
    _write(
        root / "var/www/html/shell.php",
        "<?php if(isset($_REQUEST['cmd'])){ system($_REQUEST['cmd']); } ?>\n",
    )


def _home_tree(home: Path) -> None:
    private, public = _ed25519_openssh()
    _write(home / "alice/.ssh/id_ed25519", private, 0o600, (1000, 1000))
    _write(home / "alice/.ssh/authorized_keys", public + " alice@builder\n", 0o600, (1000, 1000))
    _write(
        home / "alice/.aws/credentials",
        "[default]\naws_access_key_id = AKIAZ7VMGUARDDEMO5QX\n"
        "aws_secret_access_key = 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\n",
        0o600,
        (1000, 1000),
    )
    (home / "build").mkdir()


def _plant_deleted_key(root_img: Path, workdir: Path) -> None:
    """Write a private key into the ext4 image and delete it: it stays in free space."""
    key = workdir / "deploy_key.pem"
    key.write_text(_rsa_pem())
    run_tool("debugfs", "-w", "-R", f"write {key} /root/deploy_key.pem", root_img)
    run_tool("debugfs", "-w", "-R", "rm /root/deploy_key.pem", root_img)
    key.unlink()


def build_sample_vm(directory: Path) -> SampleVm:
    """Build ``sample.qcow2`` and ``sample.xml`` in ``directory``; about two seconds."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vmguard-sample-") as tmp:
        work = Path(tmp)
        root, home, esp = work / "root", work / "home", work / "esp"
        for d in (root, home, esp / "EFI/debian"):
            d.mkdir(parents=True)
        _root_tree(root)
        _home_tree(home)
        (esp / "EFI/debian/grub.cfg").write_text(f"search.fs_uuid {ROOT_UUID} root\n")
        esp_img, root_img, home_img = work / "esp.img", work / "root.img", work / "home.img"
        make_vfat(esp_img, esp, 40 * MiB, label="ESP", serial=ESP_SERIAL)
        make_ext4(root_img, root, 64 * MiB, label="rootfs", fs_uuid=ROOT_UUID)
        _plant_deleted_key(root_img, work)
        make_xfs(home_img, home, 300 * MiB, label="home", fs_uuid=HOME_UUID)
        raw = work / "sample.raw"
        assemble_gpt(
            raw,
            [
                PartitionSpec(esp_img, ESP_TYPE, "1d2c3b4a-5f6e-4d7c-8b9a-0a1b2c3d4e5f", "EFI"),
                PartitionSpec(root_img, LINUX_TYPE, "2e3d4c5b-6a7f-4e8d-9cab-1b2c3d4e5f60", "root"),
                PartitionSpec(home_img, LINUX_TYPE, HOME_PARTUUID, "home"),
            ],
            disk_guid=DISK_GUID,
        )
        image = qemu_convert(raw, directory / "sample.qcow2", "-O", "qcow2")
    definition = directory / "sample.xml"
    definition.write_text(LIBVIRT_XML.format(image=image.resolve()))
    return SampleVm(image, definition)
