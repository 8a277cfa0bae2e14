"""CycloneDX 1.6 JSON for an image's packages, with a vulnerability (VEX) section on request.

Built with cyclonedx-python-lib (the OWASP project's own model and serializer), so the
output is what its schema validator accepts. The OS is the BOM's subject; every installed
package is a component with its purl, depended on by the OS. Vulnerabilities list the
affected packages' bom-refs, the installed version as affected, the fix as a recommendation
and CVSS ratings where the advisory has them. Never includes anything not in the inventory
or the index.
"""

from __future__ import annotations

from decimal import Decimal

from cyclonedx.model import Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.component_evidence import ComponentEvidence, Occurrence
from cyclonedx.model.impact_analysis import ImpactAnalysisAffectedStatus
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from vmguard import __version__
from vmguard.guest.facts import InstalledPackage
from vmguard.inventory import Inventory
from vmguard.vulns.cpe import package_cpe
from vmguard.vulns.freshness import AdvisoryAge
from vmguard.vulns.matching import VulnMatch, VulnScan
from vmguard.vulns.purl import package_purl


def _rating(match: VulnMatch) -> list[VulnerabilityRating]:
    severity = VulnerabilitySeverity(match.severity.value) if match.rated else None
    if match.score is None:
        return [VulnerabilityRating(severity=severity)] if severity else []
    method = VulnerabilityScoreSource.get_from_vector(match.vector or "")
    return [
        VulnerabilityRating(
            score=Decimal(str(match.score)), severity=severity, method=method, vector=match.vector
        )
    ]


def build_bom(
    inventory: Inventory, name: str, vulns: VulnScan | None = None, age: AdvisoryAge | None = None
) -> Bom:
    """The BOM of an inventory (and of its vulnerabilities when ``vulns`` is given, with the
    age of the advisories they came from as metadata properties)."""
    bom = Bom()
    if age is not None:
        bom.metadata.properties.add(Property(name="vmguard:advisory-age", value=age.describe()))
        if age.stale:
            bom.metadata.properties.add(
                Property(name="vmguard:advisories-stale", value=f"older than {age.max_days} days")
            )
    os = inventory.os
    subject = Component(
        type=ComponentType.OPERATING_SYSTEM,
        name=os.distro if os else "unknown",
        version=os.version if os and os.version else None,
        description=os.pretty_name if os and os.pretty_name else None,
        bom_ref=BomRef("os"),
        properties=[Property(name="vmguard:image", value=name)],
    )
    bom.metadata.component = subject
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="vmguard", version=__version__)
    )
    refs = {}
    for package in inventory.packages:
        purl = package_purl(package, os)
        # An application package can sit in several places (two virtualenvs): its file
        # makes its bom-ref unique.
        ref = BomRef(f"{purl}#{package.path}" if package.path else purl)
        refs[_ref_key(package)] = ref
        properties = [Property(name="vmguard:package-manager", value=package.manager)]
        if package.vendor:
            properties.append(Property(name="vmguard:publisher", value=package.vendor))
        if package.source_name:
            properties.append(Property(name="vmguard:source-package", value=package.source_name))
        evidence = None
        if package.path:
            evidence = ComponentEvidence(occurrences=[Occurrence(location=package.path)])
        bom.components.add(
            Component(
                type=ComponentType.LIBRARY,
                name=package.name,
                version=package.version,
                purl=PackageURL.from_string(purl),
                cpe=package_cpe(package),
                bom_ref=ref,
                properties=properties,
                evidence=evidence,
            )
        )
    bom.register_dependency(subject, list(bom.components))
    if vulns is not None:
        _add_vulnerabilities(bom, vulns, refs)
    return bom


def _ref_key(package: InstalledPackage) -> tuple[str, str, str, str, str]:
    return (package.manager, package.name, package.arch, package.version, package.path)


def _add_vulnerabilities(
    bom: Bom, vulns: VulnScan, refs: dict[tuple[str, str, str, str, str], BomRef]
) -> None:
    by_id: dict[str, tuple[VulnMatch, list[tuple[BomRef, str, str | None]]]] = {}
    for found in vulns.packages:
        p = found.package
        for match in found.matches:
            entry = by_id.setdefault(match.advisory_id, (match, []))
            entry[1].append((refs[_ref_key(p)], p.version, match.fixed))
    for advisory_id, (match, targets) in sorted(by_id.items()):
        fixes = sorted({fixed for _, _, fixed in targets if fixed})
        bom.vulnerabilities.add(
            Vulnerability(
                bom_ref=f"vuln:{advisory_id}",
                id=advisory_id,
                source=VulnerabilitySource(
                    name="OSV", url=XsUri(f"https://osv.dev/vulnerability/{advisory_id}")
                ),
                references=[
                    VulnerabilityReference(id=alias, source=VulnerabilitySource(name="CVE"))
                    for alias in match.cve_ids
                    if alias != advisory_id
                ],
                ratings=_rating(match),
                description=match.summary or None,
                recommendation=f"Upgrade to {', '.join(fixes)} or later." if fixes else None,
                affects=[
                    BomTarget(
                        ref=ref.value or "",
                        versions=[
                            BomTargetVersionRange(
                                version=version, status=ImpactAnalysisAffectedStatus.AFFECTED
                            )
                        ],
                    )
                    for ref, version, _ in targets
                ],
            )
        )


def write_cyclonedx(
    inventory: Inventory, name: str, vulns: VulnScan | None = None, age: AdvisoryAge | None = None
) -> str:
    """CycloneDX 1.6 JSON text."""
    return JsonV1Dot6(build_bom(inventory, name, vulns, age)).output_as_string(indent=2)
