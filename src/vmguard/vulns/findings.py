"""Turning matched vulnerabilities into Findings: rule ``vuln.package``, one per package.

Evidence lists every advisory with its CVE ids, severity and the version that fixes it;
the remediation names the version to upgrade to. Never changes a finding after building it.
"""

from __future__ import annotations

from dataclasses import replace

from vmguard.findings import Area, Finding, Location, Report, Rule, Severity, Threat
from vmguard.inventory import Inventory
from vmguard.vulns.freshness import AdvisoryAge, advisory_age, age_findings
from vmguard.vulns.index import AdvisoryIndex
from vmguard.vulns.matching import (
    PackageVulnerabilities,
    VulnMatch,
    VulnScan,
    find_vulnerabilities,
)

VULNERABLE_PACKAGE = Rule(
    "vuln.package",
    "Installed package with known vulnerabilities",
    Severity.HIGH,
    Threat.VULNERABLE_SOFTWARE,
    "Upgrade the package to a fixed version, or remove it; each finding names the "
    "advisories, their fixed versions and the worst severity, which the finding takes.",
    rationale=(
        "Installed packages with published vulnerabilities are what attackers scan for first; the "
        "image carries them into every instance until it is rebuilt."
    ),
)
RULE_ID = VULNERABLE_PACKAGE.rule_id
PACKAGE_DATABASES = {
    "dpkg": "/var/lib/dpkg/status",
    "rpm": "/var/lib/rpm",
    "apk": "/lib/apk/db/installed",
}
"""Where each package manager records what is installed (the finding's location)."""


def _advisory_text(match: VulnMatch) -> str:
    ids = ", ".join(i for i in match.cve_ids if i != match.advisory_id)
    rating = match.severity.value if match.rated else f"{match.severity.value} (unrated)"
    if match.score is not None:
        rating += f" {match.score:.1f}"
    fix = f"fixed in {match.fixed}" if match.fixed else "no fix yet"
    return f"{match.advisory_id}{f' [{ids}]' if ids else ''} {rating}, {fix}"


def package_finding(vulns: PackageVulnerabilities) -> Finding:
    """The finding for one vulnerable package."""
    package = vulns.package
    count = len(vulns.matches)
    source = ""
    # Application packages are looked up under a folded name (PyPI, NuGet): not a source.
    name = package.name if package.path else vulns.advisory_name
    if not package.path and (
        vulns.advisory_name != package.name or vulns.compared_version != package.version
    ):
        source = f" (source {vulns.advisory_name} {vulns.compared_version})"
    fixes = [m.fixed for m in vulns.matches if m.fixed]
    unfixed = [m.advisory_id for m in vulns.matches if not m.fixed]
    if fixes:
        remediation = f"Upgrade {name} to the fixed versions listed"
        remediation += f" ({', '.join(sorted(set(fixes)))}) or later."
        if unfixed:
            remediation += f" No fix is published yet for {', '.join(unfixed)}."
    else:
        remediation = (
            f"No fixed version of {name} is published yet; mitigate, remove the "
            "package, or accept the risk until one is."
        )
    return Finding(
        rule_id=RULE_ID,
        title=f"{package.name} {package.version} has {count} known "
        f"vulnerabilit{'y' if count == 1 else 'ies'}",
        severity=vulns.severity,
        threat=Threat.VULNERABLE_SOFTWARE,
        location=Location(
            PACKAGE_DATABASES.get(package.manager, package.path or package.manager), Area.FILE
        ),
        evidence=f"installed {package.version}{source}; "
        + "; ".join(_advisory_text(m) for m in vulns.matches),
        remediation=remediation,
        references=tuple(f"https://osv.dev/vulnerability/{m.advisory_id}" for m in vulns.matches),
        subject=package.name if not package.arch else f"{package.name}:{package.arch}",
    )


def package_findings(scan: VulnScan) -> list[Finding]:
    """One finding per vulnerable package, worst first."""
    return [package_finding(p) for p in scan.packages]


def match_inventory(inventory: Inventory, index: AdvisoryIndex) -> list[Finding]:
    """Findings (threat ``vulnerable-software``) for an inventory: one per vulnerable package.

    What kept matching from looking (an OS without an advisory ecosystem, a release with
    no imported advisories) is not a finding: ``find_vulnerabilities(...).problems`` says.
    """
    return package_findings(find_vulnerabilities(inventory, index))


def with_vulnerabilities(
    report: Report, index: AdvisoryIndex, age: AdvisoryAge | None = None
) -> Report:
    """An image report with its vulnerable-software findings added; what kept matching from
    looking (no advisories for this release, an unknown OS) goes into ``errors``. The age of
    the advisories (``age``, else measured with the default allowed age) is stated as
    ``info`` findings."""
    if report.inventory is None:
        return report
    scan = find_vulnerabilities(report.inventory, index)
    errors = (
        *report.errors,
        *(replace(p, where=report.target.path) for p in scan.problems),
    )
    stated = age_findings(age or advisory_age(index))
    return replace(
        report, findings=(*report.findings, *package_findings(scan), *stated), errors=errors
    )
