"""Types shared by the volume-system readers."""

from __future__ import annotations

from dataclasses import dataclass, field

from vmguard.disk.source import ByteSource
from vmguard.problems import Problem


@dataclass(frozen=True, slots=True)
class Volume:
    """One partition or logical volume that may hold a filesystem."""

    index: int
    """Partition number as the guest kernel numbers it (logical MBR partitions from 5),
    or 1.. in order for logical volumes and 1 for a bare filesystem."""
    scheme: str
    """"gpt", "mbr", "apm", "bsd", "sun", "sgi", "lvm" or "none" (a filesystem with no
    partition table)."""
    start: int
    """Byte offset on the virtual disk (for an LV, of its first segment)."""
    size: int
    """Size in bytes."""
    source: ByteSource = field(repr=False, compare=False)
    """The volume's bytes."""
    type_id: str = ""
    """GPT partition type GUID (lower case) or MBR type byte as two hex digits."""
    uuid: str | None = None
    """GPT unique partition GUID, or MBR "<disk signature>-<NN>": what PARTUUID= names."""
    label: str | None = None
    """GPT partition name (PARTLABEL=)."""
    name: str | None = None
    """Logical volume as "vg/lv" (what /dev/mapper/vg-lv and /dev/vg/lv name)."""
    encryption: str | None = None
    """"luks1", "luks2" or "bitlocker" when the volume is encrypted (unreadable without a key)."""
    unlocked: bool = False
    """True when the user's key opened it: ``source`` is then the decrypted data."""


@dataclass(frozen=True, slots=True)
class VolumeLayout:
    """Everything found on one disk."""

    scheme: str
    """"gpt", "mbr", "apm", "bsd", "sun", "sgi", "none", or "amiga"/"atari" (named, with no
    volumes read)."""
    volumes: tuple[Volume, ...]
    problems: tuple[Problem, ...] = ()
    disk_uuid: str | None = None
    """GPT disk GUID or MBR disk signature (8 hex digits)."""
