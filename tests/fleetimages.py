"""Build a small fleet of real Debian disk images cheaply, for the fleet tests and benchmark.

One trimmed copy of the cached debootstrap tree (docs, manuals, locales and apt caches left
out) becomes one ext4 filesystem image (mkfs.ext4 -d); every fleet member is a sparse copy of
it with its own files written in by ``debugfs -w`` (hostname, a build id, SSH host keys,
authorized_keys, /etc/shadow with a password hash, AWS credentials). Members share some of
those on purpose, so cross-image correlation has something to find; ``FleetSpec`` says which.
Format conversions come from ``qemu-img convert``, linked clones from ``qemu-img create -b``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import string
import subprocess
from dataclasses import dataclass
from pathlib import Path

from guestimages import debian_rootfs, run
from vmguard.demo.imagebuild import make_ext4, qemu_convert

MiB = 1024 * 1024
_TRIM = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
    "usr/share/info",
    "usr/share/zoneinfo",
    "var/cache/apt",
    "var/lib/apt/lists",
)


@dataclass(frozen=True)
class Identity:
    """The secrets one family of images shares (a template and its clones)."""

    name: str
    host_key: Path
    authorized_key: str
    password_hash: str
    aws: str


def base_filesystem(work: Path) -> Path:
    """The trimmed Debian tree as one ext4 image (built once per call site's cache dir)."""
    tree = work / "tree"
    tree.mkdir()
    run("cp", "-a", f"{debian_rootfs()}/.", tree)
    for sub in _TRIM:
        shutil.rmtree(tree / sub, ignore_errors=True)
    image = work / "base.ext4"
    make_ext4(
        image, tree, 160 * MiB, label="rootfs", fs_uuid="7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f"
    )
    shutil.rmtree(tree)
    return image


def make_identity(name: str, work: Path) -> Identity:
    """Fresh keys, a password hash and an AWS key pair for one image family."""
    key = work / f"{name}_host_ed25519"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}", "-f", key)
    user_key = work / f"{name}_user"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"ops@{name}", "-f", user_key)
    password = secrets.token_hex(18)
    hashed = run("openssl", "passwd", "-6", password).decode().strip()
    akid = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
    aws = f"[default]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n"
    return Identity(name, key, (user_key.with_suffix(".pub")).read_text(), hashed, aws)


def _debugfs(image: Path, commands: list[str]) -> None:
    script = "\n".join(commands) + "\n"
    result = subprocess.run(
        ["debugfs", "-w", "-f", "-", str(image)],
        input=script.encode(),
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"debugfs failed on {image}: {result.stderr.decode()[-500:]}")


def member(base: Path, out: Path, hostname: str, identity: Identity, work: Path) -> Path:
    """A sparse copy of ``base`` carrying ``identity``'s secrets and its own host name."""
    run("cp", "--sparse=always", base, out)
    files = work / f"files-{out.stem}"
    files.mkdir()
    (files / "hostname").write_text(hostname + "\n")
    (files / "build-id").write_text(secrets.token_hex(16) + "\n")
    (files / "authorized_keys").write_text(identity.authorized_key)
    shadow = (debian_rootfs() / "etc/shadow").read_text().splitlines()
    shadow = [
        f"root:{identity.password_hash}:19800:0:99999:7:::" if line.startswith("root:") else line
        for line in shadow
    ]
    (files / "shadow").write_text("\n".join(shadow) + "\n")
    (files / "credentials").write_text(identity.aws)
    for name in ("hostname", "build-id", "authorized_keys", "shadow", "credentials"):
        (files / name).chmod(0o600 if name != "hostname" else 0o644)
    commands = [
        "rm /etc/hostname",
        f"write {files / 'hostname'} /etc/hostname",
        f"write {files / 'build-id'} /etc/vmguard-build-id",
        "mkdir /root/.ssh",
        f"write {files / 'authorized_keys'} /root/.ssh/authorized_keys",
        "mkdir /root/.aws",
        f"write {files / 'credentials'} /root/.aws/credentials",
        "rm /etc/shadow",
        f"write {files / 'shadow'} /etc/shadow",
        "mkdir /etc/ssh",
        f"write {identity.host_key} /etc/ssh/ssh_host_ed25519_key",
        f"write {identity.host_key}.pub /etc/ssh/ssh_host_ed25519_key.pub",
    ]
    _debugfs(out, commands)
    shutil.rmtree(files)
    return out


def convert(image: Path, out: Path) -> Path:
    """A qcow2 conversion of a raw image (same guest content, another container)."""
    return qemu_convert(image, out, "-f", "raw", "-O", "qcow2")


def linked_clone(backing: Path, out: Path) -> Path:
    """A qcow2 overlay whose backing file is ``backing`` (raw), named relative to the overlay
    (so the pair can be moved or copied together)."""
    relative = os.path.relpath(backing, out.parent)
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", relative, "-F", "raw", out)
    return out


@dataclass(frozen=True)
class SmallFleet:
    """The fleet the tests scan (see ``build_small_fleet``)."""

    root: Path
    """The catalogue directory (scanned recursively)."""
    bases: Path
    """Backing files of the linked clone (outside ``root``: needs --allow-dir)."""


def build_small_fleet(work: Path) -> None:
    """Five images under ``work/catalogue`` plus a backing file under ``work/bases``.

    - ``web-1.raw`` and ``web-2.raw``: family ``web`` (share host key, authorized key,
      root password hash and AWS key);
    - ``web-1.qcow2``: a qcow2 conversion of web-1;
    - ``clones/db-clone.qcow2``: a linked clone of ``bases/db-base.raw`` (family ``db``);
    - ``broken.qcow2``: a qcow2 header and nothing else (hostile: must be an error);
    - ``README.txt``: not an image (skipped).
    """
    catalogue = work / "catalogue"
    (catalogue / "clones").mkdir(parents=True)
    bases = work / "bases"
    bases.mkdir()
    keys = work / "keys"
    keys.mkdir()
    base = base_filesystem(work)
    web = make_identity("web", keys)
    db = make_identity("db", keys)
    member(base, catalogue / "web-1.raw", "web-1", web, work)
    member(base, catalogue / "web-2.raw", "web-2", web, work)
    convert(catalogue / "web-1.raw", catalogue / "web-1.qcow2")
    member(base, bases / "db-base.raw", "db-base", db, work)
    linked_clone(bases / "db-base.raw", catalogue / "clones" / "db-clone.qcow2")
    header = bytearray(512)
    header[0:4] = b"QFI\xfb"
    header[4:8] = (3).to_bytes(4, "big")
    header[24:32] = (1 << 62).to_bytes(8, "big")  # an absurd virtual size
    (catalogue / "broken.qcow2").write_bytes(bytes(header))
    (catalogue / "README.txt").write_text("images of the staging catalogue\n")
    base.unlink()
    shutil.rmtree(keys)
