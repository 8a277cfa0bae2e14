"""The stored form of an inventory: every field, so vulnerability matching can run again
from the database without reading the image.

The JSON report's ``inventory`` object leaves out fields matching needs (OS code name,
``ID_LIKE``, source package versions); this form keeps them. It must never hold a password
hash: ``UserAccount.password_hash`` is dropped on the way in and ``None`` on the way out.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from vmguard.guest.facts import InstalledPackage, OsFacts, ServiceInfo, UserAccount
from vmguard.inventory import BackingInfo, DiskInfo, Inventory, PartitionInfo


def _plain(obj: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def encode_inventory(inventory: Inventory) -> dict[str, Any]:
    """A JSON-ready dict of every inventory field except password hashes."""
    return {
        "format": inventory.format,
        "variant": inventory.variant,
        "virtual_size": inventory.virtual_size,
        "backing_chain": [_plain(b) for b in inventory.backing_chain],
        "disks": [_plain(d) for d in inventory.disks],
        "partitions": [_plain(p) for p in inventory.partitions],
        "os": _plain(inventory.os) if inventory.os is not None else None,
        "users": [_plain(u, skip=("password_hash",)) for u in inventory.users],
        "packages": [_plain(p) for p in inventory.packages],
        "services": [_plain(s) for s in inventory.services],
    }


def decode_inventory(data: dict[str, Any]) -> Inventory:
    """The inverse of ``encode_inventory`` (password hashes come back as ``None``)."""
    os_data = data.get("os")
    return Inventory(
        format=str(data["format"]),
        variant=str(data["variant"]),
        virtual_size=int(data["virtual_size"]),
        backing_chain=tuple(BackingInfo(**b) for b in data["backing_chain"]),
        disks=tuple(DiskInfo(**d) for d in data["disks"]),
        partitions=tuple(PartitionInfo(**p) for p in data["partitions"]),
        os=(
            OsFacts(**{**os_data, "id_like": tuple(os_data.get("id_like", ()))})
            if os_data is not None
            else None
        ),
        users=tuple(UserAccount(**u) for u in data["users"]),
        packages=tuple(InstalledPackage(**p) for p in data["packages"]),
        services=tuple(ServiceInfo(**s) for s in data.get("services", ())),
    )
