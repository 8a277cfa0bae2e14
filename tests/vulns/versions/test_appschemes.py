"""Application version orderings against their reference implementations and specs.

Oracles: Maven's own ``ComparableVersion`` (Debian's maven-artifact jar, run by java),
RubyGems' ``Gem::Version`` (Debian's ruby), the ``semver`` package for SemVer 2.0; PEP 440
is ``packaging`` itself, checked against the specification's ordered example list. Each
oracle test skips, saying which tool is missing, when that tool is absent.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import semver

from vmguard.vulns.versions import UnorderableVersion, VersionScheme, compare_versions
from vmguard.vulns.versions.composer import compare_composer
from vmguard.vulns.versions.maven import compare_maven
from vmguard.vulns.versions.rubygems import compare_rubygems

from .appgenerated import maven_versions, ruby_versions, semver_versions

MAVEN_JAR = Path("/usr/share/java/maven-artifact-3.x.jar")


def _assert_ascending(scheme: VersionScheme, ordered: list[str]) -> None:
    for i, a in enumerate(ordered):
        for j, b in enumerate(ordered):
            assert compare_versions(scheme, a, b) == (i > j) - (i < j), (a, b)


def test_pep440_specification_order() -> None:
    # The ordered example list of PEP 440 ("Summary of permitted suffixes and relative
    # ordering"), local versions included.
    _assert_ascending(
        VersionScheme.PEP440,
        [
            "1.dev0",
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ],
    )
    assert compare_versions(VersionScheme.PEP440, "1.0", "1.0.0") == 0
    assert compare_versions(VersionScheme.PEP440, "1!0.1", "2.0") == 1
    with pytest.raises(UnorderableVersion):
        compare_versions(VersionScheme.PEP440, "not a version", "1.0")


def test_semver_specification_precedence() -> None:
    # SemVer 2.0.0, section 11.
    _assert_ascending(
        VersionScheme.SEMVER,
        [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ],
    )
    assert compare_versions(VersionScheme.SEMVER, "1.0.0+build.1", "1.0.0+build.2") == 0
    assert compare_versions(VersionScheme.SEMVER, "v1.2.3", "1.2.3") == 0
    with pytest.raises(UnorderableVersion):
        compare_versions(VersionScheme.SEMVER, "1.2.3.4", "1.0.0")


def test_semver_against_the_semver_package() -> None:
    versions = semver_versions(300)
    for a, b in itertools.pairwise(versions):
        expected = semver.Version.parse(a).compare(b)
        assert compare_versions(VersionScheme.SEMVER, a, b) == expected, (a, b)


def test_go_versions() -> None:
    _assert_ascending(
        VersionScheme.GO,
        [
            "v0.0.0-20190101000000-abcdef012345",
            "v0.1.0",
            "v1.0.0-rc.1",
            "v1.0.0",
            "v2.0.0+incompatible",
        ],
    )
    assert compare_versions(VersionScheme.GO, "go1.19.8", "1.19.8") == 0


def test_maven_documented_order() -> None:
    # Maven's ComparableVersion test lists (qualifiers, then numbers), in ascending order.
    _assert_ascending(
        VersionScheme.MAVEN,
        [
            "1-alpha2snapshot",
            "1-alpha2",
            "1-alpha-123",
            "1-beta-2",
            "1-beta123",
            "1-m2",
            "1-m11",
            "1-rc",
            "1-cr2",
            "1-rc123",
            "1-SNAPSHOT",
            "1",
            "1-sp",
            "1-sp2",
            "1-sp123",
            "1-abc",
            "1-def",
            "1-pom-1",
            "1-1-snapshot",
            "1-1",
            "1-2",
            "1-123",
        ],
    )
    # The numbers list as Maven 3.8 orders it: a trailing ".a" now reads as "-a", so 2.0.a
    # (== 2.0.0.a) sorts below 2-1, where Maven 3.0's list had it above.
    _assert_ascending(
        VersionScheme.MAVEN,
        [
            "2.0",
            "2.0.a",
            "2-1",
            "2.0.2",
            "2.0.123",
            "2.1.0",
            "2.1-a",
            "2.1b",
            "2.1-c",
            "2.1-1",
            "2.1.0.1",
            "2.2",
            "2.123",
            "11.a2",
            "11.a11",
            "11.b2",
            "11.b11",
            "11.m2",
            "11.m11",
            "11",
            "11.a",
            "11b",
            "11c",
            "11m",
        ],
    )
    pairs = [("1", "1.0"), ("1.ga", "1-0"), ("1-a1", "1-alpha-1"), ("1.foo", "1-foo")]
    for a, b in [*pairs, ("2.0.a", "2.0.0.a")]:
        assert compare_maven(a, b) == 0, (a, b)


def _maven_oracle(versions: list[str]) -> list[int]:
    out = subprocess.run(
        [
            "java",
            "-cp",
            str(MAVEN_JAR),
            "org.apache.maven.artifact.versioning.ComparableVersion",
            *versions,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line.strip() for line in out.splitlines() if line.startswith("   ")]
    results = []
    for line, a, b in zip(lines, versions, versions[1:], strict=False):
        for op, value in (("<", -1), ("==", 0), (">", 1)):
            if line == f"{a} {op} {b}":
                results.append(value)
    assert len(results) == len(versions) - 1
    return results


@pytest.mark.skipif(
    not MAVEN_JAR.is_file() or shutil.which("java") is None,
    reason="Maven's ComparableVersion oracle needs java and libmaven3-core-java",
)
def test_maven_against_comparableversion() -> None:
    versions = [*maven_versions(400), "2.14.1", "2.15.0-rc1", "2.15.0", "2.17.0.redhat-1"]
    expected = _maven_oracle(versions)
    got = [compare_maven(a, b) for a, b in itertools.pairwise(versions)]
    assert got == expected


def test_rubygems_documented_order() -> None:
    _assert_ascending(
        VersionScheme.RUBYGEMS,
        ["1.0.a", "1.0.b1", "1.0.rc1", "1.0", "1.0.1", "1.1", "2.0.0.pre", "2.0.0"],
    )
    assert compare_rubygems("1.0.0", "1") == 0
    assert compare_rubygems("1.0.0-rc1", "1.0.0.pre.rc1") == 0
    with pytest.raises(UnorderableVersion):
        compare_rubygems("junk version", "1")


@pytest.mark.skipif(shutil.which("ruby") is None, reason="Gem::Version oracle needs ruby")
def test_rubygems_against_gem_version(tmp_path: Path) -> None:
    versions = [*ruby_versions(300), "1.0.0-rc1", "1.0.0.pre.rc1", "2.2.3"]
    listing = tmp_path / "versions.json"
    listing.write_text(json.dumps(versions))
    script = (
        "require 'json'; v = JSON.parse(File.read(ARGV[0])); "
        "v.each_cons(2) { |a, b| puts(Gem::Version.new(a) <=> Gem::Version.new(b)) }"
    )
    out = subprocess.run(
        ["ruby", "-e", script, str(listing)], capture_output=True, text=True, check=True
    ).stdout
    expected = [int(line) for line in out.split()]
    assert [compare_rubygems(a, b) for a, b in itertools.pairwise(versions)] == (expected)


def test_composer_order() -> None:
    _assert_ascending(
        VersionScheme.COMPOSER,
        [
            "1.0.0-dev",
            "1.0.0-alpha1",
            "1.0.0-beta2",
            "1.0.0-RC1",
            "1.0.0",
            "1.0.0-p1",
            "1.0.1",
            "v1.1",
            "2.0.0.1",
        ],
    )
    assert compare_composer("v1.2", "1.2.0.0") == 0
    with pytest.raises(UnorderableVersion):
        compare_composer("dev-main", "1.0.0")


def test_nuget_order() -> None:
    _assert_ascending(
        VersionScheme.NUGET,
        [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.2",
            "1.0.0-alpha.10",
            "1.0.0-beta",
            "1.0.0",
            "1.0.0.1",
            "1.0.1",
            "1.1",
        ],
    )
    assert compare_versions(VersionScheme.NUGET, "1.0", "1.0.0.0") == 0
    assert compare_versions(VersionScheme.NUGET, "1.0.0-ALPHA", "1.0.0-alpha") == 0
    assert compare_versions(VersionScheme.NUGET, "1.0.0+meta", "1.0.0") == 0
