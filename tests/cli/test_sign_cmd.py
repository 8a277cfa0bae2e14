"""``vmguard sign``: real bundles, inputs untouched, hostile or wrong input refused (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirunner import vmguard
from signedbundle import SignedBundle, digests, make_signed_bundle


@pytest.fixture(scope="module")
def signed_template(tmp_path_factory: pytest.TempPathFactory) -> SignedBundle:
    return make_signed_bundle(tmp_path_factory.mktemp("signed"))


def test_sign_writes_an_envelope_and_never_modifies_inputs(signed_template, tmp_path) -> None:
    bundle = make_signed_bundle(tmp_path / "b", signed_template.disk.parent)
    before = digests(bundle.files)
    run = vmguard("sign", *bundle.files, "--key", bundle.key, "-o", tmp_path / "s.json")
    assert run.code == 0, run.stderr
    assert digests(bundle.files) == before
    envelope = json.loads((tmp_path / "s.json").read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert len(envelope["signatures"]) == 1


def test_sign_refusals(signed_template, tmp_path: Path) -> None:
    key = signed_template.key
    disk = signed_template.disk
    cases = [
        ("sign", tmp_path / "missing.qcow2", "--key", key, "-o", tmp_path / "s"),
        ("sign", disk, "--key", key, "-o", disk),  # would overwrite an input
        ("sign", disk, "--key", tmp_path / "nokey.pem", "-o", tmp_path / "s"),
        ("sign", disk, "--key", key, "-o", tmp_path / "s", "--glance"),
        ("sign", disk, "--key", key, "-o", tmp_path / "s", "--glance", "--cert-uuid", "x"),
    ]
    bad_xml = tmp_path / "bad.xml"
    bad_xml.write_text("<notadomain/>")
    cases.append(("sign", bad_xml, "--key", key, "-o", tmp_path / "s"))
    before = digests([disk])
    for args in cases:
        run = vmguard(*args)
        assert run.code == 2, (args, run.stdout, run.stderr)
        assert run.stderr.startswith("vmguard: error:"), run.stderr
        assert "Traceback" not in run.stderr
    assert digests([disk]) == before


def test_sign_does_not_follow_backing_files_outside_policy(signed_template, tmp_path) -> None:
    import subprocess

    outside = tmp_path / "outside"
    outside.mkdir()
    base = outside / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", base, "4M"], check=True)
    inside = tmp_path / "inside"
    inside.mkdir()
    top = inside / "top.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-f", "qcow2", "-b", str(base), "-F", "qcow2", top], check=True
    )
    run = vmguard("sign", top, "--key", signed_template.key, "-o", tmp_path / "s", trace=True)
    assert run.code == 2 and "outside the image directory" in run.stderr
    assert str(base) not in run.opened
    allowed = vmguard(
        "sign", top, "--key", signed_template.key, "-o", tmp_path / "s", "--allow-dir", outside
    )
    assert allowed.code == 0, allowed.stderr


def test_certificate_chain_signature_verifies_against_a_ca(signed_template, tmp_path) -> None:
    from cryptography.hazmat.primitives import serialization

    from certs import make_pki, pem
    from vmguard.integrity.keys import load_signing_key

    key = load_signing_key(signed_template.key)
    pki = make_pki()
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pem(pki.leaf(key.key.public_key()), pki.inter))
    cas = tmp_path / "cas"
    cas.mkdir()
    (cas / "root.crt").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    disk = signed_template.disk
    sig = tmp_path / "s.json"
    run = vmguard("sign", disk, "--key", signed_template.key, "--cert", chain, "-o", sig)
    assert run.code == 0, run.stderr
    ok = vmguard("verify", disk, "--sig", sig, "--trust", cas)
    assert ok.code == 0, ok.stdout + ok.stderr
    assert "vm signer" in ok.stdout
    other = make_pki("another root")
    (cas / "root.crt").write_bytes(other.root.public_bytes(serialization.Encoding.PEM))
    refused = vmguard("verify", disk, "--sig", sig, "--trust", cas)
    assert refused.code == 1 and "not trusted" in refused.stdout
