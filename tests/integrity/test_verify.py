"""verify_bundle on real images: every tampering the issue names is caught, and said."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import guest_file_offset, qemu_write
from vmguard.integrity.changes import ChangeKind
from vmguard.integrity.errors import (
    BundleModified,
    EnvelopeMalformed,
    ManifestTooOld,
    SignatureInvalid,
)
from vmguard.integrity.keys import KeyType
from vmguard.integrity.leaves import Leaves
from vmguard.integrity.sign import SignOptions, build_manifest, sign_manifest
from vmguard.integrity.trust import load_trust
from vmguard.integrity.verify import VerifyOptions, verify_bundle


def qemu_img(*args: object) -> None:
    subprocess.run(["qemu-img", *map(str, args)], check=True, capture_output=True)


@pytest.fixture
def signer(key_pairs):
    pair = key_pairs[KeyType.ED25519]
    return pair.signing(), load_trust([pair.public])


def sign(paths: list[Path], signing, **options: object) -> bytes:
    return sign_manifest(build_manifest(paths, SignOptions(**options)), signing)  # type: ignore[arg-type]


def test_valid_bundle(sample: Path, signer) -> None:
    signing, trust = signer
    bundle = [sample / "sample.qcow2", sample / "sample.xml"]
    result = verify_bundle(bundle, sign(bundle, signing), trust, VerifyOptions())
    assert result.notes == ()
    assert result.signer.keyid == signing.public.keyid
    assert [d.name for d in result.manifest.disks] == ["sample.qcow2"]


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("vmdk", ["-o", "subformat=streamOptimized"]), ("vhdx", []), ("raw", [])],
)
def test_signature_survives_qemu_img_convert(sample: Path, signer, fmt: str, options) -> None:
    signing, trust = signer
    envelope = sign([sample / "sample.qcow2"], signing)
    converted = sample / f"converted.{fmt}"
    qemu_img("convert", "-O", fmt, *options, sample / "sample.qcow2", converted)
    result = verify_bundle([converted], envelope, trust, VerifyOptions())
    assert "guest content identical" in result.notes[0]
    with pytest.raises(BundleModified, match="--exact"):
        verify_bundle([converted], envelope, trust, VerifyOptions(exact=True))


def test_modified_guest_files_are_named(sample: Path, signer) -> None:
    signing, trust = signer
    image = sample / "sample.qcow2"
    envelope = sign([image], signing)
    offsets = []
    for path in ("/etc/shadow", "/usr/bin/dash"):
        offset = guest_file_offset(image, path)
        qemu_write(image, "qcow2", offset, b"\x41" * 512)
        offsets.append(offset)
    with pytest.raises(BundleModified) as caught:
        verify_bundle([image], envelope, trust, VerifyOptions())
    (change,) = caught.value.changes
    assert change.kind is ChangeKind.DISK
    named = {hit.path for hit in change.guest_files}
    assert {"/etc/shadow", "/usr/bin/dash"} <= named
    assert len(named) < 40  # chunk granularity, not "every file of the partition"
    for offset in offsets:
        assert any(r.start <= offset < r.end for r in change.ranges)
    assert sum(r.end - r.start for r in change.ranges) <= 2 * 64 * 1024
    assert any("partition 2 (/)" in region for region in change.regions)


def test_chunk_hashes_are_checked_only_when_needed(sample: Path, signer) -> None:
    """A signer's inconsistent chunk hashes never pass: they are decoded (and checked
    against the signed content root) when a changed disk needs them, not on the fast path."""
    signing, trust = signer
    image = sample / "sample.qcow2"
    manifest = build_manifest([image], SignOptions())
    leaves = manifest.disks[0].leaves()
    wrong = Leaves(leaves.count, leaves.default, leaves.indexes, bytes(32) + leaves.hashes[32:])
    disk = replace(manifest.disks[0], chunk_hashes=wrong.encode())
    envelope = sign_manifest(replace(manifest, disks=(disk,)), signing)
    verify_bundle([image], envelope, trust, VerifyOptions())
    qemu_write(image, "qcow2", guest_file_offset(image, "/etc/shadow"), b"\x41" * 512)
    with pytest.raises(EnvelopeMalformed, match="do not add up"):
        verify_bundle([image], envelope, trust, VerifyOptions())


def test_wrong_key(sample: Path, key_pairs) -> None:
    envelope = sign([sample / "sample.qcow2"], key_pairs[KeyType.ECDSA_P256].signing())
    trust = load_trust([key_pairs[KeyType.ED25519].public])
    with pytest.raises(SignatureInvalid):
        verify_bundle([sample / "sample.qcow2"], envelope, trust, VerifyOptions())


def test_swapped_disks(sample: Path, signer) -> None:
    signing, trust = signer
    a, b = sample / "sample.qcow2", sample / "data.qcow2"
    qemu_img("create", "-f", "qcow2", b, "8M")
    qemu_write(b, "qcow2", 1 << 20, b"\x07" * 4096)
    envelope = sign([a, b], signing)
    verify_bundle([a, b], envelope, trust, VerifyOptions())
    with pytest.raises(BundleModified) as caught:
        verify_bundle([b, a], envelope, trust, VerifyOptions())
    assert [c.path for c in caught.value.changes] == [str(b), str(a)]
    with pytest.raises(BundleModified, match="missing"):
        verify_bundle([a], envelope, trust, VerifyOptions())


def test_changed_definition(sample: Path, signer) -> None:
    signing, trust = signer
    xml = sample / "sample.xml"
    bundle = [sample / "sample.qcow2", xml]
    envelope = sign(bundle, signing)
    text = xml.read_text()
    xml.write_text(text.replace("<devices>", "<devices>\n\n   ").replace("'", '"'))
    verify_bundle(bundle, envelope, trust, VerifyOptions())  # same canonical domain
    xml.write_text(text.replace("</devices>", "<hostdev mode='subsystem' type='pci'/></devices>"))
    with pytest.raises(BundleModified) as caught:
        verify_bundle(bundle, envelope, trust, VerifyOptions())
    assert caught.value.changes[0].kind is ChangeKind.DEFINITION


def test_truncated_and_extended_images(sample: Path, signer) -> None:
    signing, trust = signer
    raw = sample / "disk.raw"
    qemu_img("convert", "-O", "raw", sample / "sample.qcow2", raw)
    envelope = sign([raw], signing)
    size = raw.stat().st_size
    os.truncate(raw, size - 3 * 1024 * 1024)
    with pytest.raises(BundleModified, match="truncated") as caught:
        verify_bundle([raw], envelope, trust, VerifyOptions())
    assert caught.value.changes[0].ranges[-1].end == size
    qcow2 = sample / "sample.qcow2"
    envelope = sign([qcow2], signing)
    qemu_img("resize", qcow2, "+1M")
    with pytest.raises(BundleModified, match="extended"):
        verify_bundle([qcow2], envelope, trust, VerifyOptions())


def test_replaced_backing_file(sample: Path, signer) -> None:
    signing, trust = signer
    base, overlay = sample / "sample.qcow2", sample / "overlay.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", base.name, "-F", "qcow2", overlay)
    envelope = sign([overlay], signing)
    verify_bundle([overlay], envelope, trust, VerifyOptions())
    replacement = sample / "replacement.qcow2"
    shutil.copy(base, replacement)
    qemu_write(replacement, "qcow2", guest_file_offset(replacement, "/etc/shadow"), b"\x42" * 64)
    os.replace(replacement, base)
    with pytest.raises(BundleModified, match=r"backing file sample\.qcow2 differs") as caught:
        verify_bundle([overlay], envelope, trust, VerifyOptions())
    assert "/etc/shadow" in {h.path for h in caught.value.changes[0].guest_files}


def test_downgrade_to_an_older_signed_manifest(sample: Path, signer) -> None:
    signing, trust = signer
    bundle = [sample / "sample.qcow2", sample / "sample.xml"]
    then = datetime(2025, 1, 1, tzinfo=UTC)
    old = sign(bundle, signing, manifest_version=1, signed_at=then)
    new = sign(bundle, signing, manifest_version=2, signed_at=then + timedelta(days=30))
    cutoff = then + timedelta(days=10)
    verify_bundle(bundle, new, trust, VerifyOptions(not_before=cutoff))
    verify_bundle(bundle, old, trust, VerifyOptions())  # valid on its own
    with pytest.raises(ManifestTooOld, match="not-before"):
        verify_bundle(bundle, old, trust, VerifyOptions(not_before=cutoff))
    with pytest.raises(ManifestTooOld, match="min-version"):
        verify_bundle(bundle, old, trust, VerifyOptions(min_version=2))


@pytest.mark.slow
def test_debian_disk_across_formats_and_tampering(debian_variants, signer, tmp_path: Path) -> None:
    signing, trust = signer
    envelope = sign([debian_variants.get("raw")], signing)
    for variant in ("qcow2", "vmdk-streamOptimized", "vhdx"):
        verify_bundle([debian_variants.get(variant)], envelope, trust, VerifyOptions())
    image = tmp_path / "debian.qcow2"
    shutil.copy(debian_variants.get("qcow2"), image)
    for path in ("/etc/shadow", "/usr/bin/login"):
        qemu_write(image, "qcow2", guest_file_offset(image, path), b"\x41" * 512)
    with pytest.raises(BundleModified) as caught:
        verify_bundle([image], envelope, trust, VerifyOptions())
    named = {hit.path for hit in caught.value.changes[0].guest_files}
    assert {"/etc/shadow", "/usr/bin/login"} <= named
