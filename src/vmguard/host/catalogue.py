"""The built-in host checks, listed explicitly in one place.

Duplicate rule ids are an error when the catalogue is built (``HostCatalogueError``).
This module must never discover checks by import side effects or globbing.
"""

from __future__ import annotations

from vmguard.findings import Rule
from vmguard.host.errors import HostError
from vmguard.host.images import ImagesCheck
from vmguard.host.integrity import IntegrityCheck
from vmguard.host.interface import HostCheck
from vmguard.host.libvirtd_conf import LibvirtdConfCheck
from vmguard.host.mac import MacCheck
from vmguard.host.qemu_cgroups import QemuCgroupCheck
from vmguard.host.qemu_conf import QemuConfCheck
from vmguard.host.sidechannels import SideChannelsCheck


class HostCatalogueError(HostError):
    """Two host checks declare the same rule id."""


def host_checks() -> tuple[HostCheck, ...]:
    """Every built-in host check, in report order; refuses duplicate rule ids."""
    checks: tuple[HostCheck, ...] = (
        QemuConfCheck(),
        QemuCgroupCheck(),
        LibvirtdConfCheck(),
        ImagesCheck(),
        SideChannelsCheck(),
        MacCheck(),
        IntegrityCheck(),
    )
    seen: dict[str, str] = {}
    for check in checks:
        for rule in check.rules:
            if rule.rule_id in seen:
                raise HostCatalogueError(
                    f"rule id {rule.rule_id} declared by {type(check).__name__} "
                    f"and {seen[rule.rule_id]}"
                )
            seen[rule.rule_id] = type(check).__name__
    return checks


def host_rules() -> tuple[Rule, ...]:
    """Every host rule, for documentation and tests."""
    return tuple(rule for check in host_checks() for rule in check.rules)
