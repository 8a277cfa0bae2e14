"""Analyzers on hostile and edge-case inputs: zip bombs and deep nesting refused, bad JSON
and truncated binaries reported as problems, never a crash or an unbounded read."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

from vmguard.guest.apps.binaries import BinaryAnalyzer, parse_go_buildinfo
from vmguard.guest.apps.interface import DEFAULT_APP_LIMITS, AppLimits, AppParseError, Candidate
from vmguard.guest.apps.java import JavaAnalyzer
from vmguard.guest.apps.manifests import DepsJsonAnalyzer, GemspecAnalyzer
from vmguard.guest.apps.node import NodeAnalyzer
from vmguard.guest.apps.python import PythonAnalyzer
from vmguard.problems import Problem

POM = "META-INF/maven/org.example/lib/pom.properties"


def _candidate(path: str, data: bytes, reads: list[tuple[int, int]] | None = None) -> Candidate:
    def read(offset: int, length: int) -> bytes:
        if reads is not None:
            reads.append((offset, length))
        return data[offset : offset + length]

    return Candidate(path, len(data), read)


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _pom(version: str) -> bytes:
    return f"groupId=org.example\nartifactId=lib\nversion={version}\n".encode()


def test_path_filters_pick_only_metadata() -> None:
    node, python = NodeAnalyzer(), PythonAnalyzer()
    assert node.wants("/srv/a/node_modules/x/package.json", 10, 0o644)
    assert node.wants("/srv/a/node_modules/@s/x/package.json", 10, 0o644)
    assert not node.wants("/srv/a/node_modules/x/lib/package.json", 10, 0o644)
    assert not node.wants("/srv/a/package.json", 10, 0o644)
    assert not node.wants("/srv/a/node_modules/x/package-lock.json", 10, 0o644)
    assert python.wants("/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA", 1, 0)
    assert not python.wants("/usr/share/doc/METADATA", 1, 0)
    assert GemspecAnalyzer().wants("/var/lib/gems/3.1.0/specifications/default/x-1.gemspec", 1, 0)
    assert not GemspecAnalyzer().wants("/home/u/src/x.gemspec", 1, 0)
    assert not BinaryAnalyzer().wants("/usr/bin/tiny", 100, 0o755)


def test_nested_jar_is_found_and_zip_bomb_refused() -> None:
    inner = _zip({POM: _pom("1.2.3")})
    bomb = _zip({"WEB-INF/lib/zeros.jar": b"\0" * (64 * 1024 * 1024)})
    war = _zip({"WEB-INF/lib/lib.jar": inner, "WEB-INF/lib/bomb.war": bomb})
    problems: list[Problem] = []
    found = JavaAnalyzer().analyze(_candidate("/app.war", war), DEFAULT_APP_LIMITS, problems)
    assert [(p.name, p.version, p.path) for p in found] == [
        ("org.example:lib", "1.2.3", "/app.war!/WEB-INF/lib/lib.jar")
    ]
    # The bomb's own member is refused by its expansion ratio, never expanded.
    assert problems and all("zip bomb" in p.reason for p in problems)


def test_nesting_depth_is_bounded() -> None:
    archive = _zip({POM: _pom("1")})
    for _ in range(6):
        archive = _zip({"lib/inner.jar": archive}, zipfile.ZIP_STORED)
    problems: list[Problem] = []
    limits = AppLimits(max_nested_depth=3)
    found = JavaAnalyzer().analyze(_candidate("/deep.jar", archive), limits, problems)
    assert found == []
    assert any("nested more than 3" in p.reason for p in problems)


def test_outer_archive_is_read_in_parts_not_whole() -> None:
    filler = bytes(range(256)) * 40_000  # 10 MB that does not compress
    jar = _zip({POM: _pom("2.0"), "big.bin": filler}, zipfile.ZIP_STORED)
    reads: list[tuple[int, int]] = []
    found = JavaAnalyzer().analyze(_candidate("/a.jar", jar, reads), DEFAULT_APP_LIMITS, [])
    assert [p.version for p in found] == ["2.0"]
    assert sum(length for _, length in reads) < len(jar) // 10


def test_truncated_and_bad_inputs_are_problems() -> None:
    jar = _zip({POM: _pom("1")})
    with pytest.raises(AppParseError):
        JavaAnalyzer().analyze(_candidate("/t.jar", jar[: len(jar) // 2]), DEFAULT_APP_LIMITS, [])
    with pytest.raises(AppParseError):
        NodeAnalyzer().analyze(
            _candidate("/p/package-lock.json", b"{" * 100_000), DEFAULT_APP_LIMITS, []
        )
    with pytest.raises(AppParseError):
        DepsJsonAnalyzer().analyze(_candidate("/a.deps.json", b"[]"), DEFAULT_APP_LIMITS, [])
    limits = AppLimits(max_metadata_bytes=10)
    with pytest.raises(AppParseError):
        PythonAnalyzer().analyze(_candidate("/x.dist-info/METADATA", b"a" * 11), limits, [])


def test_control_characters_never_reach_the_inventory() -> None:
    document = json.dumps({"name": "evil\x1b[31m", "version": "1.0\n"}).encode()
    found = NodeAnalyzer().analyze(
        _candidate("/n/node_modules/evil/package.json", document), DEFAULT_APP_LIMITS, []
    )
    assert [(p.name, p.version) for p in found] == [("evil[31m", "1.0")]


def test_yarn_lock_classic_and_berry() -> None:
    classic = (
        b'# yarn lockfile v1\n\n"@babel/core@^7.0.0", "@babel/core@^7.1.0":\n  version "7.1.2"\n'
    )
    berry = b'"lodash@npm:^4.17.15":\n  version: 4.17.21\n  resolution: "lodash@npm:4.17.21"\n'
    for text, expected in ((classic, ("@babel/core", "7.1.2")), (berry, ("lodash", "4.17.21"))):
        found = NodeAnalyzer().analyze(_candidate("/p/yarn.lock", text), DEFAULT_APP_LIMITS, [])
        assert [(p.name, p.version) for p in found] == [expected]


def test_go_buildinfo_before_118_is_named_not_guessed() -> None:
    blob = b"\xff Go buildinf:" + bytes([8, 0]) + b"\0" * 16
    with pytest.raises(AppParseError, match=r"before Go 1\.18"):
        parse_go_buildinfo(blob, "/bin/old")


def test_truncated_elf_is_a_problem() -> None:
    elf = (Path("/bin/true")).read_bytes()[:4096]
    with pytest.raises(AppParseError):
        BinaryAnalyzer().analyze(_candidate("/bin/cut", elf), DEFAULT_APP_LIMITS, [])


@pytest.mark.skipif(
    shutil.which("cargo") is None or shutil.which("objcopy") is None,
    reason="needs cargo and objcopy",
)
def test_rust_binary_with_auditable_section(tmp_path: Path) -> None:
    # cargo-auditable itself is not installable here: a real cargo-built binary gets the
    # .dep-v0 section (zlib-compressed JSON in cargo-auditable's format) with objcopy,
    # which is what cargo-auditable's linker step produces.
    subprocess.run(["cargo", "new", "--quiet", "--vcs", "none", "hello"], cwd=tmp_path, check=True)
    project = tmp_path / "hello"
    subprocess.run(["cargo", "build", "--quiet", "--release", "--offline"], cwd=project, check=True)
    deps = {
        "packages": [
            {"name": "hello", "version": "0.1.0", "source": "local", "root": True},
            {"name": "smallvec", "version": "1.6.0", "source": "crates.io"},
            {"name": "cc", "version": "1.0.0", "source": "crates.io", "kind": "build"},
        ]
    }
    section = tmp_path / "deps.zlib"
    section.write_bytes(zlib.compress(json.dumps(deps).encode()))
    binary = tmp_path / "hello-audited"
    subprocess.run(
        [
            "objcopy",
            "--add-section",
            f".dep-v0={section}",
            project / "target/release/hello",
            binary,
        ],
        check=True,
    )
    data = binary.read_bytes()
    found = BinaryAnalyzer().analyze(_candidate("/usr/bin/hello", data), DEFAULT_APP_LIMITS, [])
    assert sorted((p.manager, p.name, p.version) for p in found) == [
        ("cargo", "hello", "0.1.0"),
        ("cargo", "smallvec", "1.6.0"),
    ]
