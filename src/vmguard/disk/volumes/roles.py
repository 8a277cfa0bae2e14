"""What a partition is for, from its GPT type GUID or MBR type byte.

Some partitions hold no filesystem by design (the Microsoft reserved partition every
Windows GPT disk has, BIOS boot, PReP, LDM metadata): they are named in the inventory by
role instead of being reported as unreadable. The role comes from the partition table
only; it never decides how the content is read (content is detected by its own bytes).
"""

from __future__ import annotations

from vmguard.disk.volumes.interface import Volume

_GPT_ROLES = {
    "c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "EFI system",
    "e3c9e316-0b5c-4db8-817d-f92df00215ae": "Microsoft reserved",
    "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7": "basic data",
    "de94bba4-06d1-4d40-a16a-bfd50179d6ac": "Windows recovery",
    "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3": "LDM metadata",
    "af9b60a0-1431-4f62-bc68-3311714a69ad": "LDM data",
    "e75caf8f-f680-4cee-afa3-b001e56efc2d": "Storage Spaces",
    "21686148-6449-6e6f-744e-656564454649": "BIOS boot",
    "9e1a2d38-c612-4316-aa26-8b49521e5a8b": "PReP boot",
    "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f": "Linux swap",
    "0fc63daf-8483-4772-8e79-3d69d8477de4": "Linux filesystem",
    "4f68bce3-e8cd-4db1-96e7-fbcaf984b709": "Linux root (x86-64)",
    "b921b045-1df0-41c3-af44-4c6f280d3fae": "Linux root (ARM64)",
    "bc13c2ff-59e6-4262-a352-b275fd6f7172": "Linux extended boot",
    "e6d6d379-f507-44c2-a23c-238f2a3df928": "Linux LVM",
    "a19d880f-05fc-4d3b-a006-743f0f84911e": "Linux RAID",
}
_MBR_ROLES = {
    "07": "NTFS/exFAT",
    "0b": "FAT32",
    "0c": "FAT32 (LBA)",
    "27": "Windows recovery",
    "41": "PReP boot",
    "42": "LDM",
    "82": "Linux swap",
    "83": "Linux",
    "8e": "Linux LVM",
    "ef": "EFI system",
    "fd": "Linux RAID",
}
NO_FILESYSTEM_ROLES = frozenset({"Microsoft reserved", "BIOS boot", "PReP boot", "LDM metadata"})
"""Roles whose partitions hold no filesystem by design: finding none there is no error."""


def partition_role(volume: Volume) -> str | None:
    """The role the partition table gives a volume, None when unknown or not a partition."""
    if volume.scheme == "gpt":
        return _GPT_ROLES.get(volume.type_id.lower())
    if volume.scheme == "mbr":
        return _MBR_ROLES.get(volume.type_id.lower())
    return None
