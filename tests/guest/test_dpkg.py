"""dpkg databases: a real Debian 12 status database (debootstrap minbase, shipped as vmguard's
sample data so results do not depend on this machine's package state), against dpkg-query."""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from vmguard.guest.dpkg import DPKG_STATUS_MAX, read_dpkg_packages

from .dirview import DirView

HOST_STATUS = Path(str(resources.files("vmguard.data").joinpath("sample-dpkg-status")))
INSTALLED = {"installed", "triggers-pending", "triggers-awaited"}


def _oracle(admindir: Path) -> list[tuple[str, str, str, str, str]]:
    """Installed packages as dpkg-query reports them for ``admindir``."""
    fmt = (
        "${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}"
        "\\t${db:Status-Eflag}\\t${db:Status-Status}\\n"
    )
    out = subprocess.run(
        ["dpkg-query", f"--admindir={admindir}", "-W", "-f", fmt],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        name, version, arch, src, src_version, eflag, state = line.split("\t")
        if eflag == "ok" and state in INSTALLED:
            rows.append((name, version, arch, src, src_version))
    return sorted(rows)


@pytest.fixture
def dpkg_root(tmp_path: Path) -> Path:
    if shutil.which("dpkg-query") is None or not HOST_STATUS.exists():
        pytest.skip("needs dpkg-query")
    admin = tmp_path / "var/lib/dpkg"
    admin.mkdir(parents=True)
    shutil.copyfile(HOST_STATUS, admin / "status")
    return tmp_path


def test_matches_dpkg_query(dpkg_root: Path) -> None:
    gathered = read_dpkg_packages(DirView(dpkg_root))
    ours = sorted(
        (p.name, p.version, p.arch, p.source_name or p.name, p.source_version or p.version)
        for p in gathered.value
    )
    assert ours == _oracle(dpkg_root / "var/lib/dpkg")
    assert len(ours) > 50
    assert {p.manager for p in gathered.value} == {"dpkg"}
    assert any(p.source_name and p.source_version for p in gathered.value)


def test_half_installed_is_reported_not_listed(dpkg_root: Path) -> None:
    status = dpkg_root / "var/lib/dpkg/status"
    text = status.read_text()
    first = _oracle(dpkg_root / "var/lib/dpkg")[0][0]
    marker = f"Package: {first}\nStatus: install ok installed\n"
    assert marker in text
    status.write_text(
        text.replace(marker, f"Package: {first}\nStatus: install reinstreq half-installed\n")
    )
    gathered = read_dpkg_packages(DirView(dpkg_root))
    assert first not in {p.name for p in gathered.value}
    assert [p.reason for p in gathered.problems] == [
        f"1 packages not fully installed, not listed: {first} (reinstreq half-installed)"
    ]


def test_oversized_status_is_a_problem(tmp_path: Path) -> None:
    admin = tmp_path / "var/lib/dpkg"
    admin.mkdir(parents=True)
    with open(admin / "status", "wb") as huge:
        huge.truncate(70 * 1024 * 1024)  # sparse 70 MiB: E.34
    assert DPKG_STATUS_MAX < 70 * 1024 * 1024
    gathered = read_dpkg_packages(DirView(tmp_path))
    assert gathered.value == ()
    assert [p.where for p in gathered.problems] == ["/var/lib/dpkg/status"]


def test_distroless_status_d(dpkg_root: Path) -> None:
    """Distroless: no status file, one paragraph per file in status.d/."""
    admin = dpkg_root / "var/lib/dpkg"
    paragraphs = (admin / "status").read_text().split("\n\n")
    (admin / "status").unlink()
    status_d = admin / "status.d"
    status_d.mkdir()
    wanted = [p for p in paragraphs if "Status: install ok installed" in p][:3]
    names = []
    for number, paragraph in enumerate(wanted):
        name = paragraph.split("\n", 1)[0].removeprefix("Package: ")
        names.append(name)
        if number == 0:  # distroless writes files without a Status field
            paragraph = "\n".join(
                line for line in paragraph.splitlines() if not line.startswith("Status:")
            )
        (status_d / name).write_text(paragraph + "\n")
        (status_d / f"{name}.md5sums").write_text("d41d8cd98f00b204e9800998ecf8427e  usr/x\n")
    gathered = read_dpkg_packages(DirView(dpkg_root))
    assert sorted(p.name for p in gathered.value) == sorted(names)
    assert gathered.problems == ()
