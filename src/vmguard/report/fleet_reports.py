"""The fleet posture as single-image Reports, for the shared writers (SARIF, JUnit).

Each image becomes one ``Report`` holding its current findings plus one guest-to-guest
finding per secret it shares with other images, so ``report.formats`` renders the
fleet through the same writers as ``vmguard scan`` (SARIF, JUnit). This module must never put a
fingerprint into a finding (the database has none to give).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmguard.findings import Finding, Report, Target, TargetKind
from vmguard.problems import Problem, Stage

if TYPE_CHECKING:
    from vmguard.fleet.posture import FleetPosture


def posture_reports(posture: FleetPosture) -> list[Report]:
    """One Report per image, with the fleet's guest-to-guest findings added."""
    from vmguard.fleet.correlation import shared_findings  # SQLAlchemy loads only for fleets

    extra: dict[str, list[Finding]] = {}
    for group in posture.shared:
        for path, finding in shared_findings(group):
            extra.setdefault(path, []).append(finding)
    reports = []
    for image in posture.images:
        errors = list(image.errors)
        if image.error:
            errors.append(Problem(Stage.IMAGE, image.path, image.error))
        reports.append(
            Report(
                target=Target(TargetKind.IMAGE, image.path),
                findings=(*extra.get(image.path, ()), *image.findings),
                errors=tuple(errors),
            )
        )
    return reports
