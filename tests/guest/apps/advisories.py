"""A test advisory set for the application guest: real hits, and ordering traps per
ecosystem that a naive comparison would match (pre-releases, local versions, Maven
release qualifiers, Composer ``v`` prefixes, names in another ecosystem).

``HITS`` names (advisory id, ecosystem manager, package name) of every advisory that must
match; every other advisory must match nothing.
"""

from __future__ import annotations

from typing import Any


def record(
    ident: str, ecosystem: str, name: str, events: list[dict[str, str]], kind: str = "ECOSYSTEM"
) -> dict[str, Any]:
    """One OSV record for one package."""
    return {
        "schema_version": "1.6.0",
        "id": ident,
        "modified": "2024-05-01T10:00:00Z",
        "published": "2024-01-15T00:00:00Z",
        "summary": f"test advisory for {name}",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": kind, "events": events}],
            }
        ],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    }


def _fix(fixed: str, introduced: str = "0") -> list[dict[str, str]]:
    return [{"introduced": introduced}, {"fixed": fixed}]


def advisory_set(go_stdlib: str) -> tuple[list[dict[str, Any]], set[tuple[str, str, str]]]:
    """The records, and the (id, manager, name) hits; ``go_stdlib`` is the planted toolchain."""
    major, minor, patch = (int(n) for n in [*go_stdlib.split("."), "0"][:3])
    records = [
        record("HIT-PY-1", "PyPI", "urllib3", _fix("1.24.2")),
        record("HIT-PY-2", "PyPI", "Requests", _fix("2.20.0")),  # PEP 503 name folding
        record("TRAP-PY-PRE", "PyPI", "six", _fix("1.15.0rc1")),  # 1.15.0 is after 1.15.0rc1
        record("TRAP-PY-LOCAL", "PyPI", "requests", _fix("2.20.0", "2.19.1+local.1")),
        record("TRAP-PY-OTHER", "PyPI", "lodash", _fix("9.0.0")),  # an npm name in PyPI
        record("HIT-NPM-1", "npm", "lodash", _fix("4.17.21"), "SEMVER"),
        record(
            "HIT-NPM-2",
            "npm",
            "@babel/helper-validator-identifier",
            [{"introduced": "0"}, {"last_affected": "7.22.5"}],
            "SEMVER",
        ),
        record("TRAP-NPM-PRE", "npm", "semver", _fix("7.5.2", "7.0.0-rc.1"), "SEMVER"),
        record("TRAP-NPM-PRE2", "npm", "lodash", _fix("4.17.15-beta", "4.17.15-alpha"), "SEMVER"),
        record(
            "HIT-MVN-1", "Maven", "org.apache.logging.log4j:log4j-core", _fix("2.15.0", "2.0-beta9")
        ),
        record("HIT-MVN-2", "Maven", "org.apache.commons:commons-text", _fix("1.10.0", "1.5")),
        record("TRAP-MVN-RELEASE", "Maven", "org.springframework:spring-core", _fix("5.3.18")),
        # 5.3.18.RELEASE is 5.3.18 to Maven, and below 5.3.18-SP1 (a service pack).
        record(
            "HIT-MVN-3",
            "Maven",
            "org.springframework:spring-core",
            [{"introduced": "0"}, {"last_affected": "5.3.18"}],
        ),
        record(
            "TRAP-MVN-SP", "Maven", "org.springframework:spring-core", _fix("5.3.19", "5.3.18-SP1")
        ),
        record("TRAP-MVN-RC", "Maven", "org.apache.commons:commons-text", _fix("1.9-RC1")),
        record("HIT-GO-1", "Go", "stdlib", _fix(f"{major}.{minor}.{patch + 1}"), "SEMVER"),
        record("HIT-GO-2", "Go", "golang.org/x/text", _fix("0.3.8"), "SEMVER"),
        record(
            "TRAP-GO-PRE", "Go", "golang.org/x/text", _fix("0.3.7-rc.2", "0.3.7-rc.1"), "SEMVER"
        ),
        record("HIT-GEM-1", "RubyGems", "bundler", _fix("2.3.8")),
        record("TRAP-GEM-PRE", "RubyGems", "bigdecimal", _fix("3.1.1.pre")),
        record("HIT-PHP-1", "Packagist", "symfony/http-kernel", _fix("4.4.13", "4.4.0")),
        record("TRAP-PHP-RC", "Packagist", "monolog/monolog", _fix("1.0.0-RC2")),
        record("HIT-NUGET-1", "NuGet", "newtonsoft.json", _fix("13.0.1")),  # NuGet ignores case
        record("TRAP-NUGET-PRE", "NuGet", "System.Text.Encodings.Web", _fix("4.7.1-preview.1")),
    ]
    hits = {
        ("HIT-PY-1", "pypi", "urllib3"),
        ("HIT-PY-2", "pypi", "requests"),
        ("HIT-NPM-1", "npm", "lodash"),
        ("HIT-NPM-2", "npm", "@babel/helper-validator-identifier"),
        ("HIT-MVN-1", "maven", "org.apache.logging.log4j:log4j-core"),
        ("HIT-MVN-2", "maven", "org.apache.commons:commons-text"),
        ("HIT-MVN-3", "maven", "org.springframework:spring-core"),
        ("HIT-GO-1", "golang", "stdlib"),
        ("HIT-GO-2", "golang", "golang.org/x/text"),
        ("HIT-GEM-1", "gem", "bundler"),
        ("HIT-PHP-1", "composer", "symfony/http-kernel"),
        ("HIT-NUGET-1", "nuget", "Newtonsoft.Json"),
    }
    return records, hits
