"""What ``vmguard verify`` found, and its console form.

``Verification`` is the result kind of ``verify``: a bundle that matched its signed manifest,
or the reason it did not. On the console it reads as a verdict (``VALID: ...`` or
``INVALID: ...`` and every change); every other format writes it as its ``Report``
(``integrity.report``). Signer names, change reasons, regions and guest paths come from the
bundle and the signature: all pass through ``vmguard.text.printable``. This module must
never print key material or a signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from vmguard.findings import Report
from vmguard.integrity.errors import BundleModified, VerificationFailed
from vmguard.integrity.report import failure_report, success_report
from vmguard.integrity.verify import VerifiedBundle
from vmguard.text import printable

MAX_RANGES_SHOWN = 20
"""Changed byte ranges listed per change on the console; the rest are counted."""


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of verifying the bundle ``target`` (its files, as named)."""

    target: str
    outcome: VerifiedBundle | VerificationFailed

    def report(self) -> Report:
        """The outcome as a report: no findings when valid, one per change otherwise."""
        if isinstance(self.outcome, VerifiedBundle):
            return success_report(self.target)
        return failure_report(self.target, self.outcome)


def _valid_lines(result: VerifiedBundle) -> list[str]:
    m = result.manifest
    lines = [
        f"VALID: {len(m.disks)} disk(s), {len(m.definitions)} definition(s); manifest version "
        f"{m.version} signed {m.signed_at.isoformat()} by {printable(result.signer.origin)} "
        f"(key {result.signer.keyid[:16]})"
    ]
    lines += [f"  note: {printable(note)}" for note in result.notes]
    return lines


def _invalid_lines(error: VerificationFailed) -> list[str]:
    lines = [f"INVALID: {printable(error.diagnostics())}"]
    if not isinstance(error, BundleModified):
        return lines
    for change in error.changes:
        lines.append(
            f"  {change.kind.value} {printable(change.path or change.name)}: "
            f"{printable(change.reason)}"
        )
        for r in change.ranges[:MAX_RANGES_SHOWN]:
            lines.append(f"    changed bytes 0x{r.start:x}-0x{r.end:x} ({r.end - r.start} bytes)")
        if len(change.ranges) > MAX_RANGES_SHOWN:
            lines.append(f"    ... and {len(change.ranges) - MAX_RANGES_SHOWN} more ranges")
        lines += [f"    in {printable(region)}" for region in change.regions]
        lines += [f"    guest file {printable(hit.path)}" for hit in change.guest_files]
        if change.more_files:
            lines.append(f"    ... and {change.more_files} more guest files")
    return lines


def write_verification_console(verification: Verification, out: TextIO) -> None:
    """The verdict for a person: what was signed by whom, or what changed."""
    outcome = verification.outcome
    lines = (
        _valid_lines(outcome) if isinstance(outcome, VerifiedBundle) else _invalid_lines(outcome)
    )
    out.write("".join(f"{line}\n" for line in lines))
