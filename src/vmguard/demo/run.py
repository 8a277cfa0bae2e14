"""``vmguard demo``: the whole job on the built-in sample VM, end to end.

Builds the sample (disk image + libvirt definition), scans it with deleted-data recovery,
audits the definition, signs the bundle with a fresh key, verifies it, then tampers with
``/etc/shadow`` in a copy (with ``qemu-io``, through the image format) and shows that
verification names the changed file. Everything is written inside the demo directory.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vmguard.demo.imagebuild import run_tool
from vmguard.demo.sample import SampleVm, build_sample_vm
from vmguard.errors import VmguardError
from vmguard.findings import Report
from vmguard.inspection import ImageOptions, open_guest
from vmguard.integrity.errors import VerificationFailed
from vmguard.integrity.keys import KeyType, generate_key, load_signing_key, write_key_pair
from vmguard.integrity.report import failure_report, success_report
from vmguard.integrity.sign import SignOptions, build_manifest, sign_manifest
from vmguard.integrity.trust import load_trust
from vmguard.integrity.verify import VerifyOptions, verify_bundle
from vmguard.scanning import ScanOptions, scan_image
from vmguard.vmconfig.audit import AuditOptions, audit_paths

Step = Callable[[str], None]
"""Called with a one-line description as each step starts."""


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo produced."""

    sample: SampleVm
    scan: Report
    audit: tuple[Report, ...]
    verified: Report
    tampered: Report
    signature: Path
    public_key: Path

    def tampered_files(self) -> list[str]:
        """The guest files verify named in the tampered copy's changed chunk, sorted."""
        findings = self.tampered.findings
        return sorted({f.location.path for f in findings if f.rule_id.endswith("file-modified")})


def guest_offset(image: Path, path: str) -> int:
    """Byte offset on the virtual disk of the first block of a guest file."""
    guest = open_guest(image, ImageOptions())
    fs = guest.layout.guestfs
    found = fs.resolve(path) if fs is not None else None
    if found is None:
        raise VmguardError(f"{path} not found in {image}")
    _, mount, node = found
    placed = next(p for p in guest.layout.volumes if p.filesystem is mount.fs)
    offset, _size, _flags = node.get_extent(0)
    return int(placed.volume.start + offset)


def run_demo(directory: Path, step: Step) -> DemoResult:
    """Run every stage; each stage's report is returned (and nothing is left half done)."""
    directory.mkdir(parents=True, exist_ok=True)
    step("building the sample VM (mkfs.ext4 -d, mkfs.xfs -p, mkfs.vfat, sfdisk, qemu-img)")
    for stale in ("demo-key.pem", "demo-key.pub", "sample.sig"):
        (directory / stale).unlink(missing_ok=True)
    shutil.rmtree(directory / "tampered", ignore_errors=True)
    sample = build_sample_vm(directory)
    step("scanning the image, deleted data included")
    scan = scan_image(sample.image, ScanOptions(deleted=True))
    step("auditing the libvirt definition")
    audit = tuple(audit_paths([sample.definition], AuditOptions()))
    step("signing the bundle (image + definition) with a new Ed25519 key")
    private, public = directory / "demo-key.pem", directory / "demo-key.pub"
    write_key_pair(generate_key(KeyType.ED25519), private, public, None)
    bundle = [sample.image, sample.definition]
    envelope = sign_manifest(build_manifest(bundle, SignOptions()), load_signing_key(private))
    signature = directory / "sample.sig"
    signature.write_bytes(envelope)
    step("verifying the signed bundle")
    store = load_trust([public])
    verify_bundle(bundle, envelope, store, VerifyOptions())
    names = " + ".join(p.name for p in bundle)
    verified = success_report(f"signed bundle {names}")
    step("tampering with /etc/shadow in a copy (qemu-io) and verifying again")
    tampered_dir = directory / "tampered"
    tampered_dir.mkdir()
    copies = [Path(shutil.copy2(p, tampered_dir / p.name)) for p in bundle]
    offset = guest_offset(copies[0], "/etc/shadow")
    run_tool("qemu-io", "-f", "qcow2", "-c", f"write -P 0x21 {offset} 512", copies[0])
    try:
        verify_bundle(copies, envelope, store, VerifyOptions())
    except VerificationFailed as error:
        tampered = failure_report(f"tampered copy {names}", error)
    else:
        raise VmguardError("the tampered copy verified: the demo's own check failed")
    return DemoResult(sample, scan, audit, verified, tampered, signature, public)
