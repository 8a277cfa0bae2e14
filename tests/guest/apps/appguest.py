"""A guest with application packages installed by the real tools, in an ext4 qcow2 image.

Python distributions come from ``pip install --target`` of wheels fetched from PyPI with
``pip download``; node_modules and package-lock.json from ``npm install``; jars and a war
from the JDK's ``jar``; a Go binary from ``go build`` (with a vendored module);
gemspecs are the ones RubyGems wrote for Ruby's default gems. Composer's installed.json
and a .NET deps.json are written here in those tools' documented formats (neither tool is
installable here). Each ecosystem whose tool is missing is left out and named in
``planted.json`` with the reason, so the tests say so instead of passing silently.
The build is cached (keyed by this file) in the shared test cache under its own name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from guestimages import cached
from vmguard.demo.imagebuild import make_ext4, qemu_convert

MiB = 1024 * 1024
WHEELS = ("requests==2.19.1", "urllib3==1.24.1", "six==1.15.0")
NPM_PACKAGES = ("lodash@4.17.15", "semver@7.6.0", "@babel/helper-validator-identifier@7.22.5")
RUBY_SPECS = Path("/usr/lib/ruby/gems/3.1.0/specifications/default")
GO_MAIN = """package main

import (
\t"fmt"

\t"golang.org/x/text/language"
)

func main() {
\ttag, _ := language.Parse("en")
\tfmt.Println(tag)
}
"""
GO_VENDORED = """package language

// Tag names a language.
type Tag string

