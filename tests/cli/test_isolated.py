"""``--isolated``: no file an image names is opened, not even one in the image's own
directory, by inspect, scan, sign, verify or fleet scan (checked under strace)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from clirunner import Run, vmguard


@dataclass(frozen=True)
class Shape:
    image: Path
    referenced: tuple[Path, ...]
    """Files the image names, all in its own directory, none of which may be opened."""


def _qemu_img(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run(["qemu-img", *map(str, args)], check=True, capture_output=True, cwd=cwd)


def _build(directory: Path, shape: str) -> Shape:
    d = directory / shape
    d.mkdir()
    if shape == "linked-clone":
        _qemu_img("create", "-f", "qcow2", d / "base.qcow2", "8M")
        _qemu_img("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", d / "clone.qcow2")
        return Shape(d / "clone.qcow2", (d / "base.qcow2",))
    if shape == "neighbour-backing":
        (d / "neighbour.raw").write_bytes(b"a neighbour's upload\n" * 1000)
        backing = ("-b", "neighbour.raw", "-F", "raw")
        _qemu_img("create", "-f", "qcow2", "-u", *backing, d / "t.qcow2", "1M")
        return Shape(d / "t.qcow2", (d / "neighbour.raw",))
    if shape == "qcow2-data-file":
        data_file = ("-o", "data_file=d.raw,data_file_raw=on")
        _qemu_img("create", "-f", "qcow2", *data_file, "t.qcow2", "8M", cwd=d)
        return Shape(d / "t.qcow2", (d / "d.raw",))
    if shape == "vmdk-parent":
        _qemu_img("create", "-f", "vmdk", d / "base.vmdk", "8M")
        _qemu_img("create", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", d / "delta.vmdk")
        return Shape(d / "delta.vmdk", (d / "base.vmdk",))
    if shape == "monolithic-flat":
        _qemu_img("create", "-f", "vmdk", "-o", "subformat=monolithicFlat", d / "f.vmdk", "8M")
        return Shape(d / "f.vmdk", (d / "f-flat.vmdk",))
    if shape == "two-gb-sparse":
        subformat = ("-o", "subformat=twoGbMaxExtentSparse")
        _qemu_img("create", "-f", "vmdk", *subformat, d / "s.vmdk", "3G")
        extents = tuple(sorted(p for p in d.iterdir() if p.name != "s.vmdk"))
        assert len(extents) == 2, extents
        return Shape(d / "s.vmdk", extents)
    raise AssertionError(shape)


SHAPES = (
    "linked-clone",
    "neighbour-backing",
    "qcow2-data-file",
    "vmdk-parent",
    "monolithic-flat",
    "two-gb-sparse",
)


def assert_isolated_refusal(run: Run, shape: Shape) -> None:
    assert run.code == 2, (run.code, run.stdout[-400:], run.stderr[-400:])
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmguard: error: "), run.stderr[-600:]
    assert "--isolated" in lines[0], lines[0]
    assert_unopened(run, shape)


def assert_unopened(run: Run, shape: Shape) -> None:
    names = {p.name for p in shape.referenced}
    opened = [p for p in run.opened if Path(p).name in names]
    assert not opened, opened


@pytest.mark.parametrize("name", SHAPES)
def test_inspect_isolated_refuses_every_reference_unopened(tmp_path: Path, name: str) -> None:
    shape = _build(tmp_path, name)
    # Without --isolated the policy allows the image's own directory: the file is opened,
    # so the strace check below is one that can fail.
    allowed = vmguard("inspect", shape.image, trace=True)
    assert any(Path(p).name == shape.referenced[0].name for p in allowed.opened), allowed.stderr
    assert_isolated_refusal(vmguard("inspect", "--isolated", shape.image, trace=True), shape)


@pytest.mark.parametrize("name", ["linked-clone", "vmdk-parent"])
@pytest.mark.parametrize("command", ["scan", "vulns", "sbom"])
def test_scan_vulns_sbom_isolated(tmp_path: Path, name: str, command: str) -> None:
    shape = _build(tmp_path, name)
    extra: tuple[str | Path, ...] = ()
    if command == "vulns":  # it opens its advisory index before the image
        from vulns.osvdata import debian_record, write_all_zip

        index = tmp_path / "index.sqlite"
        advisories = write_all_zip(tmp_path / "all.zip", [debian_record("D-1", "x", "1")])
        assert vmguard("db", "import", "--db", index, advisories).code == 0
        extra = ("--db", index)
    run = vmguard(command, "--isolated", *extra, shape.image, trace=True, timeout=120)
    assert_isolated_refusal(run, shape)


def test_sign_and_verify_isolated(tmp_path: Path) -> None:
    shape = _build(tmp_path, "linked-clone")
    key = tmp_path / "k.pem"
    assert vmguard("keygen", "-o", key).code == 0
    sig = tmp_path / "s.json"
    run = vmguard("sign", "--isolated", shape.image, "--key", key, "-o", sig, trace=True)
    assert_isolated_refusal(run, shape)
    assert not sig.exists()
    signed = vmguard("sign", shape.image, "--key", key, "-o", sig)
    assert signed.code == 0, signed.stderr
    pub = Path(f"{key}.pub")
    assert vmguard("verify", shape.image, "--sig", sig, "--pubkey", pub).code == 0
    run = vmguard("verify", "--isolated", shape.image, "--sig", sig, "--pubkey", pub, trace=True)
    assert_isolated_refusal(run, shape)


def test_fleet_scan_isolated_records_the_refusal_scans_the_rest_and_exits_2(
    tmp_path: Path,
) -> None:
    """A fleet run goes on past one refused image (its failure policy): the refusal is
    reported for that image, its referenced file is never opened, the other image is
    scanned and stored, and the run exits 2 so that an upload pipeline gating on the exit
    code does not pass an image --isolated refused."""
    shape = _build(tmp_path, "linked-clone")
    alone = tmp_path / "alone.qcow2"
    _qemu_img("create", "-f", "qcow2", alone, "8M")
    db = tmp_path / "f.sqlite"
    run = vmguard("fleet", "scan", "--isolated", shape.image, alone, "--db", db,
                  trace=True, timeout=180)  # fmt: skip
    assert "1 scanned" in run.stdout and "1 failed" in run.stdout, run.stdout + run.stderr
    failed = [line for line in run.stdout.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and "clone.qcow2" in failed[0] and "--isolated" in failed[0]
    assert_unopened(run, shape)
    assert run.code == 2, (run.code, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmguard: error: 1 of 2 images refused")
    assert "clone.qcow2" in lines[0]
    # Without --isolated the same catalogue scans whole (the clone's backing file is beside
    # it) and exits 0; an image failing for another reason does not make --isolated exit 2.
    assert vmguard("fleet", "scan", shape.image, alone, "--db", db, timeout=180).code == 0
    broken = tmp_path / "broken.qcow2"
    broken.write_bytes(b"QFI\xfb" + bytes(508))
    run = vmguard("fleet", "scan", "--isolated", alone, broken, "--db", db, timeout=180)
    assert "1 failed" in run.stdout and run.code == 0, (run.code, run.stdout, run.stderr)


def test_isolated_and_allow_dir_contradict(tmp_path: Path) -> None:
    shape = _build(tmp_path, "linked-clone")
    run = vmguard("inspect", "--isolated", "--allow-dir", tmp_path, shape.image)
    assert run.code == 2 and "drop --allow-dir" in run.stderr
