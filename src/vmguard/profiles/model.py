"""What a guide profile is, and what judging one produces.

A profile lists a guide's items (id, title, whether a file can show it). Which rules decide
an item is not listed here: each rule names the guide items it implements in its own
``references`` (``"STIG VMCH-80-000189: isolation.tools.copy.disable"``), so the mapping
lives beside the rule and cannot drift from it. This module never reads a file.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from vmguard.vmconfig.model import ConfigFormat, Platform


class Scope(StrEnum):
    """What an item is about: a VM definition (``audit``) or the host (``host``)."""

    VM = "vm"
    HOST = "host"


class ItemStatus(StrEnum):
    """The verdict on one guide item for one VM or host."""

    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    FAIL = "fail"
    NOT_APPLICABLE = "not-applicable"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class GuideItem:
    """One item of a published guide."""

    item_id: str
    """The guide's own id (``VMCH-80-000189``, ``vm-8.vmrc-lock``) or vmguard's numbering
    for guides without ids (``KVM-01``)."""
    title: str
    scope: Scope = Scope.VM
    manual: str = ""
    """Set when no file can show the item: why, and what to check instead."""


@dataclass(frozen=True, slots=True)
class Profile:
    """A guide: its items and what it applies to."""

    name: str
    """The ``--profile`` name."""
    guide: str
    """The document and version the items come from."""
    tag: str
    """How rules cite this guide in their references (``STIG``, ``SCG8``, ``KVM``, ``VBOX``)."""
    items: tuple[GuideItem, ...]
    formats: frozenset[ConfigFormat]
    """VM definition formats the guide covers."""
    platforms: frozenset[Platform]
    """Products the guide covers (a definition that does not say is judged too)."""
    platform: Platform | None = None
    """The product the guide assumes when the files do not say (ESXi for the VMware guides)."""
    release: int | None = None
    """The product release the guide is written for (8 for the vSphere 8 guides)."""
    id_prefix: str = ""
    """Cited ids of this guide that belong to the profile (``vm-8.``: the SCG's VM controls,
    not its ``esxi-8.`` host controls)."""


@dataclass(frozen=True, slots=True)
class Decider:
    """A rule that decides an item; with ``key``, only its findings about that key do."""

    rule_id: str
    key: str = ""

    def decides(self, rule_id: str, evidence: str) -> bool:
        """Whether a finding of ``rule_id`` with ``evidence`` fails the item."""
        return rule_id == self.rule_id and (not self.key or self.key.lower() in evidence.lower())

    def __str__(self) -> str:
        return f"{self.rule_id} ({self.key})" if self.key else self.rule_id


def cited_item(reference: str, profile: Profile) -> tuple[str, str] | None:
    """``(item id, key)`` when ``reference`` cites an item of ``profile``'s guide."""
    head, _, key = reference.partition(": ")
    prefix = f"{profile.tag} "
    item = head[len(prefix) :]
    if not head.startswith(prefix) or " " in item or not item.startswith(profile.id_prefix):
        return None
    return item, key.strip()


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The verdict on one item for one subject."""

    item_id: str
    title: str
    subject: str
    """The VM's name, or the host root."""
    status: ItemStatus
    reason: str
    """Why: the failing evidence, why the item does not apply, or what to check by hand."""
    rules: tuple[str, ...] = ()
    """The rules that decide the item."""


@dataclass(frozen=True, slots=True)
class Compliance:
    """Every item of one profile, judged for every subject of one report."""

    profile: str
    guide: str
    results: tuple[ItemResult, ...]

    def counts(self) -> dict[str, int]:
        """Number of results per status, every status present."""
        found = Counter(r.status.value for r in self.results)
        return {s.value: found.get(s.value, 0) for s in ItemStatus}
