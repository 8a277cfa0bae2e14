"""The fleet posture as text for a terminal (``fleet report``, the default format).

Guest strings pass through ``printable`` so an image cannot drive the terminal. This module
must never print a marker HMAC, a fingerprint or a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from vmguard.text import printable

if TYPE_CHECKING:
    from vmguard.fleet.posture import FleetPosture


def write_posture_console(posture: FleetPosture, out: TextIO) -> None:
    """A few screens: posture tables, shared secrets, changes, failing images."""
    w = out.write
    run = posture.latest_run
    w(f"vmguard fleet report: {len(posture.images)} images in {printable(posture.database)}\n")
    if run is not None:
        counts = ", ".join(f"{count} {what}" for what, count in dict(run["counts"]).items())
        w(f"latest run #{run['id']} ({run['engine']}): {counts}\n")
    w("\nimages by worst severity:\n")
    for severity, n in posture.by_severity().items():
        w(f"  {severity:<10} {n}\n")
    w("\nby threat class (images, findings):\n")
    for threat, (n, m) in posture.by_threat().items():
        w(f"  {threat:<24} {n:>5} {m:>7}\n")
    w("\nby OS:\n")
    for name, n in posture.by_os().items():
        w(f"  {printable(name):<40} {n}\n")
    w("\nby age of the image file:\n")
    for bucket, n in posture.by_age().items():
        w(f"  {bucket:<16} {n}\n")
    w(f"\nsecrets shared between images: {len(posture.shared)}\n")
    for group in posture.shared:
        w(f"  [{group.severity.value}] {group.kind} shared by {len(group.images)} images\n")
        for c in group.carriers:
            w(f"      {printable(c.image)}: {printable(c.path)}: {printable(c.evidence)}\n")
    ch = posture.changes
    if ch.previous_run is not None:
        w(
            f"\nchanges since run #{ch.previous_run}: {len(ch.new_images)} new images, "
            f"{len(ch.missing_images)} not seen again, {len(ch.changed_images)} changed, "
            f"{len(ch.new_findings)} new findings, {len(ch.resolved_findings)} resolved\n"
        )
        for mark, listed in (("+", ch.new_findings), ("-", ch.resolved_findings)):
            for image, f in listed[:50]:
                rule, where = printable(f.rule_id), printable(f.location.path)
                w(f"  {mark} {printable(image)}: [{f.severity.value}] {rule} {where}\n")
    failing = [i for i in posture.images if i.latest_outcome == "error"]
    if failing:
        w(f"\nimages the latest run could not scan: {len(failing)}\n")
        for failed in failing:
            w(f"  {printable(failed.path)}: {printable(failed.error or '')}\n")
