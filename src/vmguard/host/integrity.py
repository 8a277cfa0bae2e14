"""Checks that the installed hypervisor is what its packages installed: each file of the
QEMU, libvirt, firmware and KVM-module packages against the digest dpkg or rpm recorded.

The hashing happened while gathering (``host.pkgverify``); this module turns differences
into findings and must never read a file.
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.findings import Area, Finding, Rule, Severity, Threat
from vmguard.host.facts import HostFacts
from vmguard.host.pkgverify import FileMismatch, FileState

_REFS = ("dpkg(1) --verify", "rpm(8) --verify")

MODIFIED = Rule(
    "host.package-file-modified",
    "Hypervisor file differs from what its package installed",
    Severity.CRITICAL,
    Threat.HYPERVISOR_MODIFICATION,
    "Treat the host as compromised until explained: compare with a known-good copy, "
    "reinstall the package (apt-get install --reinstall / dnf reinstall) from trusted media, "
    "and investigate how the file changed.",
    (*_REFS, "KVM KVM-15"),
    rationale=(
        "A hypervisor binary or library that differs from what its package installed may have been "
        "tampered with to spy on or control every guest."
    ),
)
MISSING = Rule(
    "host.package-file-missing",
    "Hypervisor file installed by a package is missing",
    Severity.MEDIUM,
    Threat.HYPERVISOR_MODIFICATION,
    "Reinstall the package; find out what removed the file.",
    (*_REFS, "KVM KVM-15"),
    rationale=(
        "A missing hypervisor file means the installation was altered, by accident or to remove a "
        "protection."
    ),
)
CONFIG_CHANGED = Rule(
    "host.package-config-changed",
    "Hypervisor configuration file changed since installation",
    Severity.INFO,
    Threat.HYPERVISOR_MODIFICATION,
    "Expected when the administrator configured it; review the change, and record the "
    "reviewed state with vmguard host baseline.",
    _REFS,
    rationale=(
        "Changed hypervisor configuration can weaken isolation; a change nobody expected is a sign "
        "of tampering."
    ),
)
UNVERIFIED = Rule(
    "host.package-unverifiable",
    "Hypervisor files cannot be checked against a package database",
    Severity.LOW,
    Threat.HYPERVISOR_MODIFICATION,
    "Install the hypervisor from packages, or record its files with vmguard host baseline "
    "and check them with vmguard host verify.",
    _REFS,
    rationale=(
        "Without a package database to compare against, tampering with hypervisor files cannot be "
        "ruled out."
    ),
)
RULES = (MODIFIED, MISSING, CONFIG_CHANGED, UNVERIFIED)


def _finding(mismatch: FileMismatch) -> Finding:
    file = mismatch.file
    where = f"package {file.package}"
    match mismatch.state:
        case FileState.MODIFIED:
            evidence = f"{where}: {file.algorithm} {mismatch.actual}, recorded {file.digest}"
            rule = CONFIG_CHANGED if file.config else MODIFIED
            return rule.finding(file.path, evidence, area=Area.HOST)
        case FileState.REPLACED:
            evidence = f"{where}: a regular file was installed, something else is there now"
            rule = CONFIG_CHANGED if file.config else MODIFIED
            return rule.finding(file.path, evidence, area=Area.HOST)
        case FileState.MISSING:
            rule = CONFIG_CHANGED if file.config else MISSING
            return rule.finding(file.path, f"{where}: file is missing", area=Area.HOST)
        case FileState.TOO_LARGE:
            return UNVERIFIED.finding(
                file.path, f"{where}: larger than the hashing limit", area=Area.HOST
            )


class IntegrityCheck:
    """Hypervisor binaries, modules and firmware that differ from their packages.

    External modification of the hypervisor (survey V.H) is invisible from inside every
    guest; the package manager's recorded digests are the reference a host already has.
    """

    rules: tuple[Rule, ...] = RULES

    def check(self, facts: HostFacts) -> Iterator[Finding]:
        """One finding per differing file; one when nothing can be verified."""
        for mismatch in facts.verification.mismatches:
            yield _finding(mismatch)
        if facts.hypervisor_installed and not facts.packages.files:
            manager = facts.packages.manager or "no package manager database"
            yield UNVERIFIED.finding(
                facts.root, f"{manager}: no hypervisor package file digests found", area=Area.HOST
            )
