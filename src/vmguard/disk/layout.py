"""Assemble the guest's mount layout from its own /etc/fstab.

Each volume's filesystem is identified; the one holding /etc/fstab (or Windows) is the root,
and fstab entries (UUID=, LABEL=, PARTUUID=, PARTLABEL=, /dev/disk/by-*/, /dev/sdXN-style
names, /dev/mapper/vg-lv and /dev/vg/lv) place the others where the guest mounts them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from vmguard.disk.btrfs.subvolumes import fstab_subvolume, root_candidates
from vmguard.disk.errors import CorruptImage, UnsupportedFormat
from vmguard.disk.filesystems import (
    SUPPORTED,
    Filesystem,
    FsSignature,
    detect_filesystem,
    open_filesystem,
)
from vmguard.disk.fskind import FsKind
from vmguard.disk.fssignatures import describe_kind
from vmguard.disk.guestfs import GuestFS, Mount
from vmguard.disk.volumes.interface import Volume, VolumeLayout
from vmguard.disk.volumes.roles import NO_FILESYSTEM_ROLES, partition_role
from vmguard.guest.view import GuestFileTooLarge
from vmguard.problems import Problem, Stage

_FSTAB_LIMIT = 256 * 1024
_PSEUDO = {
    "swap",
    "proc",
    "sysfs",
    "tmpfs",
    "devpts",
    "devtmpfs",
    "none",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "efivarfs",
    "nfs",
    "nfs4",
    "cifs",
    "fuse",
    "overlay",
}
_DEV_NAME = re.compile(r"^/dev/(?:[shv]d|xvd)([a-z])(\d+)$")
_DEV_NVME = re.compile(r"^/dev/(?:nvme(\d+)n\d+p|mmcblk(\d+)p)(\d+)$")


@dataclass(frozen=True, slots=True)
class PlacedVolume:
    """A volume, what it holds, and where the guest mounts it."""

    disk_index: int
    disk_name: str
    volume: Volume = field(repr=False)
    signature: FsSignature
    filesystem: Filesystem | None = field(repr=False, compare=False)
    mountpoint: str | None
    problem: str | None = None

    @property
    def where(self) -> str:
        """A human name for the volume in messages."""
        if self.volume.name:
            return f"{self.disk_name} lvm {self.volume.name}"
        return f"{self.disk_name} partition {self.volume.index}"


@dataclass(frozen=True, slots=True)
class GuestLayout:
    """Every volume of the guest, and the assembled filesystem when a root was found."""

    volumes: tuple[PlacedVolume, ...]
    guestfs: GuestFS | None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class FstabEntry:
    """One line of /etc/fstab."""

    spec: str
    mountpoint: str
    fstype: str
    options: tuple[str, ...]


def _unescape(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_fstab(text: str) -> list[FstabEntry]:
    """Entries of an fstab, comments and malformed lines skipped."""
    entries = []
    for line in text.splitlines()[:4096]:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 3:
            continue
        options = tuple(fields[3].split(",")) if len(fields) > 3 else ()
        entries.append(FstabEntry(_unescape(fields[0]), _unescape(fields[1]), fields[2], options))
    return entries


def _matches(spec: str, placed: PlacedVolume) -> bool:
    vol, sig = placed.volume, placed.signature
    key, _, value = spec.partition("=")
    if spec.startswith("/dev/disk/by-"):
        kind, _, value = spec[len("/dev/disk/by-") :].partition("/")
        key = {
            "uuid": "UUID",
            "label": "LABEL",
            "partuuid": "PARTUUID",
            "partlabel": "PARTLABEL",
        }.get(kind, "")
        value = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), value)
    if key == "UUID":
        return sig.uuid is not None and sig.uuid.lower() == value.lower()
    if key == "LABEL":
        return sig.label is not None and sig.label == value
    if key == "PARTUUID":
        return vol.uuid is not None and vol.uuid.lower() == value.lower()
    if key == "PARTLABEL":
        return vol.label is not None and vol.label == value
    if vol.name:
        vg, _, lv = vol.name.partition("/")
        mapper = f"/dev/mapper/{vg.replace('-', '--')}-{lv.replace('-', '--')}"
        return spec in (mapper, f"/dev/{vg}/{lv}")
    if vol.scheme == "lvm":
        return False
    m = _DEV_NAME.match(spec)
    if m:
        return ord(m.group(1)) - ord("a") == placed.disk_index and int(m.group(2)) == vol.index
    m = _DEV_NVME.match(spec)
    if m:
        disk = int(m.group(1) or m.group(2))
        return disk == placed.disk_index and int(m.group(3)) == vol.index
    return False


def _place(disk_index: int, disk_name: str, volume: Volume) -> PlacedVolume:
    if volume.encryption and not volume.unlocked:
        # The names blkid gives them (TYPE=), so the inventory reads like `blkid -p`.
        kind = FsKind.BITLOCKER if volume.encryption == "bitlocker" else FsKind.CRYPTO_LUKS
        sig = FsSignature(kind, volume.uuid)
        return PlacedVolume(
            disk_index,
            disk_name,
            volume,
            sig,
            None,
            None,
            f"encrypted ({volume.encryption}); not opened without a key",
        )
    try:
        sig = detect_filesystem(volume.source, whole_disk=volume.scheme == "none")
    except CorruptImage as err:
        return PlacedVolume(
            disk_index,
            disk_name,
            volume,
            FsSignature(FsKind.UNKNOWN),
            None,
            None,
            err.diagnostics(),
        )
    if sig.kind not in SUPPORTED:
        shown = describe_kind(sig.kind) if sig.kind else "unknown"
        expected = sig.kind == "swap" or (
            not sig.kind and partition_role(volume) in NO_FILESYSTEM_ROLES
        )
        problem = None if expected else f"unsupported filesystem {shown}"
        return PlacedVolume(disk_index, disk_name, volume, sig, None, None, problem)
    try:
        fs = open_filesystem(volume.source, sig)
    except (CorruptImage, UnsupportedFormat) as err:  # btrfs: a member of a multi-device fs
        return PlacedVolume(disk_index, disk_name, volume, sig, None, None, err.diagnostics())
    return PlacedVolume(disk_index, disk_name, volume, sig, fs, None)


def _root_kind(fs: Filesystem) -> tuple[str, bytes | None] | None:
    probe = GuestFS([Mount("/", fs, "")])
    try:
        fstab = probe.read_file("/etc/fstab", _FSTAB_LIMIT)
    except (GuestFileTooLarge, CorruptImage):
        fstab = b""
    if fstab is not None:
        return "linux", fstab
    for marker in ("/etc/os-release", "/usr/lib/os-release", "/bin/sh"):
        if probe.stat(marker) is not None:
            return "linux", None
    if probe.stat("/Windows/System32/config") is not None:
        return "windows", None
    return None


def _find_root(
    placed: Sequence[PlacedVolume],
) -> tuple[int | None, bytes | None, Filesystem | None]:
    """(volume index, its fstab, the filesystem view) of the guest's root: the first volume
    with an fstab, else the last that looks like a root at all."""
    found: tuple[int | None, bytes | None, Filesystem | None] = (None, None, None)
    for i, p in enumerate(placed):
        if p.filesystem is None:
            continue
        # A btrfs root may live in a subvolume (Fedora's "root"): each is a candidate.
        for view in root_candidates(p.filesystem):
            kind = _root_kind(view)
            if kind is not None:
                if kind[1] is not None:
                    return i, kind[1], view
                found = (i, None, view)
                break
    return found


def _root_subvolume(
    root_fs: Filesystem | None,
    entry: FstabEntry,
    root: PlacedVolume,
    problems: list[Problem],
) -> Filesystem | None:
    """The btrfs subvolume fstab mounts at / (``subvol=@``), when it names one on the root
    volume: a leftover copy of the root found first must not stand in for it."""
    if root_fs is None or not _matches(entry.spec, root):
        return root_fs
    try:
        return fstab_subvolume(root_fs, entry.options) or root_fs
    except CorruptImage as err:
        problems.append(
            Problem(Stage.FILESYSTEMS, "fstab", f"{entry.spec} for /: {err.diagnostics()}")
        )
        return root_fs


def assemble_layout(disks: Sequence[tuple[str, VolumeLayout]]) -> GuestLayout:
    """Identify every volume's filesystem and mount them where the guest would."""
    placed = [
        _place(i, name, vol) for i, (name, layout) in enumerate(disks) for vol in layout.volumes
    ]
    problems: list[Problem] = []
    for name, layout in disks:
        problems.extend(replace(p, where=f"{name} {p.where}") for p in layout.problems)
    problems.extend(Problem(Stage.FILESYSTEMS, p.where, p.problem) for p in placed if p.problem)
    root_index, fstab, root_fs = _find_root(placed)
    if root_index is None:
        root_index = next((i for i, p in enumerate(placed) if p.filesystem is not None), None)
        if root_index is None:
            return GuestLayout(tuple(placed), None, tuple(problems))
        problems.append(
            Problem(
                Stage.FILESYSTEMS,
                "layout",
                "no operating system root found; showing the first filesystem at /",
            )
        )
    points: dict[int, str] = {root_index: "/"}
    extra: list[Mount] = []
    for entry in parse_fstab((fstab or b"").decode("utf-8", "replace")):
        if (
            entry.fstype in _PSEUDO
            or "bind" in entry.options
            or not entry.mountpoint.startswith("/")
        ):
            continue
        if entry.mountpoint == "/":
            root_fs = _root_subvolume(root_fs, entry, placed[root_index], problems)
            continue
        match = next((i for i, p in enumerate(placed) if _matches(entry.spec, p)), None)
        if match is None:
            if "noauto" not in entry.options and "nofail" not in entry.options:
                problems.append(
                    Problem(
                        Stage.FILESYSTEMS,
                        "fstab",
                        f"{entry.spec} for {entry.mountpoint} matches no volume",
                    )
                )
            continue
        target = placed[match].filesystem
        if target is None:
            continue
        try:
            subvolume = fstab_subvolume(target, entry.options)
        except CorruptImage as err:
            problems.append(
                Problem(
                    Stage.FILESYSTEMS,
                    "fstab",
                    f"{entry.spec} for {entry.mountpoint}: {err.diagnostics()}",
                )
            )
            continue
        if subvolume is not None:
            extra.append(Mount(entry.mountpoint, subvolume, placed[match].where))
            continue
        if match in points:
            continue
        points[match] = entry.mountpoint
    final = []
    mounts = []
    for i, item in enumerate(placed):
        point = points.get(i)
        p = item
        if point is not None and p.filesystem is not None:
            shown = root_fs if i == root_index and root_fs is not None else p.filesystem
            mounts.append(Mount(point, shown, p.where))
            p = PlacedVolume(
                p.disk_index, p.disk_name, p.volume, p.signature, p.filesystem, point, p.problem
            )
        final.append(p)
    taken = {m.mountpoint for m in mounts}
    mounts.extend(m for m in extra if m.mountpoint not in taken)
    return GuestLayout(tuple(final), GuestFS(mounts), tuple(problems))
