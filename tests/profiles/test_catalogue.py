"""The guide profiles and the rules' references agree: every item is decided by a rule (or
is manual with a reason), every cited item exists, and scopes match."""

from __future__ import annotations

import pytest

from vmguard.profiles.catalogue import (
    PROFILES,
    UnknownProfile,
    deciders,
    mapping_problems,
    profile_named,
)
from vmguard.profiles.model import Decider, Profile, cited_item


@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
def test_no_item_without_a_decider_and_no_stray_citation(profile: Profile) -> None:
    """A rule citing an item the profile lacks, or an item nobody decides, is drift."""
    assert mapping_problems(profile) == []


def test_references_carry_the_deciding_key() -> None:
    """One rule deciding two STIG items says which key decides which."""
    stig = profile_named("esxi8-stig")
    assert deciders(stig)["VMCH-80-000193"] == (
        Decider("vmx.disk-shrink", "isolation.tools.diskShrink.disable"),
    )
    assert cited_item("STIG7 VMCH-70-000007", stig) is None
    assert (
        cited_item("SCG8 esxi-8.network-reject-forged-transmit", profile_named("vsphere8-scg"))
        is None
    )


def test_a_key_decides_only_its_own_findings() -> None:
    """The copy item is not failed by a paste finding of the same rule."""
    copy = Decider("vmx.isolation.copy-paste", "isolation.tools.copy.disable")
    assert copy.decides("vmx.isolation.copy-paste", 'isolation.tools.copy.disable = "FALSE"')
    assert not copy.decides("vmx.isolation.copy-paste", 'isolation.tools.paste.disable = "x"')


def test_unknown_profile_names_the_choices() -> None:
    """The error lists the profiles."""
    with pytest.raises(UnknownProfile, match="esxi8-stig, vsphere8-scg, libvirt-kvm, virtualbox"):
        profile_named("cis")