// Parse returns the tag as given.
func Parse(s string) (Tag, error) { return Tag(s), nil }
"""


@dataclass(frozen=True)
class AppGuest:
    """The built image and what was planted in it."""

    image: Path
    expected: list[dict[str, str]]
    """Every planted package: manager, name, version, path."""
    skipped: dict[str, str]
    """Ecosystem -> why it was not planted."""


def _run(*cmd: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, check=True, capture_output=True, timeout=600
    )


def _python(root: Path, work: Path, expected: list[dict[str, str]]) -> None:
    wheels = work / "wheels"
    _run(sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", wheels, *WHEELS)
    target = root / "opt/webapp/lib"
    _run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-index",
        "-q",
        "--target",
        target,
        *sorted(wheels.glob("*.whl")),
    )
    for spec in WHEELS:
        name, version = spec.split("==")
        expected.append(
            _pkg("pypi", name, version, f"/opt/webapp/lib/{name}-{version}.dist-info/METADATA")
        )


def _npm(root: Path, expected: list[dict[str, str]]) -> None:
    project = root / "srv/site"
    project.mkdir(parents=True)
    (project / "package.json").write_text('{"name": "site", "version": "1.0.0"}\n')
    _run(
        "npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", *NPM_PACKAGES, cwd=project
    )
    lock = json.loads((project / "package-lock.json").read_text())
    for key, entry in lock["packages"].items():
        if not key:
            continue
        name = key.rsplit("node_modules/", 1)[1]
        version = entry["version"]
        expected.append(_pkg("npm", name, version, f"/srv/site/{key}/package.json"))
        expected.append(_pkg("npm", name, version, "/srv/site/package-lock.json"))
    (project / "node_modules/.package-lock.json").unlink(missing_ok=True)


def _jar(work: Path, name: str, files: dict[str, str], out: Path) -> None:
    tree = work / f"jar-{name}"
    for rel, text in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest = tree / "META-INF/MANIFEST.MF"
    if manifest.exists():
        _run("jar", "--create", "--file", out, "--manifest", manifest, "-C", tree, ".")
    else:
        _run("jar", "--create", "--file", out, "-C", tree, ".")


def _pom(group: str, artifact: str, version: str) -> dict[str, str]:
    return {
        f"META-INF/maven/{group}/{artifact}/pom.properties": (
            f"#Created by Apache Maven\nversion={version}\ngroupId={group}\nartifactId={artifact}\n"
        ),
        "org/example/Placeholder.txt": "class files are not read\n",
    }


def _java(root: Path, work: Path, expected: list[dict[str, str]]) -> None:
    libs = work / "war/WEB-INF/lib"
    _jar(
        work,
        "log4j",
        _pom("org.apache.logging.log4j", "log4j-core", "2.14.1"),
        libs / "log4j-core-2.14.1.jar",
    )
    manifest = (
        "Manifest-Version: 1.0\nImplementation-Title: commons-text\n"
        "Implementation-Version: 1.9\nImplementation-Vendor-Id: org.apache.commons\n\n"
    )
    _jar(work, "text", {"META-INF/MANIFEST.MF": manifest}, libs / "commons-text-1.9.jar")
    (work / "war/index.html").write_text("<p>hello</p>\n")
    war = root / "opt/tomcat/webapps/shop.war"
    war.parent.mkdir(parents=True)
    _run("jar", "--create", "--file", war, "-C", work / "war", ".")
    _jar(
        work,
        "spring",
        _pom("org.springframework", "spring-core", "5.3.18.RELEASE"),
        root / "opt/tomcat/lib/spring-core-5.3.18.RELEASE.jar",
    )
    inner = "/opt/tomcat/webapps/shop.war!/WEB-INF/lib"
    expected += [
        _pkg(
            "maven",
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
            f"{inner}/log4j-core-2.14.1.jar",
        ),
        _pkg("maven", "org.apache.commons:commons-text", "1.9", f"{inner}/commons-text-1.9.jar"),
        _pkg(
            "maven",
            "org.springframework:spring-core",
            "5.3.18.RELEASE",
            "/opt/tomcat/lib/spring-core-5.3.18.RELEASE.jar",
        ),
    ]


def _go(root: Path, work: Path, expected: list[dict[str, str]]) -> None:
    source = work / "gosrc"
    (source / "vendor/golang.org/x/text/language").mkdir(parents=True)
    (source / "go.mod").write_text(
        "module example.com/planted\n\ngo 1.19\n\nrequire golang.org/x/text v0.3.7\n"
    )
    (source / "vendor/modules.txt").write_text(
        "# golang.org/x/text v0.3.7\n## explicit; go 1.17\ngolang.org/x/text/language\n"
    )
    (source / "vendor/golang.org/x/text/language/language.go").write_text(GO_VENDORED)
    (source / "main.go").write_text(GO_MAIN)
    binary = root / "usr/local/bin/planted"
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GOFLAGS": "-mod=vendor",
        "GOPROXY": "off",
        "CGO_ENABLED": "0",
        "GOCACHE": str(work / "gocache"),
        "GOPATH": str(work / "gopath"),
    }
    _run("go", "build", "-trimpath", "-o", binary, ".", cwd=source, env=env)
    version = (
        subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True)
        .stdout.strip()
        .removeprefix("go")
    )
    expected += [
        _pkg("golang", "stdlib", version, "/usr/local/bin/planted"),
        _pkg("golang", "golang.org/x/text", "v0.3.7", "/usr/local/bin/planted"),
    ]


def _ruby(root: Path, expected: list[dict[str, str]]) -> None:
    target = root / "var/lib/gems/3.1.0/specifications"
    target.mkdir(parents=True)
    for spec in ("bundler-2.3.7.gemspec", "bigdecimal-3.1.1.gemspec"):
        shutil.copy(RUBY_SPECS / spec, target / spec)
        name, _, version = spec.removesuffix(".gemspec").rpartition("-")
        expected.append(_pkg("gem", name, version, f"/var/lib/gems/3.1.0/specifications/{spec}"))


def _composer(root: Path, expected: list[dict[str, str]]) -> None:
    vendor = root / "var/www/shop/vendor/composer"
    vendor.mkdir(parents=True)
    packages = [
        {
            "name": "monolog/monolog",
            "version": "1.0.0",
            "version_normalized": "1.0.0.0",
            "type": "library",
        },
        {
            "name": "symfony/http-kernel",
            "version": "v4.4.12",
            "version_normalized": "4.4.12.0",
            "type": "library",
        },
    ]
    document = {"packages": packages, "dev": True, "dev-package-names": []}
    (vendor / "installed.json").write_text(json.dumps(document, indent=4))
    for p in packages:
        expected.append(
            _pkg(
                "composer", p["name"], p["version"], "/var/www/shop/vendor/composer/installed.json"
            )
        )


def _dotnet(root: Path, expected: list[dict[str, str]]) -> None:
    app = root / "opt/dotnetapp"
    app.mkdir(parents=True)
    document = {
        "runtimeTarget": {"name": ".NETCoreApp,Version=v6.0", "signature": ""},
        "targets": {".NETCoreApp,Version=v6.0": {}},
        "libraries": {
            "ShopApi/1.0.0": {"type": "project", "serviceable": False, "sha512": ""},
            "Newtonsoft.Json/12.0.1": {
                "type": "package",
                "serviceable": True,
                "sha512": "sha512-x",
                "path": "newtonsoft.json/12.0.1",
            },
            "System.Text.Encodings.Web/4.7.1": {
                "type": "package",
                "serviceable": True,
                "sha512": "sha512-y",
            },
        },
    }
    (app / "ShopApi.deps.json").write_text(json.dumps(document, indent=2))
    for name, version in (("Newtonsoft.Json", "12.0.1"), ("System.Text.Encodings.Web", "4.7.1")):
        expected.append(_pkg("nuget", name, version, "/opt/dotnetapp/ShopApi.deps.json"))


def _pkg(manager: str, name: str, version: str, path: str) -> dict[str, str]:
    return {"manager": manager, "name": name, "version": version, "path": path}


def _build(work: Path) -> None:
    root = work / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian 12"\n')
    expected: list[dict[str, str]] = []
    skipped: dict[str, str] = {}
    steps = {
        "pypi": (lambda: _python(root, work, expected), None),
        "npm": (lambda: _npm(root, expected), "npm"),
        "maven": (lambda: _java(root, work, expected), "jar"),
        "golang": (lambda: _go(root, work, expected), "go"),
        "gem": (lambda: _ruby(root, expected), None if RUBY_SPECS.is_dir() else "ruby"),
        "composer": (lambda: _composer(root, expected), None),
        "nuget": (lambda: _dotnet(root, expected), None),
    }
    for ecosystem, (step, tool) in steps.items():
        if tool is not None and shutil.which(tool) is None:
            skipped[ecosystem] = f"{tool} is not installed"
            continue
        try:
            step()
        except subprocess.CalledProcessError as err:
            reason = (err.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
            skipped[ecosystem] = f"{ecosystem} tool failed: {' '.join(reason)[:200]}"
    skipped["cargo"] = (
        "cargo-auditable is not installable here (not in Debian, crates.io unreachable)"
    )
    raw = work / "apps.raw"
    make_ext4(raw, root, 96 * MiB, label="apps", fs_uuid="3f1e2d3c-4b5a-4697-8877-665544332211")
    qemu_convert(raw, work / "apps.qcow2", "-O", "qcow2")
    raw.unlink()
    (work / "planted.json").write_text(json.dumps({"expected": expected, "skipped": skipped}))
    for leftover in work.iterdir():  # keep only the image and its description
        if leftover.is_dir():
            _run("chmod", "-R", "u+w", leftover)
            shutil.rmtree(leftover)


def app_guest() -> AppGuest:
    """The cached application guest image."""
    built = cached("app-guest", _build, sources=(Path(__file__),))
    planted = json.loads((built / "planted.json").read_text())
    return AppGuest(built / "apps.qcow2", planted["expected"], planted["skipped"])
