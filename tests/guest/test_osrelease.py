"""os-release, legacy release files and hostname, on trees built from real files."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vmguard.guest.osrelease import SMALL_FILE_MAX, parse_os_release, read_linux_os

from .dirview import DirView


def _sourced(path: Path, name: str) -> str:
    """The value a POSIX shell gets for ``name`` after sourcing ``path`` (the oracle)."""
    out = subprocess.run(
        ["sh", "-c", f'. "$1" && printf %s "${name}"', "sh", str(path)],
        check=True,
        capture_output=True,
    )
    return out.stdout.decode()


@pytest.fixture
def debian_tree(tmp_path: Path) -> Path:
    """This machine's os-release layout: /etc/os-release -> ../usr/lib/os-release."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "usr/lib").mkdir(parents=True)
    shutil.copyfile("/usr/lib/os-release", tmp_path / "usr/lib/os-release")
    os.symlink(os.readlink("/etc/os-release"), tmp_path / "etc/os-release")
    shutil.copyfile("/etc/debian_version", tmp_path / "etc/debian_version")
    (tmp_path / "etc/hostname").write_bytes(b"web-01\nignored\n")
    return tmp_path


def test_debian_host_os_release_matches_shell(debian_tree: Path) -> None:
    facts = read_linux_os(DirView(debian_tree))
    real = Path("/usr/lib/os-release")
    assert facts.problems == ()
    assert facts.value.family == "linux"
    assert facts.value.distro == _sourced(real, "ID")
    assert facts.value.pretty_name == _sourced(real, "PRETTY_NAME")
    assert facts.value.codename == _sourced(real, "VERSION_CODENAME")
    assert facts.value.hostname == "web-01"


def test_debian_point_release_preferred(debian_tree: Path) -> None:
    point = Path("/etc/debian_version").read_text().strip()
    if Path("/usr/lib/os-release").read_text().find("ID=debian") < 0:
        pytest.skip("this machine is not Debian")
    assert read_linux_os(DirView(debian_tree)).value.version == point
    (debian_tree / "etc/debian_version").write_text("11.3\n")  # stale after an upgrade
    assert read_linux_os(DirView(debian_tree)).value.version == _sourced(
        Path("/usr/lib/os-release"), "VERSION_ID"
    )


def test_escape_sequences_stripped(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_bytes(
        b'ID=evil\nPRETTY_NAME="Evil \x1b]0;pwned\x07\x1b[2J OS \xff"\nVERSION_ID=1\n'
    )
    (tmp_path / "etc/hostname").write_bytes(b"\x1b[31mhost\x00name\n")
    facts = read_linux_os(DirView(tmp_path)).value
    assert facts.pretty_name == "Evil ]0;pwned[2J OS \ufffd"
    assert facts.hostname == "[31mhostname"
    assert not any(ord(c) < 32 for c in facts.pretty_name + facts.hostname)


def test_usr_lib_fallback_and_oversized_etc(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/os-release").write_text('ID="fedora"\nVERSION_ID=40\n')
    with open(tmp_path / "etc/os-release", "wb") as huge:
        huge.truncate(SMALL_FILE_MAX + 1)  # sparse: costs no disk
    gathered = read_linux_os(DirView(tmp_path))
    assert (gathered.value.distro, gathered.value.version) == ("fedora", "40")
    assert [p.where for p in gathered.problems] == ["/etc/os-release"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("redhat-release", "CentOS Linux release 7.9.2009 (Core)\n", ("centos", "7.9.2009")),
        ("redhat-release", "Red Hat Enterprise Linux release 8.10 (Ootpa)\n", ("rhel", "8.10")),
        ("alpine-release", "3.20.3\n", ("alpine", "3.20.3")),
        ("debian_version", "10.13\n", ("debian", "10.13")),
        (
            "lsb-release",
            "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\nDISTRIB_CODENAME=trusty\n",
            ("ubuntu", "14.04"),
        ),
    ],
)
def test_legacy_release_files(
    tmp_path: Path, name: str, content: str, expected: tuple[str, str]
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / name).write_text(content)
    facts = read_linux_os(DirView(tmp_path)).value
    assert (facts.family, facts.distro, facts.version) == ("linux", *expected)


def test_no_release_file_is_unknown(tmp_path: Path) -> None:
    facts = read_linux_os(DirView(tmp_path))
    assert facts.value.family == "unknown"
    assert facts.problems == ()


def test_escaping_symlinks_stay_in_guest(tmp_path: Path) -> None:
    """/etc/hostname -> ../../../../etc/hostname must not reach the host's file."""
    (tmp_path / "etc").mkdir()
    os.symlink("../../../../../../etc/hostname", tmp_path / "etc/hostname")
    os.symlink("/etc/os-release", tmp_path / "etc/os-release")  # loops onto itself
    gathered = read_linux_os(DirView(tmp_path))
    assert gathered.value.hostname == ""  # the link resolves to itself: a loop, not the host
    assert gathered.value.family == "unknown"


def test_parse_quoting() -> None:
    fields = parse_os_release(
        b'A=\'single $x\'\nB="dq \\"q\\" \\$HOME"\nC=bare\n# comment\nbad line\nC=later\n'
    )
    assert fields == {"A": "single $x", "B": 'dq "q" $HOME', "C": "later"}


def test_old_ubuntu_prefers_lsb_release(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/debian_version").write_text("wheezy/sid\n")
    (tmp_path / "etc/lsb-release").write_text("DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=12.04\n")
    facts = read_linux_os(DirView(tmp_path)).value
    assert (facts.distro, facts.version) == ("ubuntu", "12.04")


def test_bidi_and_zero_width_characters_removed(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('ID=x\nPRETTY_NAME="safe\u202egnp.exe\u200b"\n')
    assert read_linux_os(DirView(tmp_path)).value.pretty_name == "safegnp.exe"
