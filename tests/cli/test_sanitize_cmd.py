"""``vmguard sanitize``: the operations list, refusals (exit 2, input untouched), --keep,
--operations, --in-place, --isolated, and --sign verified by ``vmguard verify``."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from clirunner import vmguard
from sanitize.sanitizeimages import sha256
from vmguard.demo.sample import build_sample_vm
from vmguard.inspection import ImageOptions, open_guest
from vmguard.sanitize.catalogue import OPERATIONS

BIG = 4 << 30  # qemu-img reserves more address space than the default cap allows


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_vm(tmp_path_factory.mktemp("sample")).image


def _copy(sample: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "in.qcow2"
    shutil.copy(sample, copy)
    return copy


def _sanitize(*args: str | Path) -> dict:
    run = vmguard("sanitize", *args, "--format", "json", timeout=300, memory_cap=BIG)
    assert run.code in (0, 1), run.stderr
    return json.loads(run.stdout)


def test_list_names_every_operation() -> None:
    run = vmguard("sanitize", "--list")
    assert run.code == 0
    names = [line.split()[0] for line in run.stdout.splitlines()]
    assert names == [o.name for o in OPERATIONS] + ["zero-free-space"]


def test_refusals_leave_the_input_alone(sample: Path, tmp_path: Path) -> None:
    image = _copy(sample, tmp_path)
    before = sha256(image)
    out = tmp_path / "out.qcow2"
    cases = [
        (tmp_path / "missing.qcow2", "-o", out),
        (image,),  # neither -o nor --in-place
        (image, "-o", out, "--in-place"),
        (image, "-o", image),  # would overwrite the input
        (image, "-o", out, "--operations", "logs,nonsense"),
        (image, "-o", out, "--out-format", "vdi"),
        (image, "-o", out, "--sign", tmp_path / "k.pem"),  # --sign without --sig
        (image, "-o", tmp_path),  # a directory
    ]
    for args in cases:
        run = vmguard("sanitize", *args, memory_cap=BIG)
        assert run.code == 2, (args, run.stdout, run.stderr)
        assert run.stderr.startswith("vmguard: error:") and "Traceback" not in run.stderr
    assert sha256(image) == before and not out.exists()


def test_isolated_refuses_a_backing_file_even_beside_the_image(sample: Path, tmp_path) -> None:
    top = tmp_path / "top.qcow2"
    base = _copy(sample, tmp_path)
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", base.name, "-F", "qcow2", str(top)],
        check=True,
        cwd=tmp_path,
    )
    out = tmp_path / "out.qcow2"
    refused = vmguard("sanitize", top, "-o", out, "--isolated", memory_cap=BIG)
    assert refused.code == 2 and "refused" in refused.stderr, refused.stderr
    assert not out.exists()
    report = _sanitize(top, "-o", out, "--workers", "1")  # the usual policy allows it
    assert report["target"]["path"] == str(out)
    assert (
        "backing file"
        not in subprocess.run(["qemu-img", "info", str(out)], capture_output=True, text=True).stdout
    )  # the output stands alone


def test_keep_and_operations_select_what_changes(sample: Path, tmp_path: Path) -> None:
    image = _copy(sample, tmp_path)
    out = tmp_path / "out.qcow2"
    report = _sanitize(
        image, "-o", out, "--operations", "ssh-hostkeys,histories",
        "--keep", "/etc/ssh/ssh_host_rsa_key", "--no-zero-free-space", "--workers", "1",
    )  # fmt: skip
    changed = {f["rule_id"] for f in report["findings"] if f["severity"] == "info"}
    assert not {"sanitize.zero-free-space", "sanitize.secret-files", "sanitize.logs"} & changed
    fs = open_guest(out, ImageOptions()).layout.guestfs
    assert fs is not None
    assert fs.stat("/etc/ssh/ssh_host_rsa_key") is not None  # kept
    assert fs.stat("/etc/ssh/ssh_host_ed25519_key") is None
    kept = [f for f in report["findings"] if "kept" in f["evidence"]]
    assert kept and kept[0]["severity"] == "info"
    # the deleted key is still there: zeroing was switched off, and the proof says so
    assert any(f["location"]["area"] == "unallocated" for f in report["findings"])


def test_in_place_only_when_asked_and_sign_is_verifiable(sample: Path, tmp_path: Path) -> None:
    image = _copy(sample, tmp_path)
    key = tmp_path / "k.pem"
    assert vmguard("keygen", "-o", key).code == 0
    sig = tmp_path / "clean.sig"
    before = sha256(image)
    report = _sanitize(
        image, "--in-place", "--out-format", "input", "--sign", key, "--sig", sig,
        "--workers", "1",
    )  # fmt: skip
    assert sha256(image) != before
    assert report["inventory"]["format"] == "qcow2"
    left = [f for f in report["findings"] if not f["rule_id"].startswith("sanitize.")]
    assert not [f for f in left if f["location"]["area"] == "unallocated"]
    assert any(f["rule_id"] == "sanitize.finding-removed" for f in report["findings"])
    verified = vmguard("verify", image, "--sig", sig, "--pubkey", tmp_path / "k.pem.pub")
    assert verified.code == 0, verified.stdout + verified.stderr
    assert not list(tmp_path.glob(".vmguard-sanitize-*"))  # the working copy is gone


def test_an_output_path_the_tools_would_parse_still_works(sample: Path, tmp_path: Path) -> None:
    """debugfs reads "?" in a device name as io options and mtools "@@" as an offset: the
    working copy then lives in the temporary directory, and the output where it was asked."""
    odd = tmp_path / "we?ird@@dir"
    odd.mkdir()
    out = odd / "clean.qcow2"
    report = _sanitize(sample, "-o", out, "--operations", "histories,user-ssh-keys")
    assert out.is_file() and report["target"]["path"] == str(out)
    changed = [f for f in report["findings"] if f["rule_id"] == "sanitize.user-ssh-keys"]
    assert changed and not [f for f in report["findings"] if "failed" in f["evidence"]]
