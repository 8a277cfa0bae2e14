"""Gather every fact about a guest: OS, accounts and installed packages.

``gather_guest_facts`` is the one entry point of the guest layer. It never raises for a
guest's content: each file that cannot be read or parsed is recorded in
``GuestFacts.problems`` and the other gatherers still run.
"""

from __future__ import annotations

from dataclasses import replace

from vmguard.guest.accounts import read_accounts
from vmguard.guest.apk import read_apk_packages
from vmguard.guest.dpkg import read_dpkg_packages
from vmguard.guest.elfarch import read_architecture
from vmguard.guest.errors import GuestFactsError
from vmguard.guest.facts import GuestFacts, InstalledPackage
from vmguard.guest.osrelease import read_linux_os
from vmguard.guest.rpmdb import read_rpm_packages
from vmguard.guest.sam import read_sam_accounts
from vmguard.guest.view import GuestView
from vmguard.guest.windows import find_hive, open_system_hives, windows_os
from vmguard.guest.winprofiles import profile_homes
from vmguard.guest.winsoftware import windows_software
from vmguard.problems import Problem


def _package_order(package: InstalledPackage) -> tuple[str, str, str, str]:
    return (package.manager, package.name, package.arch, package.version)


def _windows_facts(view: GuestView, problems: list[Problem]) -> GuestFacts:
    """OS facts, SAM accounts, installed programs and services of a Windows guest."""
    hives = open_system_hives(view)  # each hive read once for every fact below
    os_facts = windows_os(hives)
    accounts = read_sam_accounts(view)
    software = windows_software(hives, os_facts.value.arch)
    users = accounts.value
    if hives.software is not None:
        try:
            homes = profile_homes(hives.software)
            users = tuple(replace(u, home=homes.get(u.uid, u.home)) for u in users)
        except GuestFactsError as err:
            problems.append(err.problem())
    programs, services = software.value
    return GuestFacts(
        os=os_facts.value,
        users=users,
        packages=tuple(sorted(programs, key=_package_order)),
        services=services,
        problems=(
            *problems,
            *hives.problems,
            *os_facts.problems,
            *accounts.problems,
            *software.problems,
        ),
    )


def gather_guest_facts(view: GuestView) -> GuestFacts:
    """OS facts, local accounts and installed packages of the guest behind ``view``.

    A Windows guest (one with a SOFTWARE hive) gets its facts from the registry; any
    other guest is read as Linux: os-release, ELF architecture, passwd/shadow, and the
    dpkg, rpm and apk databases (all three: a guest may carry more than one).
    Packages are sorted by (manager, name, arch, version); users keep passwd order.
    """
    problems: list[Problem] = []
    try:
        windows = find_hive(view, "SOFTWARE") is not None
    except GuestFactsError as err:
        problems.append(err.problem())
        windows = False
    if windows:
        return _windows_facts(view, problems)

    os_facts = read_linux_os(view)
    problems += os_facts.problems
    facts = os_facts.value
    arch = read_architecture(view)
    problems += arch.problems
    if arch.value:
        facts = replace(facts, arch=arch.value)
    accounts = read_accounts(view)
    problems += accounts.problems
    if facts.family == "unknown" and (accounts.value or arch.value):
        facts = replace(facts, family="linux")

    packages: list[InstalledPackage] = []
    for found in (read_dpkg_packages(view), read_rpm_packages(view), read_apk_packages(view)):
        packages += found.value
        problems += found.problems
    return GuestFacts(
        os=facts,
        users=accounts.value,
        packages=tuple(sorted(packages, key=_package_order)),
        problems=tuple(problems),
    )
