"""What an image holds: format and chain, partitions, OS, users, packages.

Built from the disk layer and the guest facts; rendered as the ``inventory`` object of the
JSON report (field names are a contract, see DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vmguard.guest.facts import InstalledPackage, OsFacts, ServiceInfo, UserAccount


@dataclass(frozen=True, slots=True)
class BackingInfo:
    """One image of the backing chain, below the top image."""

    name: str
    """The name as the child stores it (escaped)."""
    path: str
    format: str


@dataclass(frozen=True, slots=True)
class DiskInfo:
    """One guest disk (OVA packages can hold several)."""

    name: str
    format: str
    variant: str
    virtual_size: int


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """One volume and what it holds."""

    index: int
    scheme: str
    start: int
    size: int
    filesystem: str | None
    label: str | None
    uuid: str | None
    mountpoint: str | None
    disk: int
    """Index into ``disks`` (0 for single-disk images)."""
    partuuid: str | None = None
    partlabel: str | None = None
    lvm_name: str | None = None
    encryption: str | None = None
    role: str | None = None
    """What the partition table says the partition is for ("EFI system", "Microsoft
    reserved", ...), None when it does not say."""


@dataclass(frozen=True, slots=True)
class Inventory:
    """Everything ``vmguard inspect`` reports about an image."""

    format: str
    variant: str
    virtual_size: int
    backing_chain: tuple[BackingInfo, ...]
    disks: tuple[DiskInfo, ...]
    partitions: tuple[PartitionInfo, ...]
    os: OsFacts | None
    users: tuple[UserAccount, ...]
    packages: tuple[InstalledPackage, ...]
    services: tuple[ServiceInfo, ...] = ()
    """Windows services (empty for other guests)."""

    def to_json(self) -> dict[str, Any]:
        """The JSON ``inventory`` object: DESIGN.md field names; password hashes left out."""
        os_json = None
        if self.os is not None:
            os_json = {
                "family": self.os.family,
                "distro": self.os.distro,
                "version": self.os.version,
                "hostname": self.os.hostname,
                "arch": self.os.arch,
                "pretty_name": self.os.pretty_name,
            }
        document: dict[str, Any] = {
            "format": self.format,
            "variant": self.variant,
            "virtual_size": self.virtual_size,
            "backing_chain": [
                {"name": b.name, "path": b.path, "format": b.format} for b in self.backing_chain
            ],
            "disks": [
                {
                    "name": d.name,
                    "format": d.format,
                    "variant": d.variant,
                    "virtual_size": d.virtual_size,
                }
                for d in self.disks
            ],
            "partitions": [{k: v for k, v in _partition_json(p).items()} for p in self.partitions],
            "os": os_json,
            "users": [_user_json(u) for u in self.users],
            "packages": [_package_json(p) for p in self.packages],
        }
        if self.services:
            document["services"] = [
                {
                    "name": s.name,
                    "start": s.start,
                    "display_name": s.display_name,
                    "image": s.image,
                    "account": s.account,
                }
                for s in self.services
            ]
        return document


def _user_json(u: UserAccount) -> dict[str, Any]:
    user: dict[str, Any] = {
        "name": u.name,
        "uid": u.uid,
        "gid": u.gid,
        "home": u.home,
        "shell": u.shell,
        "password": u.password,
    }
    if u.disabled is not None:
        user["disabled"] = u.disabled
    if u.admin is not None:
        user["admin"] = u.admin
    return user


def _package_json(p: InstalledPackage) -> dict[str, Any]:
    package: dict[str, Any] = {
        "name": p.name,
        "version": p.version,
        "arch": p.arch,
        "manager": p.manager,
        "source": p.source_name or None,
        "path": p.path or None,
    }
    if p.vendor:
        package["vendor"] = p.vendor
    return package


def _partition_json(p: PartitionInfo) -> dict[str, Any]:
    return {
        "index": p.index,
        "scheme": p.scheme,
        "start": p.start,
        "size": p.size,
        "filesystem": p.filesystem,
        "label": p.label,
        "uuid": p.uuid,
        "mountpoint": p.mountpoint,
        "disk": p.disk,
        "partuuid": p.partuuid,
        "partlabel": p.partlabel,
        "lvm_name": p.lvm_name,
        "encryption": p.encryption,
        "role": p.role,
    }
