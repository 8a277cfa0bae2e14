"""OSV ecosystem strings and OS facts reduced to the same releases."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmguard.guest.facts import OsFacts
from vmguard.vulns.ecosystems import Release, parse_ecosystem, release_of
from vmguard.vulns.errors import UnsupportedLocation
from vmguard.vulns.location import default_location, resolve_location


@pytest.mark.parametrize(
    ("ecosystem", "release"),
    [
        ("Debian:12", Release("Debian", "12")),
        ("Debian:13", Release("Debian", "13")),
        ("Ubuntu:22.04:LTS", Release("Ubuntu", "22.04")),
        ("Ubuntu:24.10", Release("Ubuntu", "24.10")),
        ("Ubuntu:Pro:18.04:LTS", Release("Ubuntu:Pro:18.04:LTS", "")),
        ("Alpine:v3.20", Release("Alpine", "3.20")),
        ("Rocky Linux:9", Release("Rocky Linux", "9")),
        ("AlmaLinux:8", Release("AlmaLinux", "8")),
        ("Red Hat:enterprise_linux:9::appstream", Release("Red Hat", "9")),
        ("Red Hat:rhel_eus:9.2::baseos", Release("Red Hat:rhel_eus:9.2::baseos", "")),
        ("PyPI", Release("PyPI", "")),
    ],
)
def test_parse_ecosystem(ecosystem: str, release: Release) -> None:
    assert parse_ecosystem(ecosystem) == release


@pytest.mark.parametrize(
    ("distro", "version", "release"),
    [
        ("debian", "12.7", Release("Debian", "12")),
        ("ubuntu", "22.04", Release("Ubuntu", "22.04")),
        ("alpine", "3.20.3", Release("Alpine", "3.20")),
        ("rocky", "9.4", Release("Rocky Linux", "9")),
        ("almalinux", "8.10", Release("AlmaLinux", "8")),
        ("rhel", "9.4", Release("Red Hat", "9")),
        ("fedora", "40", None),
        ("debian", "", None),
    ],
)
def test_release_of(distro: str, version: str, release: Release | None) -> None:
    assert release_of(OsFacts(distro=distro, version=version)) == release


def test_locations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("VMGUARD_DB", raising=False)
    assert default_location() == tmp_path / "vmguard" / "vulns.sqlite"
    assert resolve_location(None) == tmp_path / "vmguard" / "vulns.sqlite"
    monkeypatch.setenv("VMGUARD_DB", "/srv/v.sqlite")
    assert resolve_location(None) == Path("/srv/v.sqlite")
    assert resolve_location("sqlite:///rel/v.sqlite") == Path("rel/v.sqlite")
    assert resolve_location("sqlite:////abs/v.sqlite") == Path("/abs/v.sqlite")
    for refused in ("sqlite://", "postgresql://u@h/db", "https://example.org/db"):
        with pytest.raises(UnsupportedLocation):
            resolve_location(refused)
