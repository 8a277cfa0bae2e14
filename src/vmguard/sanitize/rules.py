"""What ``vmguard sanitize`` reports: one rule per operation, plus the proof's rules.

Operation findings are ``info``: they record a change, not a risk. What the re-scan still
finds is reported under its own scan rule, at its own severity.
"""

from __future__ import annotations

from vmguard.findings import Rule, Severity, Threat

_CHANGED = "Nothing to do: this records a change made to the sanitized copy."
_RECORDED = (
    "Each change the sanitizer makes is reported, so a reviewer sees exactly what left the "
    "copy (and what did not) before publishing it."
)

FINDING_REMOVED = Rule(
    "sanitize.finding-removed",
    "A finding of the input is gone from the sanitized copy",
    Severity.INFO,
    Threat.IMAGE_EXPOSURE,
    "Rotate the secret anyway: copies of the input (and its backups) still hold it.",
    rationale=(
        "Records that a secret or key found in the input is gone from the sanitized copy, so the "
        "report proves what the sanitizer achieved."
    ),
)
NO_HOST_KEY_REGENERATION = Rule(
    "sanitize.no-host-key-regeneration",
    "SSH host keys were removed and nothing in the guest regenerates them at first boot",
    Severity.MEDIUM,
    Threat.WEAK_CONFIGURATION,
    "Enable a first-boot unit that runs `ssh-keygen -A` (or install cloud-init / "
    "sshd-keygen), or sshd will not start in instances of this image.",
    ("https://man.openbsd.org/ssh-keygen#A",),
    rationale=(
        "Without host keys, and with nothing to create them at first boot, sshd refuses to start "
        "and instances of the image cannot be reached."
    ),
)
NOT_CHANGED = Rule(
    "sanitize.not-changed",
    "A change the sanitizer planned could not be made safely",
    Severity.LOW,
    Threat.IMAGE_EXPOSURE,
    "Remove the file from the image's build instead; the re-scan shows whether it still leaks.",
    rationale=(
        "A planned change that could not be made safely leaves the data it was meant to remove in "
        "the sanitized copy."
    ),
)


def operation_rule(name: str, title: str) -> Rule:
    """The info rule an operation's changes are reported under."""
    return Rule(
        f"sanitize.{name}",
        title,
        Severity.INFO,
        Threat.IMAGE_EXPOSURE,
        _CHANGED,
        rationale=_RECORDED,
    )


ZERO_FREE_SPACE = operation_rule("zero-free-space", "Free space zeroed")
