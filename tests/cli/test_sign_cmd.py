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
