"""Matching an image's installed packages against the advisory index.

Each installed package is looked up under the name its ecosystem's advisories use (the
source package for Debian, Ubuntu and Alpine, the binary rpm for the Red Hat family) and
its version is placed within each advisory's ECOSYSTEM ranges with that ecosystem's own
version ordering. The result is one ``Finding`` per vulnerable installed package, carrying
every advisory that affects it. Never reads the image and never writes the index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vmguard.findings import Severity
from vmguard.guest.facts import InstalledPackage
from vmguard.inventory import Inventory
from vmguard.problems import Problem, Stage
from vmguard.vulns.ecosystems import (
    APP_ECOSYSTEMS,
    AppEcosystem,
    Distribution,
    Naming,
    Release,
    advisory_name,
    distribution,
    release_of,
)
from vmguard.vulns.index import AdvisoryIndex, AffectedRow
from vmguard.vulns.versions import UnorderableVersion, scheme_key

UNRATED = Severity.MEDIUM
"""Severity of an advisory that carries no rating (many Debian and Alpine records)."""


@dataclass(frozen=True, slots=True)
class VulnMatch:
    """One advisory that affects one installed package."""

    advisory_id: str
    aliases: tuple[str, ...]
    """Other ids of the issue; CVE ids among them."""
    summary: str
    severity: Severity
    rated: bool
    """False when the advisory has no rating and ``severity`` is ``UNRATED``."""
    score: float | None
    vector: str | None
    fixed: str | None
    """The first fixed version above the installed one; None when there is no fix yet."""
    references: tuple[str, ...]

    @property
    def cve_ids(self) -> tuple[str, ...]:
        """The CVE ids of the issue (the advisory's own id when it is one)."""
        ids = (self.advisory_id, *self.aliases)
        return tuple(dict.fromkeys(i for i in ids if i.startswith("CVE-")))


@dataclass(frozen=True, slots=True)
class PackageVulnerabilities:
    """An installed package and every advisory that affects it."""

    package: InstalledPackage
    advisory_name: str
    """The name the advisories use (source package or binary name)."""
    compared_version: str
    """The version compared (the source version for source-named ecosystems)."""
    matches: tuple[VulnMatch, ...]

    @property
    def severity(self) -> Severity:
        """The worst severity among the matches."""
        return max((m.severity for m in self.matches), key=lambda s: s.rank)


@dataclass(frozen=True, slots=True)
class VulnScan:
    """What matching found for one inventory, and what kept it from looking."""

    release: Release | None
    packages: tuple[PackageVulnerabilities, ...]
    problems: tuple[Problem, ...]
    """Why matching was partial or impossible (unknown OS, no advisories for the release):
    ``where`` names the OS, release, ecosystem or advisory; ``reason`` is a whole sentence
    that names it too, so a report may file it under its target."""


def affected_by(
    key: Callable[[str], Any], version: Any, row: AffectedRow
) -> tuple[bool, str | None]:
    """Whether the version key ``version`` is affected, and the next fixed version if so.

    Follows the OSV schema's evaluation: events are sorted by version (``introduced: 0``
    first); ``introduced`` at or below the version makes it affected, ``fixed`` or
    ``limit`` at or below makes it unaffected, ``last_affected`` below makes it unaffected.
    """
    hit = False
    fix: tuple[Any, str] | None = None
    for events in row.ranges:
        ordered = sorted(
            events, key=lambda e: (e[0] != "introduced" or e[1] != "0", _SortKey(key, e[1]))
        )
        affected = False
        for kind, raw in ordered:
            zero = kind == "introduced" and raw == "0"
            at = None if zero else key(raw)
            if kind == "introduced" and (zero or at <= version):
                affected = True
            elif (kind in ("fixed", "limit") and at <= version) or (
                kind == "last_affected" and at < version
            ):
                affected = False
        if affected:
            hit = True
            for kind, raw in events:
                if kind == "fixed" and key(raw) > version and (fix is None or key(raw) < fix[0]):
                    fix = (key(raw), raw)
    if not hit and row.versions:
        hit = any(key(v) == version for v in row.versions)
    return hit, (fix[1] if fix else None)


class _SortKey:
    """Orders event versions with a scheme key, keeping "0" (any version) first."""

    __slots__ = ("key", "value")

    def __init__(self, key: Callable[[str], Any], raw: str) -> None:
        self.key = key
        self.value = raw

    def __lt__(self, other: _SortKey) -> bool:
        return bool(self.key(self.value) < other.key(other.value))


def _lookup_name(dist: Distribution, package: InstalledPackage) -> tuple[str, str]:
    if dist.naming is Naming.SOURCE and package.source_name:
        return package.source_name, package.source_version or package.version
    return package.name, package.version


Lookup = Callable[[InstalledPackage], tuple[str, str]]
"""(name the advisories use, version to compare) of an installed package."""


def _match(
    index: AdvisoryIndex,
    release: Release,
    packages: list[InstalledPackage],
    *,
    lookup: Lookup,
    key: Callable[[str], Any],
    problems: list[Problem],
) -> list[PackageVulnerabilities]:
    """The packages of one release (or application ecosystem) that advisories affect."""
    by_name: dict[str, list[InstalledPackage]] = defaultdict(list)
    versions: dict[InstalledPackage, Any] = {}
    for package in packages:
        name, version = lookup(package)
        try:
            versions[package] = key(version)
        except UnorderableVersion as err:
            problems.append(
                Problem(
                    Stage.ADVISORIES,
                    str(release),
                    f"{release} package {package.name}: {err}; not compared",
                )
            )
            continue
        by_name[name].append(package)
    found: dict[InstalledPackage, list[tuple[AffectedRow, str | None]]] = defaultdict(list)
    for row in index.affected_rows(release, by_name):
        for package in by_name[row.package]:
            try:
                hit, fixed = affected_by(key, versions[package], row)
            except UnorderableVersion as err:
                problems.append(
                    Problem(
                        Stage.ADVISORIES,
                        row.advisory_id,
                        f"{row.advisory_id}: {err}; entry for {row.package} skipped",
                    )
                )
                break
            if hit:
                found[package].append((row, fixed))
    stored = index.advisories(row.advisory_id for rows in found.values() for row, _ in rows)
    results = []
    for package, rows in found.items():
        matches: dict[str, VulnMatch] = {}
        for row, row_fixed in rows:
            advisory = stored[row.advisory_id]
            severity = Severity(advisory.severity) if advisory.severity else UNRATED
            previous = matches.get(advisory.id)
            fixed = row_fixed
            if previous is not None:
                # Matched through two entries: fixed only when both are, by the later fix.
                both = (previous.fixed, row_fixed)
                fixed = None if None in both else max(both, key=key)  # type: ignore[arg-type]
            matches[advisory.id] = VulnMatch(
                advisory.id,
                advisory.aliases,
                advisory.summary,
                severity,
                advisory.severity is not None,
                advisory.score,
                advisory.vector,
                fixed,
                advisory.references,
            )
        name, version = lookup(package)
        ordered = sorted(matches.values(), key=lambda m: (-m.severity.rank, m.advisory_id))
        results.append(PackageVulnerabilities(package, name, version, tuple(ordered)))
    return results


def _os_matches(
    inventory: Inventory,
    packages: list[InstalledPackage],
    index: AdvisoryIndex,
    problems: list[Problem],
) -> tuple[Release | None, list[PackageVulnerabilities]]:
    release = release_of(inventory.os)
    if release is None:
        os_name = f"{inventory.os.distro} {inventory.os.version}" if inventory.os else "unknown"
        problems.append(
            Problem(Stage.ADVISORIES, os_name, f"no advisory ecosystem for this OS ({os_name})")
        )
        return None, []
    dist = distribution(release)
    if dist is None:  # pragma: no cover - release_of only returns known distributions
        problems.append(
            Problem(Stage.ADVISORIES, str(release), f"no advisory ecosystem for {release}")
        )
        return release, []
    if index.release_count(release) == 0:
        problems.append(
            Problem(
                Stage.ADVISORIES,
                str(release),
                f"the index holds no advisories for {release}: import them first",
            )
        )
    found = _match(
        index,
        release,
        packages,
        lookup=lambda p: _lookup_name(dist, p),
        key=scheme_key(dist.scheme),
        problems=problems,
    )
    return release, found


def _app_matches(
    packages: list[InstalledPackage], index: AdvisoryIndex, problems: list[Problem]
) -> list[PackageVulnerabilities]:
    by_ecosystem: dict[AppEcosystem, list[InstalledPackage]] = defaultdict(list)
    for package in packages:
        by_ecosystem[APP_ECOSYSTEMS[package.manager]].append(package)
    results: list[PackageVulnerabilities] = []
    for ecosystem, members in sorted(by_ecosystem.items(), key=lambda item: item[0].name):
        release = Release(ecosystem.name, "")
        if index.release_count(release) == 0:
            problems.append(
                Problem(
                    Stage.ADVISORIES,
                    ecosystem.name,
                    f"the index holds no advisories for {ecosystem.name}: "
                    "import them first (vmguard db update, or db import)",
                )
            )

        def lookup(p: InstalledPackage, name: str = ecosystem.name) -> tuple[str, str]:
            return advisory_name(name, p.name), p.version

        results.extend(
            _match(
                index,
                release,
                members,
                lookup=lookup,
                key=scheme_key(ecosystem.scheme),
                problems=problems,
            )
        )
    return results


def find_vulnerabilities(inventory: Inventory, index: AdvisoryIndex) -> VulnScan:
    """Every installed package of the inventory that an imported advisory affects.

    OS packages are matched within the guest's release; application packages within their
    ecosystem (PyPI, npm...), wherever in the guest they were found.
    """
    problems: list[Problem] = []
    os_packages = [p for p in inventory.packages if p.manager not in APP_ECOSYSTEMS]
    app_packages = [p for p in inventory.packages if p.manager in APP_ECOSYSTEMS]
    release: Release | None = None
    results: list[PackageVulnerabilities] = []
    if os_packages or not app_packages:
        release, results = _os_matches(inventory, os_packages, index, problems)
    else:
        release = release_of(inventory.os)
    results.extend(_app_matches(app_packages, index, problems))
    results.sort(
        key=lambda p: (
            -p.severity.rank,
            p.package.manager,
            p.package.name,
            p.package.arch,
            p.package.path,
        )
    )
    return VulnScan(release, tuple(results), tuple(dict.fromkeys(problems)))
