"""Find every volume on a virtual disk: partition table first, then what each partition is.

The table is GPT (512-byte sectors, then 4096), else MBR (with the BSD disklabels inside its
BSD slices), else an Apple Partition Map, a Sun label, an SGI volume header or a BSD
disklabel, else none (the whole disk is one volume). An Amiga or Atari table is named, its
partitions not read; a firmware RAID member disk is one volume, named by its RAID kind.
Each volume is then examined: an LVM2 physical volume is replaced by its logical volumes,
and a LUKS or BitLocker volume is marked encrypted (or opened with a user's key).
Everything odd becomes a ``Problem`` in the layout; the scan goes on.

This module must never open an encrypted volume without a key the user gave, follow a path
written in the image, or let a parsing error other than ``CorruptImage`` (from unreadable
disk bytes) escape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from vmguard.disk.errors import CorruptImage, DiskError
from vmguard.disk.limits import Limits
from vmguard.disk.raidmembers import firmware_raid_kind
from vmguard.disk.source import ByteSource
from vmguard.disk.volumes import apm, bsdlabel, gpt, lvm, mbr, sgi, sun
from vmguard.disk.volumes.bitlocker import BitLockerHeader, probe_bitlocker
from vmguard.disk.volumes.bitlocker_unlock import unlock_bitlocker
from vmguard.disk.volumes.interface import Volume, VolumeLayout
from vmguard.disk.volumes.luks import LuksHeader, probe_luks
from vmguard.disk.volumes.luks_unlock import VolumeSecret, unlock_luks
from vmguard.disk.volumes.unread_tables import name_unread_table
from vmguard.problems import Problem, Stage


def scan_volumes(
    disk: ByteSource,
    *,
    limits: Limits,
    sector_size: int = 512,
    secrets: Sequence[VolumeSecret] = (),
) -> VolumeLayout:
    """Every volume on ``disk``: partitions, logical volumes, encrypted volumes, or the disk.

    LUKS and BitLocker volumes that one of ``secrets`` opens are replaced by their decrypted
    contents (an LVM physical volume inside is examined like any other). Raises
    ``CorruptImage`` only when the disk's own bytes cannot be read; everything wrong with the
    structures on it is reported in ``VolumeLayout.problems``.
    """
    table = read_partition_table(disk, limits=limits, sector_size=sector_size)
    volumes, problems = examine_volumes(table.volumes, secrets, limits)
    return VolumeLayout(
        table.scheme, tuple(volumes), table.problems + tuple(problems), table.disk_uuid
    )


def read_partition_table(
    disk: ByteSource, *, limits: Limits, sector_size: int = 512
) -> VolumeLayout:
    """The partitions of ``disk`` as its table lists them, not yet examined. A firmware RAID
    member is one volume, whatever table it shows (blkid ignores it too): a striped member's
    table describes the array, not the disk."""
    if firmware_raid_kind(disk):
        return _whole_disk(disk)
    sizes = (sector_size, 4096) if sector_size == 512 else (sector_size,)
    for size in sizes:
        if gpt.has_gpt_signature(disk, size):
            return gpt.read_gpt(disk, limits=limits, sector_size=size)
    sector0 = disk.read_at(0, 512)
    if mbr.looks_like_mbr(sector0):
        table = mbr.read_mbr(disk, limits=limits, sector_size=sector_size, sector0=sector0)
        return _with_bsd_slices(disk, table)
    if apm.has_apm(disk):
        return apm.read_apm(disk, limits=limits)
    if sun.is_sun_label(sector0):
        return sun.read_sun(disk, sector0)
    if sgi.is_sgi_label(sector0):
        return sgi.read_sgi(disk, sector0)
    label = bsdlabel.find_label(disk)
    if label is not None:
        problems: list[Problem] = []
        volumes = bsdlabel.read_label(disk, label, problems=problems)
        return VolumeLayout("bsd", tuple(volumes), tuple(problems))
    unread = name_unread_table(disk, sector0)
    if unread is not None:
        scheme, name = unread
        refusal = f"{name}: vmguard does not read this partition table; no partition examined"
        return VolumeLayout(scheme, (), (Problem(Stage.VOLUMES, "disk", refusal),))
    return _whole_disk(disk)


def _whole_disk(disk: ByteSource) -> VolumeLayout:
    return VolumeLayout("none", (Volume(index=1, scheme="none", start=0, size=disk.size,
                                        source=disk),))  # fmt: skip


def _with_bsd_slices(disk: ByteSource, table: VolumeLayout) -> VolumeLayout:
    """``table`` with each BSD slice that holds a disklabel replaced by the label's
    partitions, numbered after the MBR's own (as Linux numbers them)."""
    if not any(_is_bsd_slice(v) for v in table.volumes):
        return table
    problems = list(table.problems)
    volumes: list[Volume] = []
    next_index = max(4, *(v.index for v in table.volumes)) + 1
    for volume in table.volumes:
        label = bsdlabel.find_label(volume.source) if _is_bsd_slice(volume) else None
        if label is None:
            volumes.append(volume)
            continue
        inner = bsdlabel.read_label(
            disk, label, slice_start=volume.start, slice_size=volume.size,
            first_index=next_index, problems=problems,
        )  # fmt: skip
        next_index += len(inner)
        volumes.extend(inner)
    return VolumeLayout(table.scheme, tuple(volumes), tuple(problems), table.disk_uuid)


