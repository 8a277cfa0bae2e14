"""The built-in host checks, listed explicitly in one place.

``vmguard.rulebook`` gathers their rules with every other command's and refuses duplicate
ids. This module must never discover checks by import side effects or globbing.
"""

from __future__ import annotations

from vmguard.findings import Rule
from vmguard.host.images import ImagesCheck
from vmguard.host.integrity import IntegrityCheck
from vmguard.host.interface import HostCheck
from vmguard.host.libvirtd_conf import LibvirtdConfCheck
from vmguard.host.mac import MacCheck
from vmguard.host.qemu_cgroups import QemuCgroupCheck
from vmguard.host.qemu_conf import QemuConfCheck
from vmguard.host.sidechannels import SideChannelsCheck


def host_checks() -> tuple[HostCheck, ...]:
    """Every built-in host check, in report order."""
    return (
        QemuConfCheck(),
        QemuCgroupCheck(),
        LibvirtdConfCheck(),
        ImagesCheck(),
        SideChannelsCheck(),
        MacCheck(),
        IntegrityCheck(),
    )


def host_rules() -> tuple[Rule, ...]:
    """Every host rule, for documentation and tests."""
    return tuple(rule for check in host_checks() for rule in check.rules)
