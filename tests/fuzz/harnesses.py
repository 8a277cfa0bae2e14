"""Fuzz harnesses: one per parser entry point vmguard exposes to untrusted bytes.

A harness takes one input and drives the parser the way the commands do (open, then read
what a scan would read). Its contract is the project's: any input ends normally or in a
``VmguardError``; any other exception, a hang or a crash of the process is a finding.
``run_one`` applies that contract; ``tests/fuzz/run.py`` (``make fuzz``) and the smoke test
in ``make test`` both go through it. Inputs are never written anywhere but a private
temporary directory, and no harness opens a host file an input names. Disk images may
come packed (``packed.py``: their non-zero blocks only), which is how their seeds are kept.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmguard.disk.containers.interface import Container, no_references
from vmguard.disk.image import open_image
from vmguard.disk.limits import DEFAULT_LIMITS
from vmguard.disk.source import ByteSource, SparseSource
from vmguard.disk.volumes.luks import probe_luks
from vmguard.disk.volumes.scan import scan_volumes
from vmguard.errors import VmguardError
from vmguard.guest.accounts import read_accounts
from vmguard.guest.apk import read_apk_packages
from vmguard.guest.dpkg import read_dpkg_packages
from vmguard.guest.osrelease import read_linux_os
from vmguard.guest.rpmdb import read_rpm_packages
from vmguard.guest.rpmheader import package_from_header
from vmguard.guest.windows import read_windows_os
from vmguard.integrity.envelope import parse_envelope, parse_statement
from vmguard.vmconfig.audit import AuditOptions, audit_paths
from vmguard.vulns.osv_import import read_source

from .diskharnesses import fuzz_bitlocker, fuzz_btrfs, fuzz_luks_unlock, walk_filesystem
from .guestharnesses import (
    APP_HARNESSES,
    fuzz_secrets,
    fuzz_windows_files,
    fuzz_windows_registry,
)
from .memview import MemoryView
from .packed import PackedSource

READ_SPAN = 64 * 1024
MAX_RANGES = 64
MAX_NODES = 64


_scratch: Path | None = None


def _scratch_path(name: str) -> Path:
    """``name`` in a private temporary directory (path-based parsers read files)."""
    global _scratch
    if _scratch is None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        _scratch = Path(tempfile.mkdtemp(prefix="vmguard-fuzz-", dir=base))
        atexit.register(shutil.rmtree, _scratch, True)
    return _scratch / name


def _scratch_file(name: str, data: bytes) -> Path:
    """``data`` as the file ``name`` of the private directory."""
    path = _scratch_path(name)
    path.write_bytes(data)
    return path


def _scratch_image(name: str, data: bytes) -> Path:
    """A (maybe packed) image as a sparse file of the private directory."""
    return PackedSource(data).write_to(_scratch_path(name))


def read_disk(disk: ByteSource) -> None:
    """Read what a scan reads first: the start, the middle, the end and allocated ranges."""
    size = disk.size
    for offset in (0, size // 2, max(0, size - READ_SPAN)):
        disk.read_at(offset, READ_SPAN)
    if isinstance(disk, SparseSource):
        for extent in itertools.islice(disk.data_ranges(), MAX_RANGES):
            disk.read_at(extent.offset, min(extent.length, READ_SPAN))


def _container(opener: Callable[..., Container]) -> Callable[[bytes], None]:
    def harness(data: bytes) -> None:
        container = opener(PackedSource(data), limits=DEFAULT_LIMITS, open_reference=no_references)
        read_disk(container.disk)

    return harness


def _qcow2(source: ByteSource, **kwargs: Any) -> Container:
    from vmguard.disk.containers.qcow2 import open_qcow2

    return open_qcow2(source, **kwargs)


def _vmdk(source: ByteSource, **kwargs: Any) -> Container:
    from vmguard.disk.containers.vmdk import open_vmdk

    return open_vmdk(source, **kwargs)


def _vhd(source: ByteSource, **kwargs: Any) -> Container:
    from vmguard.disk.containers.vhd import open_vhd

    return open_vhd(source, **kwargs)


def _vhdx(source: ByteSource, **kwargs: Any) -> Container:
    from vmguard.disk.containers.vhdx import open_vhdx

    return open_vhdx(source, **kwargs)


def fuzz_image_file(data: bytes) -> None:
    """The CLI's path: probe, open any container (OVA included), follow what it names
    under the default policy (only this private directory's files resolve), read."""
    image = open_image(_scratch_image("image", data))
    for disk in image.disks:
        read_disk(disk.disk)


def fuzz_ova(data: bytes) -> None:
    """An OVA through the same path (tar and OVF checks, then its disks)."""
    image = open_image(_scratch_image("input.ova", data), forced_format="ova")
    for disk in image.disks:
        read_disk(disk.disk)


def _volumes(data: bytes) -> None:
    layout = scan_volumes(PackedSource(data), limits=DEFAULT_LIMITS)
    for volume in layout.volumes[:16]:
        volume.source.read_at(0, 4096)
        volume.source.read_at(max(0, volume.size - 4096), 4096)


def fuzz_gpt(data: bytes) -> None:
    """GPT headers and entries (both copies, both sector sizes) through the volume scan, which
    reads them once (calling read_gpt before it read every table twice), then what the
    partitions hold (LVM, LUKS, BitLocker)."""
    _volumes(data)


def fuzz_luks(data: bytes) -> None:
    probe_luks(PackedSource(data))
    _volumes(data)


def fuzz_filesystem(data: bytes) -> None:
    """Signature, then the libyal reader (ext feature masking included), walked and read."""
    walk_filesystem(PackedSource(data))


def _guest_file(path: str, reader: Callable[[MemoryView], Any]) -> Callable[[bytes], None]:
    def harness(data: bytes) -> None:
        reader(MemoryView({path: data}))

    return harness


def fuzz_accounts(data: bytes) -> None:
    """/etc/passwd and /etc/shadow: the input split at its first NUL byte."""
    passwd, _, shadow = data.partition(b"\0")
    read_accounts(MemoryView({"/etc/passwd": passwd, "/etc/shadow": shadow}))


def fuzz_registry(data: bytes) -> None:
    """The same bytes as the SOFTWARE and SYSTEM hives (pyregf, then the values read)."""
    config = "/Windows/System32/config"
    read_windows_os(MemoryView({f"{config}/SOFTWARE": data, f"{config}/SYSTEM": data}))


def _definition(suffix: str) -> Callable[[bytes], None]:
    def harness(data: bytes) -> None:
        audit_paths([_scratch_file(f"definition{suffix}", data)], AuditOptions())

    return harness


def _osv(suffix: str) -> Callable[[bytes], None]:
    def harness(data: bytes) -> None:
        list(read_source(_scratch_file(f"advisories{suffix}", data)))

    return harness


def fuzz_envelope(data: bytes) -> None:
    """A DSSE envelope, then its payload as the signed statement (signature aside)."""
    envelope = parse_envelope(data)
    parse_statement(envelope.payload)


def fuzz_statement(data: bytes) -> None:
    """An in-toto statement with a vmguard manifest, as a verified payload."""
    parse_statement(data)


@dataclass(frozen=True)
class Harness:
    """One fuzz target: its function and the seeds it starts from (``seeds.py``)."""

    name: str
    run: Callable[[bytes], None]
    layer: str


HARNESSES: dict[str, Harness] = {
    h.name: h
    for h in (
        Harness("qcow2", _container(_qcow2), "containers"),
        Harness("vmdk", _container(_vmdk), "containers"),
        Harness("vhd", _container(_vhd), "containers"),
        Harness("vhdx", _container(_vhdx), "containers"),
        Harness("ova", fuzz_ova, "containers"),
        Harness("probe", fuzz_image_file, "containers"),
        Harness("gpt", fuzz_gpt, "volumes"),
        Harness("mbr", _volumes, "volumes"),
        Harness("other-tables", _volumes, "volumes"),
        Harness("lvm", _volumes, "volumes"),
        Harness("luks", fuzz_luks, "volumes"),
        Harness("ext", fuzz_filesystem, "filesystems"),
        Harness("fat", fuzz_filesystem, "filesystems"),
        Harness("ntfs", fuzz_filesystem, "filesystems"),
        Harness("os-release", _guest_file("/etc/os-release", read_linux_os), "guest"),
        Harness("accounts", fuzz_accounts, "guest"),
        Harness("dpkg", _guest_file("/var/lib/dpkg/status", read_dpkg_packages), "guest"),
        Harness("rpm-header", package_from_header, "guest"),
        Harness("rpm-sqlite", _guest_file("/var/lib/rpm/rpmdb.sqlite", read_rpm_packages), "guest"),
        Harness("rpm-bdb", _guest_file("/var/lib/rpm/Packages", read_rpm_packages), "guest"),
        Harness("rpm-ndb", _guest_file("/var/lib/rpm/Packages.db", read_rpm_packages), "guest"),
        Harness("apk", _guest_file("/lib/apk/db/installed", read_apk_packages), "guest"),
        Harness("registry", fuzz_registry, "guest"),
        Harness("libvirt-xml", _definition(".xml"), "vmconfig"),
        Harness("vmx", _definition(".vmx"), "vmconfig"),
        Harness("vbox", _definition(".vbox"), "vmconfig"),
        Harness("ovf", _definition(".ovf"), "vmconfig"),
        Harness("osv-json", _osv(".json"), "vulns"),
        Harness("osv-zip", _osv(".zip"), "vulns"),
        Harness("envelope", fuzz_envelope, "integrity"),
        Harness("statement", fuzz_statement, "integrity"),
        Harness("btrfs", fuzz_btrfs, "filesystems"),
        Harness("luks-unlock", fuzz_luks_unlock, "volumes"),
        Harness("bitlocker", fuzz_bitlocker, "volumes"),
        Harness("windows-registry", fuzz_windows_registry, "checks"),
        Harness("windows-files", fuzz_windows_files, "checks"),
        Harness("secrets", fuzz_secrets, "checks"),
        *(Harness(name, run, "guest") for name, run in APP_HARNESSES.items()),
    )
}


def run_one(harness: Harness, data: bytes) -> None:
    """Run ``harness`` on ``data``; a VmguardError is a normal end, anything else raises."""
    try:
        harness.run(data)
    except VmguardError:
        return


def describe(err: BaseException) -> str:
    """One line naming an exception, for crash reports."""
    return f"{type(err).__name__}: {' '.join(str(err).split())[:200]}"