def _is_bsd_slice(volume: Volume) -> bool:
    return volume.scheme == "mbr" and volume.type_id in bsdlabel.MBR_SLICE_TYPE_IDS


def examine_volumes(
    volumes: tuple[Volume, ...],
    secrets: Sequence[VolumeSecret] = (),
    limits: Limits | None = None,
) -> tuple[list[Volume], list[Problem]]:
    """Replace physical volumes by their logical volumes and mark (or open) LUKS volumes.

    With ``limits``, an opened LUKS volume that holds a partition table is replaced by its
    partitions."""
    problems: list[Problem] = []
    volumes = tuple(
        inner
        for volume in volumes
        for inner in _partitions(_unlocked(volume, secrets, problems), limits, problems)
    )
    kept: list[Volume | None] = []  # None marks where the logical volumes go
    pvs: list[lvm.PhysicalVolume] = []
    for volume in volumes:
        where = describe(volume)
        try:
            if lvm.find_label(volume.source) is not None:
                pv = lvm.read_physical_volume(volume)
                if pv is None:
                    problems.append(
                        Problem(Stage.VOLUMES, where, "LVM physical volume in no volume group")
                    )
                elif not pvs:
                    kept.append(None)
                if pv is not None:
                    pvs.append(pv)
                continue
            if _is_lvm_type(volume):
                problems.append(
                    Problem(
                        Stage.VOLUMES, where, "partition type is Linux LVM but it has no LVM2 label"
                    )
                )
            kept.append(_with_encryption(volume, problems))
        except CorruptImage as err:
            problems.append(Problem(Stage.VOLUMES, where, str(err)))
            kept.append(volume)
    logical: list[Volume] = []
    if pvs:
        found, lv_problems = lvm.logical_volumes(pvs)
        problems.extend(lv_problems)
        logical = [_with_encryption(_unlocked(lv, secrets, problems), problems) for lv in found]
    result: list[Volume] = []
    for item in kept:
        result.extend(logical if item is None else (item,))
    return result, problems


def describe(volume: Volume) -> str:
    """How a problem names a volume: "disk", "gpt partition 2", "lvm vg0/root"."""
    if volume.scheme == "none":
        return "disk"
    if volume.scheme == "lvm":
        return f"lvm {volume.name}"
    if volume.scheme == "mbr" and volume.index > 4:
        return f"mbr logical partition {volume.index}"
    return f"{volume.scheme} partition {volume.index}"


def _unlocked(volume: Volume, secrets: Sequence[VolumeSecret], problems: list[Problem]) -> Volume:
    """The decrypted volume when it is LUKS or BitLocker and one of ``secrets`` opens it,
    else ``volume``."""
    if not secrets:
        return volume
    try:
        luks = probe_luks(volume.source)
        bitlocker = probe_bitlocker(volume.source) if luks is None else None
        if luks is not None:
            header: LuksHeader | BitLockerHeader = luks
            opened = unlock_luks(volume.source, secrets)
        elif bitlocker is not None:
            header = bitlocker
            opened = unlock_bitlocker(volume.source, secrets)
        else:
            return volume
    except DiskError as err:
        problems.append(
            Problem(Stage.VOLUMES, describe(volume), f"not unlocked: {err.diagnostics()}")
        )
        return volume
    if opened is None:
        what = "key slot" if luks is not None else "key protector"
        problems.append(
            Problem(
                Stage.VOLUMES,
                describe(volume),
                f"{header.encryption}: no {what} opens with the key given",
            )
        )
        return volume
    return dataclasses.replace(
        volume,
        source=opened.plaintext,
        size=opened.plaintext.size,
        encryption=header.encryption,
        uuid=header.uuid,
        unlocked=True,
    )


def _partitions(volume: Volume, limits: Limits | None, problems: list[Problem]) -> list[Volume]:
    """The partitions of an unlocked volume that holds a GPT or MBR, else the volume."""
    if not volume.unlocked or limits is None:
        return [volume]
    table = read_partition_table(volume.source, limits=limits)
    if table.scheme == "none" or not table.volumes:
        return [volume]
    where = describe(volume)
    problems.extend(
        Problem(Stage.VOLUMES, f"{where} (decrypted) {p.where}", p.reason) for p in table.problems
    )
    encryption = volume.encryption
    return [dataclasses.replace(v, encryption=encryption, unlocked=True) for v in table.volumes]


def _with_encryption(volume: Volume, problems: list[Problem]) -> Volume:
    """The volume marked as LUKS or BitLocker when it has such a header; never opened."""
    if volume.unlocked:
        return volume
    try:
        header = probe_luks(volume.source)
        bitlocker = probe_bitlocker(volume.source) if header is None else None
    except CorruptImage as err:
        problems.append(Problem(Stage.VOLUMES, describe(volume), str(err)))
        return volume
    if bitlocker is not None:
        return dataclasses.replace(volume, encryption=bitlocker.encryption, uuid=bitlocker.uuid)
    if header is None:
        return volume
    if header.problem:
        problems.append(Problem(Stage.VOLUMES, describe(volume), header.problem))
    return dataclasses.replace(volume, encryption=header.encryption, uuid=header.uuid)


def _is_lvm_type(volume: Volume) -> bool:
    return (volume.scheme == "gpt" and volume.type_id == gpt.LINUX_LVM_TYPE) or (
        volume.scheme == "mbr" and volume.type_id == f"{mbr.LINUX_LVM_TYPE:02x}"
    )
