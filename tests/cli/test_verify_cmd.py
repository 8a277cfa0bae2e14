"""``vmguard verify``: exit 0 valid, 1 invalid (saying what changed), 2 unusable input."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from clirunner import vmguard
from signedbundle import SignedBundle, digests, make_signed_bundle
from vmguard.inspection import ImageOptions, open_guest


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> SignedBundle:
    return make_signed_bundle(tmp_path_factory.mktemp("signed"))


@pytest.fixture
def bundle(template: SignedBundle, tmp_path: Path) -> SignedBundle:
    return make_signed_bundle(tmp_path / "b", template.disk.parent)


def test_valid(bundle: SignedBundle, tmp_path: Path) -> None:
    before = digests(bundle.files)
    trust = tmp_path / "trust"
    trust.mkdir()
    shutil.copy(bundle.pubkey, trust / "signer.pub")
    run = vmguard("verify", *bundle.files, "--sig", bundle.sig, "--pubkey", bundle.pubkey)
    assert run.code == 0, run.stderr
    assert run.stdout.startswith("VALID:")
    js = vmguard(
        "verify", *bundle.files, "--sig", bundle.sig, "--trust", trust, "--format", "json",
    )  # fmt: skip
    assert js.code == 0, js.stderr
    report = json.loads(js.stdout)
    assert report["target"]["kind"] == "bundle" and report["findings"] == []
    assert digests(bundle.files) == before
    private = vmguard("verify", *bundle.files, "--sig", bundle.sig, "--trust", bundle.key.parent)
    assert private.code == 2 and "private key" in private.stderr


def _tamper_shadow(disk: Path) -> None:
    guest = open_guest(disk, ImageOptions())
    assert guest.layout.guestfs is not None
    _, mount, node = guest.layout.guestfs.resolve("/etc/shadow")  # type: ignore[misc]
    placed = next(p for p in guest.layout.volumes if p.filesystem is mount.fs)
    offset = placed.volume.start + node.get_extent(0)[0]
    subprocess.run(
        ["qemu-io", "-f", "qcow2", "-c", f"write -P 65 {offset} 512", disk],
        check=True,
        capture_output=True,
    )


def test_modified_disk_exit_1_names_ranges_and_files(bundle: SignedBundle) -> None:
    _tamper_shadow(bundle.disk)
    run = vmguard("verify", *bundle.files, "--sig", bundle.sig, "--pubkey", bundle.pubkey)
    assert run.code == 1, run.stderr
    assert run.stdout.startswith("INVALID:")
    assert "changed bytes 0x" in run.stdout and "guest file /etc/shadow" in run.stdout
    js = vmguard(
        "verify", *bundle.files, "--sig", bundle.sig, "--pubkey", bundle.pubkey,
        "--format", "json",
    )  # fmt: skip
    assert js.code == 1
    findings = json.loads(js.stdout)["findings"]
    rules = {f["rule_id"] for f in findings}
    assert {"integrity.disk-modified", "integrity.guest-file-modified"} <= rules
    assert all(f["threat"] == "vm-modification" for f in findings)
    assert "/etc/shadow" in {f["location"]["path"] for f in findings}


def test_wrong_key_and_old_manifest_exit_1(bundle: SignedBundle, tmp_path: Path) -> None:
    assert vmguard("keygen", "-o", tmp_path / "other.pem").code == 0
    wrong = vmguard(
        "verify", *bundle.files, "--sig", bundle.sig, "--pubkey", tmp_path / "other.pem.pub"
    )
    assert wrong.code == 1 and "INVALID" in wrong.stdout
    future = "2999-01-01T00:00:00Z"
    old = vmguard(
        "verify", *bundle.files, "--sig", bundle.sig, "--pubkey", bundle.pubkey,
        "--not-before", future,
    )  # fmt: skip
    assert old.code == 1 and "not-before" in old.stdout


def test_unusable_input_exit_2(bundle: SignedBundle, tmp_path: Path) -> None:
    canary = tmp_path / "canary.qcow2"
    canary.write_bytes(b"never open me")
    doc = json.loads(bundle.sig.read_text())
    payload = json.loads(base64.b64decode(doc["payload"]))
    payload["predicate"]["disks"][0]["name"] = str(canary)
    doc["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\x00" * 1000)
    cases = [
        ("--sig", junk, "--pubkey", bundle.pubkey),
        ("--sig", tmp_path / "missing.json", "--pubkey", bundle.pubkey),
        ("--sig", bundle.sig),  # nobody trusted
        ("--sig", bundle.sig, "--pubkey", junk),
        ("--sig", bundle.sig, "--pubkey", bundle.pubkey, "--not-before", "yesterday"),
    ]
    for extra in cases:
        run = vmguard("verify", *bundle.files, *extra)
        assert run.code == 2, (extra, run.stdout, run.stderr)
        assert run.stderr.startswith("vmguard: error:") and len(run.stderr.splitlines()) == 1
    traced = vmguard(
        "verify", *bundle.files, "--sig", forged, "--pubkey", bundle.pubkey, trace=True
    )
    assert traced.code == 1  # the forged payload no longer matches its signature
    assert str(canary) not in traced.opened
