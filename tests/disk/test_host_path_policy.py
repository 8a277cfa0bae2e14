"""HostPathPolicy: every name an image stores ends in a host path inside an allowed
directory or in HostPathRefused, whatever the host's lookup says about it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from clirunner import vmguard
from vmguard.disk.errors import HostPathRefused
from vmguard.disk.policy import HostPathPolicy
from vmguard.text import MAX_SHOWN_NAME


@pytest.mark.parametrize(
    "name",
    [
        "a" * 300,  # one component past NAME_MAX: ENAMETOOLONG from stat
        "b/" * 2100 + "c",  # past PATH_MAX
        "loop/x",  # ELOOP
        "file.raw/inside",  # ENOTDIR
    ],
)
def test_names_the_host_cannot_look_up_are_refused(tmp_path: Path, name: str) -> None:
    """Fuzzer find: a name longer than NAME_MAX made Path.is_file() raise ENAMETOOLONG."""
    image = tmp_path / "top.qcow2"
    image.write_bytes(b"")
    (tmp_path / "file.raw").write_bytes(b"")
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(HostPathRefused) as caught:
        HostPathPolicy().resolve(name, image, "backing file")
    assert len(caught.value.diagnostics()) < 2 * MAX_SHOWN_NAME + 300


def test_a_directory_is_not_a_referenced_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    with pytest.raises(HostPathRefused, match="not a regular file"):
        HostPathPolicy().resolve("sub", tmp_path / "top.qcow2", "extent")


def test_follow_references_off_refuses_even_the_image_directory(tmp_path: Path) -> None:
    (tmp_path / "base.raw").write_bytes(b"")
    assert HostPathPolicy().resolve("base.raw", tmp_path / "top", "x") == tmp_path / "base.raw"
    with pytest.raises(HostPathRefused, match="--isolated"):
        HostPathPolicy(follow_references=False).resolve("base.raw", tmp_path / "top", "x")


def test_overlong_backing_name_through_the_command(tmp_path: Path) -> None:
    image = tmp_path / "top.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-f", "qcow2", "-u", "-F", "raw", "-b", "n" * 300, image, "1M"],
        check=True,
        capture_output=True,
    )
    run = vmguard("inspect", image)
    assert run.code == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmguard: error: backing file"), run.stderr
    assert "internal error" not in lines[0] and "cannot be looked up" in lines[0]
    assert "n" * (MAX_SHOWN_NAME + 1) not in lines[0]
