"""OVF descriptors and OVA packages (read in place through disk.containers.ova)."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

from vmguard.vmconfig.audit import AuditOptions, audit_paths
from vmguard.vmconfig.loader import load_config
from vmguard.vmconfig.model import Platform

from .corpus import CORPUS, FIXTURES, corpus_files


def _ova(tmp_path: Path, descriptor: bytes, with_manifest: bool) -> Path:
    """An OVA laid out as ovftool writes it: descriptor first, manifest, then disks."""
    disk = b"KDMV" + b"\x00" * 508
    members = [("appliance.ovf", descriptor)]
    if with_manifest:
        manifest = (
            f"SHA256(appliance.ovf)= {hashlib.sha256(descriptor).hexdigest()}\n"
            f"SHA256(insecure-appliance-disk1.vmdk)= {hashlib.sha256(disk).hexdigest()}\n"
        )
        members.append(("appliance.mf", manifest.encode()))
    members.append(("insecure-appliance-disk1.vmdk", disk))
    path = tmp_path / "appliance.ova"
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_ova_descriptor_is_audited_in_place(tmp_path: Path) -> None:
    descriptor = (FIXTURES / "insecure.ovf").read_bytes()
    path = _ova(tmp_path, descriptor, with_manifest=False)
    before = path.read_bytes()
    (report,) = audit_paths([path], AuditOptions())
    rules = {f.rule_id for f in report.findings}
    assert {"ovf.secret", "ovf.integrity", "vmx.secure-boot"} <= rules
    assert report.target.path == str(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["appliance.ova"]


def test_ova_with_a_manifest_passes_integrity(tmp_path: Path) -> None:
    path = _ova(tmp_path, (FIXTURES / "insecure.ovf").read_bytes(), with_manifest=True)
    (report,) = audit_paths([path], AuditOptions())
    assert "ovf.integrity" not in {f.rule_id for f in report.findings}


def test_an_empty_or_directory_manifest_does_not_count(tmp_path: Path) -> None:
    path = tmp_path / "appliance.ova"
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        descriptor = (FIXTURES / "insecure.ovf").read_bytes()
        info = tarfile.TarInfo("appliance.ovf")
        info.size = len(descriptor)
        tar.addfile(info, io.BytesIO(descriptor))
        tar.addfile(tarfile.TarInfo("appliance.mf"))  # empty
        directory = tarfile.TarInfo("x.cert")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
        disk = tarfile.TarInfo("insecure-appliance-disk1.vmdk")
        disk.size = 512
        tar.addfile(disk, io.BytesIO(b"KDMV" + b"\x00" * 508))
    (report,) = audit_paths([path], AuditOptions())
    assert "ovf.integrity" in {f.rule_id for f in report.findings}


def test_extraconfig_and_properties_are_read() -> None:
    (spec,) = load_config(FIXTURES / "insecure.ovf").vms
    assert spec.platform is Platform.ESXI
    copy = spec.setting("isolation.tools.copy.disable")
    assert copy is not None and copy.value == "FALSE"
    assert any(p.password and p.value for p in spec.properties)


def test_vtpm_item_counts_as_a_virtual_tpm() -> None:
    (spec,) = load_config(FIXTURES / "hardened.ovf").vms
    assert spec.setting("vtpm.present") is not None


def test_multi_vm_collections_yield_every_system() -> None:
    corpus_files()
    collections = [
        p for p in (CORPUS / "ovf").rglob("*.ovf") if b"<VirtualSystemCollection" in p.read_bytes()
    ]
    assert collections
    document = load_config(collections[0])
    assert len(document.vms) >= 2
